import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TunnelManager, type Prompts, type ServerConfig } from '../../src/engine';
import { newKeyPair, SshdFixture } from '../fixtures/sshd';
import { waitFor } from '../helpers/net';
import { connectError } from '../helpers/oneServer';
import { staticServers } from '../helpers/servers';
import { sshdWithAgent, testUserSshd } from '../helpers/suite';

async function connectWith(server: ServerConfig, prompts?: Prompts): Promise<void> {
  const manager = new TunnelManager({ servers: staticServers(server), prompts, reconnect: { maxAttempts: 0 } });
  try {
    const status = await manager.connectServer(server.alias);
    assert.equal(status.state, 'connected');
  } finally {
    await manager.dispose();
  }
}

describe('logging in to a real sshd', function () {
  this.timeout(60_000);

  describe('keys', () => {
    let sshd: SshdFixture;
    let lockedKey: string;
    const passphrase = 'correct horse battery';
    before(async () => {
      sshd = await SshdFixture.start();
      lockedKey = path.join(sshd.dir, 'locked_key');
      newKeyPair(lockedKey, { passphrase, comment: 'locked' });
      fs.appendFileSync(path.join(sshd.dir, 'authorized_keys'), fs.readFileSync(`${lockedKey}.pub`));
    });
    after(async () => sshd?.stop());

    it('a plain key file', async () => {
      await connectWith(sshd.server('plain'));
      await waitFor(() => /Accepted publickey for \S+ from 127\.0\.0\.1/.test(sshd.output), 5000, 'the sshd log line');
    });

    it("OpenSSH's default identity files (~/.ssh/id_ed25519) when none is given", async () => {
      const home = path.join(sshd.dir, 'home');
      fs.mkdirSync(path.join(home, '.ssh'), { recursive: true });
      fs.copyFileSync(sshd.clientKeyPath, path.join(home, '.ssh', 'id_ed25519'));
      const saved = process.env.HOME;
      process.env.HOME = home;
      try {
        const server = sshd.server('default-key');
        delete server.identityFile;
        await connectWith(server);
      } finally {
        if (saved === undefined) delete process.env.HOME;
        else process.env.HOME = saved;
      }
    });

    it('a passphrase-protected key, the passphrase asked through prompts.passphrase', async () => {
      const asked: string[][] = [];
      await connectWith(sshd.server('locked', { identityFile: lockedKey }), {
        passphrase: async (server, keyPath) => {
          asked.push([server, keyPath]);
          return passphrase;
        },
      });
      assert.deepEqual(asked, [['locked', lockedKey]]);
    });

    it('a passphrase-protected key with config.passphrase: nothing is asked', async () => {
      let asked = 0;
      await connectWith(sshd.server('locked', { identityFile: lockedKey, passphrase }), {
        passphrase: async () => {
          asked++;
          return undefined;
        },
      });
      assert.equal(asked, 0);
    });

    it('a passphrase-protected key and no way to ask: a clear refusal', async () => {
      const err = await connectError(sshd.server('locked', { identityFile: lockedKey }));
      assert.equal(err.code, 'AUTH_FAILED');
      assert.match(err.message, new RegExp(`key ${lockedKey} \\(needs a passphrase and nothing can ask for it\\)`));
    });

    it('a wrong passphrase is refused and never shown', async () => {
      const err = await connectError(sshd.server('locked', { identityFile: lockedKey }), { passphrase: async () => 'wrong-passphrase-xyz' });
      assert.equal(err.code, 'AUTH_FAILED');
      assert.match(err.message, /Authentication as \S+ on locked failed\. Tried: key /);
      assert.doesNotMatch(err.message, /wrong-passphrase-xyz/);
    });

    it('a person who cancels the passphrase prompt gets a refusal naming the key', async () => {
      const err = await connectError(sshd.server('locked', { identityFile: lockedKey }), { passphrase: async () => undefined });
      assert.match(err.message, /needs a passphrase\)/);
    });
  });

  describe('ssh-agent', () => {
    const suite = sshdWithAgent();

    it('logs in with a key held only by a real ssh-agent', async () => {
      const noKey = path.join(suite.sshd.dir, 'no-such-key');
      await connectWith(suite.sshd.server('agent', { identityFile: noKey, identityAgent: suite.agent.socket }));
      // Without the agent the same settings fail: the agent did the work.
      const err = await connectError(suite.sshd.server('agent', { identityFile: noKey, identityAgent: false }));
      assert.equal(err.code, 'AUTH_FAILED');
    });

    it('IdentitiesOnly with an IdentityFile leaves the agent out, as ssh does', async () => {
      const err = await connectError(suite.sshd.server('agent', { identityFile: path.join(suite.sshd.dir, 'no-such-key'), identityAgent: suite.agent.socket, identitiesOnly: true }));
      assert.equal(err.code, 'AUTH_FAILED');
      assert.doesNotMatch(err.message, /ssh-agent/);
    });

    it('uses SSH_AUTH_SOCK when identityAgent is not set', async () => {
      const saved = process.env.SSH_AUTH_SOCK;
      process.env.SSH_AUTH_SOCK = suite.agent.socket;
      try {
        const server = suite.sshd.server('agent', { identityFile: path.join(suite.sshd.dir, 'no-such-key') });
        delete server.identityAgent;
        await connectWith(server);
      } finally {
        if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
        else process.env.SSH_AUTH_SOCK = saved;
      }
    });
  });

  describe('password (sshd checks /etc/shadow)', () => {
    const suite = testUserSshd('password');
    const noKey = () => ({ user: suite.user, identityFile: path.join(suite.sshd.dir, 'no-such-key') });

    it('config.password', async () => {
      await connectWith(suite.sshd.server('pw', { ...noKey(), password: suite.password }));
      await waitFor(() => new RegExp(`Accepted password for ${suite.user} from 127\\.0\\.0\\.1`).test(suite.sshd.output), 5000, 'the sshd log line');
    });

    it('prompts.password, asked with the server and user', async () => {
      const asked: string[][] = [];
      await connectWith(suite.sshd.server('pw', noKey()), {
        password: async (server, u) => {
          asked.push([server, u]);
          return suite.password;
        },
      });
      assert.deepEqual(asked, [['pw', suite.user]]);
    });

    it('a wrong password is refused without echoing it', async () => {
      const err = await connectError(suite.sshd.server('pw', { ...noKey(), password: 'not-the-password-123' }));
      assert.equal(err.code, 'AUTH_FAILED');
      assert.match(err.message, /Tried: .*password/);
      assert.doesNotMatch(err.message, /not-the-password-123/);
    });

    it('no password and no prompt: says that nothing could be tried', async () => {
      const err = await connectError(suite.sshd.server('pw', noKey()));
      assert.equal(err.code, 'AUTH_FAILED');
      assert.match(err.message, new RegExp(`Authentication as ${suite.user} on pw failed`));
    });
  });

  describe('keyboard-interactive (sshd through PAM)', () => {
    const suite = testUserSshd('keyboard-interactive');

    it('answers the server prompts through prompts.keyboardInteractive', async () => {
      const questions: { prompt: string; echo: boolean }[][] = [];
      await connectWith(suite.sshd.server('kbd', { user: suite.user, identityFile: path.join(suite.sshd.dir, 'no-such-key') }), {
        keyboardInteractive: async (server, _name, _instructions, prompts) => {
          assert.equal(server, 'kbd');
          questions.push(prompts);
          return prompts.map(() => suite.password);
        },
      });
      assert.equal(questions.length, 1);
      assert.equal(questions[0].length, 1);
      assert.match(questions[0][0].prompt, /password/i);
      assert.equal(questions[0][0].echo, false);
      await waitFor(() => new RegExp(`Accepted keyboard-interactive/pam for ${suite.user}`).test(suite.sshd.output), 5000, 'the sshd log line');
    });

    it('a wrong answer is refused', async () => {
      const err = await connectError(suite.sshd.server('kbd', { user: suite.user, identityFile: path.join(suite.sshd.dir, 'no-such-key') }), {
        keyboardInteractive: async (_s, _n, _i, prompts) => prompts.map(() => 'wrong-answer-456'),
      });
      assert.equal(err.code, 'AUTH_FAILED');
      assert.match(err.message, /keyboard-interactive/);
      assert.doesNotMatch(err.message, /wrong-answer-456/);
    });
  });
});
