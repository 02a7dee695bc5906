import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TunnelError, TunnelManager, type Prompts, type ServerConfig } from '../../src/engine';
import { defaultAgent } from '../../src/engine/login/identities';
import { SshdFixture } from '../fixtures/sshd';
import { waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { ensureTestUser } from '../helpers/testUser';
import { startSshAgent, type SshAgent } from '../helpers/sshAgent';

async function connectWith(server: ServerConfig, prompts?: Prompts): Promise<void> {
  const manager = new TunnelManager({ servers: staticServers(server), prompts, reconnect: { maxAttempts: 0 } });
  try {
    const status = await manager.connectServer(server.host);
    assert.equal(status.state, 'connected');
  } finally {
    await manager.dispose();
  }
}

async function refused(server: ServerConfig, prompts?: Prompts): Promise<TunnelError> {
  try {
    await connectWith(server, prompts);
  } catch (err) {
    assert.ok(err instanceof TunnelError, String(err));
    return err;
  }
  assert.fail('the connection should have been refused');
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
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'locked', '-f', lockedKey]);
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
      const err = await refused(sshd.server('locked', { identityFile: lockedKey }));
      assert.equal(err.code, 'AUTH_FAILED');
      assert.match(err.message, new RegExp(`key ${lockedKey} \\(needs a passphrase and nothing can ask for it\\)`));
    });

    it('a wrong passphrase is refused and never shown', async () => {
      const err = await refused(sshd.server('locked', { identityFile: lockedKey }), { passphrase: async () => 'wrong-passphrase-xyz' });
      assert.equal(err.code, 'AUTH_FAILED');
      assert.match(err.message, /Authentication as \S+ on locked failed\. Tried: key /);
      assert.doesNotMatch(err.message, /wrong-passphrase-xyz/);
    });

    it('a person who cancels the passphrase prompt gets a refusal naming the key', async () => {
      const err = await refused(sshd.server('locked', { identityFile: lockedKey }), { passphrase: async () => undefined });
      assert.match(err.message, /needs a passphrase\)/);
    });
  });

  describe('ssh-agent', () => {
    let sshd: SshdFixture;
    let agent: SshAgent;
    let socket: string;
    before(async () => {
      sshd = await SshdFixture.start();
      agent = await startSshAgent(sshd.dir, [sshd.clientKeyPath]);
      socket = agent.socket;
    });
    after(async () => {
      agent?.stop();
      await sshd?.stop();
    });

    it('logs in with a key held only by a real ssh-agent', async () => {
      const noKey = path.join(sshd.dir, 'no-such-key');
      await connectWith(sshd.server('agent', { identityFile: noKey, identityAgent: socket }));
      // Without the agent the same settings fail: the agent did the work.
      const err = await refused(sshd.server('agent', { identityFile: noKey, identityAgent: false }));
      assert.equal(err.code, 'AUTH_FAILED');
    });

    it('IdentitiesOnly with an IdentityFile leaves the agent out, as ssh does', async () => {
      const err = await refused(sshd.server('agent', { identityFile: path.join(sshd.dir, 'no-such-key'), identityAgent: socket, identitiesOnly: true }));
      assert.equal(err.code, 'AUTH_FAILED');
      assert.doesNotMatch(err.message, /ssh-agent/);
    });

    it('uses SSH_AUTH_SOCK when identityAgent is not set', async () => {
      const saved = process.env.SSH_AUTH_SOCK;
      process.env.SSH_AUTH_SOCK = socket;
      try {
        const server = sshd.server('agent', { identityFile: path.join(sshd.dir, 'no-such-key') });
        delete server.identityAgent;
        await connectWith(server);
      } finally {
        if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
        else process.env.SSH_AUTH_SOCK = saved;
      }
    });
  });

  describe('password (sshd checks /etc/shadow)', () => {
    let sshd: SshdFixture;
    let user: string;
    let password: string;
    before(async () => {
      ({ user, password } = ensureTestUser());
      sshd = await SshdFixture.start({ passwordAuthentication: true, extraConfig: ['AuthenticationMethods password'] });
    });
    after(async () => sshd?.stop());
    const noKey = () => ({ user, identityFile: path.join(sshd.dir, 'no-such-key') });

    it('config.password', async () => {
      await connectWith(sshd.server('pw', { ...noKey(), password }));
      await waitFor(() => new RegExp(`Accepted password for ${user} from 127\\.0\\.0\\.1`).test(sshd.output), 5000, 'the sshd log line');
    });

    it('prompts.password, asked with the server and user', async () => {
      const asked: string[][] = [];
      await connectWith(sshd.server('pw', noKey()), {
        password: async (server, u) => {
          asked.push([server, u]);
          return password;
        },
      });
      assert.deepEqual(asked, [['pw', user]]);
    });

    it('a wrong password is refused without echoing it', async () => {
      const err = await refused(sshd.server('pw', { ...noKey(), password: 'not-the-password-123' }));
      assert.equal(err.code, 'AUTH_FAILED');
      assert.match(err.message, /Tried: .*password/);
      assert.doesNotMatch(err.message, /not-the-password-123/);
    });

    it('no password and no prompt: says that nothing could be tried', async () => {
      const err = await refused(sshd.server('pw', noKey()));
      assert.equal(err.code, 'AUTH_FAILED');
      assert.match(err.message, new RegExp(`Authentication as ${user} on pw failed`));
    });
  });

  describe('keyboard-interactive (sshd through PAM)', () => {
    let sshd: SshdFixture;
    let user: string;
    let password: string;
    before(async () => {
      ({ user, password } = ensureTestUser());
      sshd = await SshdFixture.start({ usePam: true, kbdInteractiveAuthentication: true, extraConfig: ['AuthenticationMethods keyboard-interactive'] });
    });
    after(async () => sshd?.stop());

    it('answers the server prompts through prompts.keyboardInteractive', async () => {
      const questions: { prompt: string; echo: boolean }[][] = [];
      await connectWith(sshd.server('kbd', { user, identityFile: path.join(sshd.dir, 'no-such-key') }), {
        keyboardInteractive: async (server, _name, _instructions, prompts) => {
          assert.equal(server, 'kbd');
          questions.push(prompts);
          return prompts.map(() => password);
        },
      });
      assert.equal(questions.length, 1);
      assert.equal(questions[0].length, 1);
      assert.match(questions[0][0].prompt, /password/i);
      assert.equal(questions[0][0].echo, false);
      await waitFor(() => new RegExp(`Accepted keyboard-interactive/pam for ${user}`).test(sshd.output), 5000, 'the sshd log line');
    });

    it('a wrong answer is refused', async () => {
      const err = await refused(sshd.server('kbd', { user, identityFile: path.join(sshd.dir, 'no-such-key') }), {
        keyboardInteractive: async (_s, _n, _i, prompts) => prompts.map(() => 'wrong-answer-456'),
      });
      assert.equal(err.code, 'AUTH_FAILED');
      assert.match(err.message, /keyboard-interactive/);
      assert.doesNotMatch(err.message, /wrong-answer-456/);
    });
  });
});

describe('which agent is used by default', () => {
  it('SSH_AUTH_SOCK wherever it is set; Pageant on Windows when it is not; none elsewhere', () => {
    assert.equal(defaultAgent({ SSH_AUTH_SOCK: '/tmp/agent.sock' }, 'linux'), '/tmp/agent.sock');
    assert.equal(defaultAgent({ SSH_AUTH_SOCK: '\\\\.\\pipe\\openssh-ssh-agent' }, 'win32'), '\\\\.\\pipe\\openssh-ssh-agent');
    assert.equal(defaultAgent({}, 'win32'), 'pageant');
    assert.equal(defaultAgent({}, 'linux'), undefined);
  });
});
