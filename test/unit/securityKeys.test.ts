import * as assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Prompts, ServerConfig } from '../../src/engine';
import { SshdFixture } from '../fixtures/sshd';
import { buildCli, cliHome, shellLine, type CliHome } from '../helpers/cli';
import { echoRoundTrip, waitFor } from '../helpers/net';
import { connectError, tunnelCarriesData } from '../helpers/oneServer';
import { sshConfigHost } from '../helpers/sshConfigHost';
import { sshdWithEcho } from '../helpers/suite';
import { TmuxPane } from '../helpers/tmux';
import { softSecurityKey, startSoftAuthenticator, USER_PRESENCE, writeSecurityKeyFile, type SoftAuthenticator, type SoftSecurityKey } from '../helpers/softAuthenticator';

/** OpenSSH's own `ssh` logs in through the agent at `socket` (asynchronously: the agent answers from this process). */
function sshThroughAgent(sshd: SshdFixture, socket: string): Promise<{ ok: boolean; stderr: string }> {
  const args = ['-F', 'none', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=no', '-o', `IdentityAgent=${socket}`, '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', `IdentityFile=${path.join(sshd.dir, 'no-such-key')}`, '-p', String(sshd.port), `${sshd.user}@${sshd.host}`, 'true'];
  return new Promise((resolve) => {
    execFile('ssh', args, { timeout: 20_000, env: { ...process.env, SSH_AUTH_SOCK: socket } }, (err, _stdout, stderr) => resolve({ ok: !err, stderr: String(stderr) }));
  });
}

/** Prompts that record each touch notice and its dismissal. */
function touchRecorder(): Prompts & { shown: string[]; dismissed: number } {
  const rec = {
    shown: [] as string[],
    dismissed: 0,
    touchKey(server: string, key: string) {
      rec.shown.push(`${server}: ${key}`);
      return () => void rec.dismissed++;
    },
  };
  return rec;
}

describe('security keys through an agent (sk-ssh-ed25519, sk-ecdsa-sha2-nistp256)', function () {
  this.timeout(60_000);
  const suite = sshdWithEcho({ userCa: true });
  let ed25519: SoftSecurityKey;
  let ecdsa: SoftSecurityKey;

  before(() => {
    ed25519 = softSecurityKey('ed25519');
    ecdsa = softSecurityKey('ecdsa');
  });

  /** authorized_keys holds the fixture's key and `keys`. */
  const authorize = (...keys: SoftSecurityKey[]) => {
    const file = path.join(suite.sshd.dir, 'authorized_keys');
    fs.writeFileSync(file, [fs.readFileSync(`${suite.sshd.clientKeyPath}.pub`, 'utf8').trim(), ...keys.map((k) => k.publicLine)].join('\n') + '\n');
  };

  const server = (name: string, socket: string): ServerConfig =>
    suite.sshd.server(name, { identityFile: path.join(suite.sshd.dir, 'no-such-key'), identityAgent: socket });

  for (const which of ['ed25519', 'ecdsa'] as const) {
    describe(which, () => {
      let agent: SoftAuthenticator;
      let key: SoftSecurityKey;
      before(async () => {
        key = which === 'ed25519' ? ed25519 : ecdsa;
        fs.mkdirSync(path.join(suite.sshd.dir, which), { recursive: true });
        agent = await startSoftAuthenticator(path.join(suite.sshd.dir, which), [key]);
      });
      after(async () => {
        await agent?.close();
      });

      it(`logs in with the ${which} security key the agent holds, and asks for a touch once per signature`, async () => {
        authorize(key);
        const ssh = await sshThroughAgent(suite.sshd, agent.socket);
        assert.ok(ssh.ok, `ssh logs in with the software authenticator: ${ssh.stderr}`);
        const before = agent.signatures;
        const prompts = touchRecorder();
        await tunnelCarriesData(server(`sk-${which}`, agent.socket), suite.echo.port, { prompts: prompts });
        const signed = agent.signatures - before;
        assert.equal(signed, 1, 'the agent signed once');
        const name = which === 'ed25519' ? 'ED25519-SK' : 'ECDSA-SK';
        assert.equal(prompts.shown.length, signed);
        // The fingerprint ssh-keygen -l prints for the same public key.
        const pub = path.join(suite.sshd.dir, `${which}_sk.pub`);
        fs.writeFileSync(pub, key.publicLine + '\n');
        const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', pub], { encoding: 'utf8' }).split(' ')[1];
        assert.equal(prompts.shown[0], `sk-${which}: ${name} ${fingerprint}`);
        assert.equal(prompts.dismissed, signed, 'each notice was taken away');
        const typeInLog = which === 'ed25519' ? 'ED25519-SK' : 'ECDSA-SK';
        assert.match(suite.sshd.output, new RegExp(`Accepted publickey for \\S+ from 127\\.0\\.0\\.1 port \\d+ ssh2: ${typeInLog} `));
      });

      it('its certificate (signed by the user CA sshd trusts) logs in, the key itself not being authorized', async () => {
        authorize();
        const certified = softSecurityKey(which, `cert-${which}-sk`);
        const pub = path.join(suite.sshd.dir, `cert_${which}_sk.pub`);
        fs.writeFileSync(pub, certified.publicLine + '\n');
        const certFile = suite.sshd.certify(pub, { id: `sk-${which}` });
        certified.certificate = Buffer.from(fs.readFileSync(certFile, 'utf8').split(/\s+/)[1], 'base64');
        const dir = path.join(suite.sshd.dir, `cert-${which}`);
        fs.mkdirSync(dir, { recursive: true });
        const holder = await startSoftAuthenticator(dir, [certified]);
        try {
          const ssh = await sshThroughAgent(suite.sshd, holder.socket);
          assert.ok(ssh.ok, `ssh logs in with the certificate from the agent: ${ssh.stderr}`);
          const before = holder.signatures;
          const prompts = touchRecorder();
          await tunnelCarriesData(server(`sk-cert-${which}`, holder.socket), suite.echo.port, { prompts: prompts });
          assert.equal(holder.signatures - before, 1);
          const name = which === 'ed25519' ? 'ED25519-SK-CERT' : 'ECDSA-SK-CERT';
          assert.deepEqual(prompts.shown.map((l) => l.replace(/SHA256:\S+/, 'FP')), [`sk-cert-${which}: ${name} FP`]);
          assert.equal(prompts.dismissed, 1);
          const accepted = suite.sshd.output.match(new RegExp(`Accepted publickey for \\S+ from 127\\.0\\.0\\.1 port \\d+ ssh2: \\S+ SHA256:\\S+ ID sk-${which} `, 'g')) ?? [];
          assert.equal(accepted.length, 2, `ssh and the engine logged in with the certificate: ${accepted.join(' | ')}`);
          assert.ok(accepted.every((l) => l.includes(`ssh2: ${name} `) && l.endsWith(`ID sk-${which} `)), accepted.join(' | '));
        } finally {
          await holder.close();
        }
      });

      it('the connect timeout waits while the person reaches for the key', async () => {
        authorize(key);
        agent.touchAfterMs = 2500;
        try {
          const prompts = touchRecorder();
          await tunnelCarriesData({ ...server(`sk-slow-${which}`, agent.socket), connectTimeout: 1 }, suite.echo.port, { prompts: prompts });
          assert.equal(prompts.dismissed, 1);
        } finally {
          agent.touchAfterMs = 0;
        }
      });

      it('a key not touched (the agent refuses to sign) is named in the final error, and the notice is taken away', async () => {
        authorize(key);
        agent.refuse = true;
        try {
          const prompts = touchRecorder();
          const { message } = await connectError(server(`sk-refused-${which}`, agent.socket), prompts);
          const name = which === 'ed25519' ? 'ED25519-SK' : 'ECDSA-SK';
          assert.match(message, new RegExp(`Tried: ssh-agent, security key ${name} SHA256:\\S+ in the agent did not sign \\(was it touched\\?\\)`));
          assert.equal(prompts.shown.length, 1);
          assert.equal(prompts.dismissed, 1);
        } finally {
          agent.refuse = false;
        }
      });

      it('left out by PubkeyAcceptedAlgorithms: not offered, and no touch is asked for', async () => {
        authorize(key);
        const prompts = touchRecorder();
        const before = agent.signatures;
        await connectError({ ...server(`sk-filtered-${which}`, agent.socket), pubkeyAcceptedAlgorithms: ['ssh-ed25519'] }, prompts);
        assert.equal(prompts.shown.length, 0);
        assert.equal(agent.signatures, before);
        const accepted = { ...server(`sk-accepted-${which}`, agent.socket), pubkeyAcceptedAlgorithms: [key.sshType] };
        await tunnelCarriesData(accepted, suite.echo.port, { prompts: prompts });
        assert.equal(prompts.shown.length, 1, 'named in PubkeyAcceptedAlgorithms, it is offered');
      });

      it('a signature without user presence is refused by sshd (accepted with no-touch-required), as the engine passes the flags on unchanged', async () => {
        authorize(key);
        agent.flags = 0;
        try {
          const ssh = await sshThroughAgent(suite.sshd, agent.socket);
          assert.ok(!ssh.ok, 'ssh is refused too');
          const refusals = () => suite.sshd.output.match(/public key \S+ SHA256:\S+ signature for \S+ from 127\.0\.0\.1 port \d+ rejected: user presence \(authenticator touch\) requirement not met/g)?.length ?? 0;
          const before = refusals();
          assert.ok(before >= 1, `sshd refused ssh's signature for want of a touch:\n${suite.sshd.output.slice(-2000)}`);
          const prompts = touchRecorder();
          const { message } = await connectError(server(`sk-untouched-${which}`, agent.socket), prompts);
          assert.match(message, /Tried: ssh-agent/);
          assert.equal(prompts.shown.length, 1, 'the agent was asked to sign');
          assert.equal(prompts.dismissed, 1);
          await waitFor(() => refusals() > before, 5000, "sshd refuses the engine's signature for the same reason");
          // The same untouched signature, accepted where authorized_keys waives the touch.
          fs.writeFileSync(path.join(suite.sshd.dir, 'authorized_keys'), `no-touch-required ${key.publicLine}\n`);
          await tunnelCarriesData(server(`sk-no-touch-${which}`, agent.socket), suite.echo.port, { prompts: touchRecorder() });
        } finally {
          agent.flags = USER_PRESENCE;
        }
      });
    });
  }

  describe('an id_*_sk file', () => {
    it('configured as the identity file with no agent: the final error says to ssh-add it', async () => {
      authorize(ed25519);
      const file = path.join(suite.sshd.dir, 'id_ed25519_sk');
      writeSecurityKeyFile(ed25519, file);
      assert.ok(!suite.sshd.sshLogin(['-i', file]).ok, 'ssh cannot log in with it either without the device');
      const { message } = await connectError(suite.sshd.server('sk-file', { identityFile: file }));
      assert.ok(
        message.includes(`key ${file} (a security key: add it to your ssh-agent with ssh-add ${file}; SSH Tunnels signs with security keys only through an agent)`),
        message,
      );
    });

    it('with a passphrase: the passphrase is not asked for a key that cannot sign here', async () => {
      authorize(ed25519);
      const file = path.join(suite.sshd.dir, 'id_ed25519_sk_locked');
      writeSecurityKeyFile(ed25519, file);
      execFileSync('ssh-keygen', ['-q', '-p', '-f', file, '-P', '', '-N', 'a passphrase']);
      const body = fs.readFileSync(file, 'utf8').replace(/-----[^-]+-----|\s/g, '');
      assert.ok(Buffer.from(body, 'base64').includes('bcrypt'), 'the file is encrypted');
      const asked: string[] = [];
      const prompts: Prompts = { passphrase: async (_server, keyPath) => (asked.push(keyPath), 'a passphrase') };
      const { message } = await connectError(suite.sshd.server('sk-locked', { identityFile: file }), prompts);
      assert.ok(message.includes(`key ${file} (a security key: add it to your ssh-agent with ssh-add ${file};`), message);
      assert.deepEqual(asked, []);
    });

    it('found as ~/.ssh/id_ecdsa_sk by default: the message names it with ~', async () => {
      authorize(ecdsa);
      const home = fs.mkdtempSync(path.join(suite.sshd.dir, 'home-'));
      fs.mkdirSync(path.join(home, '.ssh'));
      writeSecurityKeyFile(ecdsa, path.join(home, '.ssh', 'id_ecdsa_sk'));
      const saved = process.env.HOME;
      process.env.HOME = home;
      try {
        const { message } = await connectError(suite.sshd.server('sk-default', { identityFile: undefined }));
        assert.match(message, /key ~\/\.ssh\/id_ecdsa_sk \(a security key: add it to your ssh-agent with ssh-add ~\/\.ssh\/id_ecdsa_sk;/);
      } finally {
        process.env.HOME = saved;
      }
    });

    it('held by the agent too: it is said to have been offered through the agent, not to be added', async () => {
      authorize(ed25519);
      const file = path.join(suite.sshd.dir, 'id_ed25519_sk');
      writeSecurityKeyFile(ed25519, file);
      fs.mkdirSync(path.join(suite.sshd.dir, 'held'), { recursive: true });
      const agent = await startSoftAuthenticator(path.join(suite.sshd.dir, 'held'), [ed25519]);
      agent.flags = 0; // refused, so that the file's step is reached
      try {
        const { message } = await connectError(suite.sshd.server('sk-held', { identityFile: file, identityAgent: agent.socket }));
        assert.ok(message.includes(`key ${file} (a security key the agent holds: offered through ssh-agent)`), message);
      } finally {
        await agent.close();
      }
    });
  });

  describe('through ssh-tunnels up', () => {
    let home: CliHome;
    let pane: TmuxPane | undefined;
    let agent: SoftAuthenticator;
    before(async () => {
      await buildCli();
      home = cliHome(suite.sshd);
      fs.mkdirSync(path.join(suite.sshd.dir, 'cli'), { recursive: true });
      agent = await startSoftAuthenticator(path.join(suite.sshd.dir, 'cli'), [ed25519]);
    });
    afterEach(() => {
      pane?.kill();
      pane = undefined;
    });
    after(async () => {
      await agent?.close();
      home?.remove();
    });

    it('the terminal shows the touch line while the key signs, takes it away after, and the -L tunnel carries data', async () => {
      authorize(ed25519);
      const config = path.join(home.home, 'sk.config');
      // Not the fixture's own key and not its "no agent": only the security key in the agent lets it in.
      const host = sshConfigHost(suite.sshd, 'sk-cli').filter((l) => !l.includes(suite.sshd.clientKeyPath) && !l.includes('IdentityAgent'));
      fs.writeFileSync(config, [...host, `  IdentityAgent ${agent.socket}`, `  IdentityFile ${path.join(suite.sshd.dir, 'no-such-key')}`, ''].join('\n'));
      const ssh = await sshThroughAgent(suite.sshd, agent.socket);
      assert.ok(ssh.ok, `ssh logs in through the same agent: ${ssh.stderr}`);
      // A person takes a few seconds to reach for the key: the line is on screen meanwhile.
      agent.touchAfterMs = 3000;
      try {
        const before = agent.signatures;
        pane = new TmuxPane(shellLine(['-F', config, '--server', 'sk-cli', '-L', `0:127.0.0.1:${suite.echo.port}`]), { cwd: home.home, env: home.env });
        const shown = await pane.waitFor(/Confirm user presence for key (ED25519-SK SHA256:\S+) \(touch your security key for sk-cli\)/);
        assert.equal(agent.signatures, before, 'shown before the key signed');
        assert.match(pane.visible(), /waiting for a touch of the security key ED25519-SK SHA256:/);
        const m = await pane.waitFor(/: open, listening on 127\.0\.0\.1:(\d+)/);
        assert.equal(agent.signatures - before, 1);
        const r = await echoRoundTrip(Number(m[1]), 10_000);
        assert.equal(r.received, r.sent);
        assert.ok(!pane.visible().includes('Confirm user presence'), `the line went once the key signed:\n${pane.visible()}`);
        assert.equal(shown[1].split(' ')[0], 'ED25519-SK');
      } finally {
        agent.touchAfterMs = 0;
      }
    });
  });
});
