import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TunnelError, TunnelManager, type Prompts, type ServerConfig } from '../../src/engine';
import { newKeyPair, SshdFixture } from '../fixtures/sshd';
import { echoRoundTrip, startEchoServer, waitFor } from '../helpers/net';
import { rejection } from '../helpers/rejection';
import { staticServers } from '../helpers/servers';
import { testUserSshd } from '../helpers/suite';

const FAST_RECONNECT = { baseDelayMs: 200, maxDelayMs: 1000, maxAttempts: Infinity };

/** Opens a tunnel to an echo server, restarts sshd, and checks the tunnel carries data again. */
async function survivesRestart(manager: TunnelManager, sshd: SshdFixture, server: string, echoPort: number): Promise<void> {
  const info = await manager.createTunnel({ server, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echoPort });
  assert.equal((await echoRoundTrip(info.localPort, 4096)).bytes, 4096);
  await sshd.restart();
  await waitFor(() => manager.getTunnel(info.id)?.state === 'reconnecting', 10_000, 'reconnecting');
  await waitFor(() => manager.getTunnel(info.id)?.state === 'active', 15_000, 'active again');
  const { sent, received } = await echoRoundTrip(info.localPort, 64 * 1024);
  assert.equal(received, sent);
}

describe('a passphrase or password is asked once per run, not at every reconnect', function () {
  this.timeout(90_000);
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let manager: TunnelManager | undefined;
  before(async () => {
    echo = await startEchoServer();
  });
  afterEach(async () => {
    await manager?.dispose();
    manager = undefined;
  });
  after(async () => echo?.close());

  function newManager(server: ServerConfig, prompts: Prompts): TunnelManager {
    manager = new TunnelManager({ servers: staticServers(server), prompts, reconnect: FAST_RECONNECT });
    return manager;
  }

  describe('a passphrase-protected key', () => {
    let sshd: SshdFixture;
    let lockedKey: string;
    const passphrase = 'correct horse battery';
    before(async () => {
      sshd = await SshdFixture.start();
      lockedKey = path.join(sshd.dir, 'locked_key');
      newKeyPair(lockedKey, { passphrase, comment: 'locked' });
      fs.copyFileSync(`${lockedKey}.pub`, path.join(sshd.dir, 'authorized_keys'));
    });
    after(async () => sshd?.stop());

    /** Prompts answering the passphrase from a list, recording each question's retry note. */
    function answering(answers: string[]): { prompts: Prompts; asked: (string | undefined)[] } {
      const asked: (string | undefined)[] = [];
      return {
        asked,
        prompts: {
          passphrase: async (_server, _keyPath, retry) => {
            asked.push(retry);
            return answers[asked.length - 1];
          },
        },
      };
    }

    it('sshd restarts: the tunnel carries data again and the passphrase was asked exactly once', async () => {
      const { prompts, asked } = answering([passphrase, passphrase]);
      const m = newManager(sshd.server('locked', { identityFile: lockedKey }), prompts);
      await survivesRestart(m, sshd, 'locked', echo.port);
      assert.equal(asked.length, 1);
      // A second, separate connection of the same program does not ask either.
      await m.closeServer('locked');
      assert.equal((await m.connectServer('locked')).state, 'connected');
      assert.equal(asked.length, 1);
    });

    it('each manager (program) asks for itself; forgetSecrets() makes the next login ask again', async () => {
      const { prompts, asked } = answering([passphrase, passphrase]);
      const m = newManager(sshd.server('locked', { identityFile: lockedKey }), prompts);
      await m.connectServer('locked');
      await m.closeServer('locked');
      m.forgetSecrets('locked');
      await m.connectServer('locked');
      assert.equal(asked.length, 2);
    });

    it('wrong twice, then right: logs in after three questions, each retry saying the last one was wrong', async () => {
      const { prompts, asked } = answering(['nope-1', 'nope-2', passphrase]);
      const m = newManager(sshd.server('locked', { identityFile: lockedKey }), prompts);
      assert.equal((await m.connectServer('locked')).state, 'connected');
      assert.equal(asked.length, 3);
      assert.equal(asked[0], undefined);
      assert.match(asked[1]!, new RegExp(`Wrong passphrase for ${lockedKey} \\(try 1 of 3\\)`));
      assert.match(asked[2]!, /try 2 of 3/);
    });

    it('three wrong: a clear refusal, no fourth question', async () => {
      const { prompts, asked } = answering(['nope-1', 'nope-2', 'nope-3', passphrase]);
      const m = newManager(sshd.server('locked', { identityFile: lockedKey }), prompts);
      const err = await rejection(m.connectServer('locked'), TunnelError);
      assert.equal(err.code, 'AUTH_FAILED');
      assert.match(err.message, new RegExp(`key ${lockedKey} \\(wrong passphrase, 3 tries\\)`));
      assert.doesNotMatch(err.message, /nope-/);
      assert.equal(asked.length, 3);
    });
  });

  describe('a password', () => {
    const suite = testUserSshd('password');

    it('is asked once: sshd restarts and the tunnel comes back without a second question', async () => {
      const asked: string[] = [];
      const m = newManager(suite.sshd.server('pw', { user: suite.user, identityFile: path.join(suite.sshd.dir, 'no-such-key') }), {
        password: async (server, u) => {
          asked.push(`${u}@${server}`);
          return suite.password;
        },
      });
      await survivesRestart(m, suite.sshd, 'pw', echo.port);
      assert.deepEqual(asked, [`${suite.user}@pw`]);
    });

    it('one the server refuses is forgotten: the next login asks again', async () => {
      const answers = ['not-the-password-1', suite.password];
      let asked = 0;
      const m = newManager(suite.sshd.server('pw', { user: suite.user, identityFile: path.join(suite.sshd.dir, 'no-such-key') }), {
        password: async () => answers[asked++],
      });
      const err = await rejection(m.connectServer('pw'), TunnelError);
      assert.equal(err.code, 'AUTH_FAILED');
      assert.equal((await m.connectServer('pw')).state, 'connected');
      assert.equal(asked, 2);
    });
  });

  describe('a keyboard-interactive password (sshd through PAM)', () => {
    const suite = testUserSshd('keyboard-interactive');

    it('is asked once; a refused one is asked again', async () => {
      const answers = ['wrong-answer-789', suite.password];
      let asked = 0;
      const m = newManager(suite.sshd.server('kbd', { user: suite.user, identityFile: path.join(suite.sshd.dir, 'no-such-key') }), {
        keyboardInteractive: async (_s, _n, _i, prompts) => {
          const answer = answers[asked++];
          return prompts.map(() => answer);
        },
      });
      assert.equal((await rejection(m.connectServer('kbd'), TunnelError)).code, 'AUTH_FAILED');
      await survivesRestart(m, suite.sshd, 'kbd', echo.port);
      assert.equal(asked, 2);
    });
  });
});
