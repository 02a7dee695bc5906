import * as assert from 'node:assert/strict';
import { execFileSync, execSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelError, TunnelManager, type HostKeyAnswer, type HostKeyQuestion, type ServerConfig } from '../../src/engine';
import { newKeyPair, SshdFixture } from '../fixtures/sshd';
import { rejection } from '../helpers/rejection';
import { staticServers } from '../helpers/servers';

/** Connects once; resolves with the questions asked, rejects with the engine's error. */
async function connect(server: ServerConfig, answer?: HostKeyAnswer, questions: HostKeyQuestion[] = []): Promise<HostKeyQuestion[]> {
  const prompts = answer === undefined ? undefined : { hostKey: async (q: HostKeyQuestion) => (questions.push(q), answer) };
  const manager = new TunnelManager({ servers: staticServers(server), prompts, reconnect: { maxAttempts: 0 } });
  try {
    await manager.connectServer(server.alias);
    return questions;
  } finally {
    await manager.dispose();
  }
}

/** `ssh-keygen -l` of a public key line: what OpenSSH shows a person. */
function sshKeygenFingerprint(publicKeyLine: string, dir: string): string {
  const file = path.join(dir, `fp-${Math.random().toString(36).slice(2)}.pub`);
  fs.writeFileSync(file, publicKeyLine + '\n');
  const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' });
  return out.split(/\s+/)[1];
}

function sshKeygenFind(name: string, file: string): { status: number | null; stdout: string } {
  const r = spawnSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

describe('host keys, checked like OpenSSH', function () {
  this.timeout(60_000);
  let sshd: SshdFixture;
  let dir: string;
  let kh: string;
  let keyType: string;
  let keyB64: string;
  let name: string;

  before(async () => {
    sshd = await SshdFixture.start();
    [keyType, keyB64] = sshd.hostPublicKey().split(/\s+/);
    name = `[127.0.0.1]:${sshd.port}`;
  });
  after(async () => sshd?.stop());
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-kh-'));
    kh = path.join(dir, 'known_hosts');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const asking = (extra: Partial<ServerConfig> = {}) => sshd.server('hk', { userKnownHostsFile: kh, strictHostKeyChecking: undefined, ...extra });

  describe('unknown host', () => {
    it('asks with the key type and the SHA256 fingerprint ssh-keygen shows; trust-remember appends a line OpenSSH reads', async () => {
      const questions = await connect(asking(), 'trust-remember');
      assert.equal(questions.length, 1);
      assert.deepEqual(questions[0], {
        server: 'hk',
        host: '127.0.0.1',
        port: sshd.port,
        keyType,
        fingerprint: sshKeygenFingerprint(sshd.hostPublicKey(), dir),
      });
      const found = sshKeygenFind(name, kh);
      assert.equal(found.status, 0, 'ssh-keygen -F finds the new line');
      assert.ok(found.stdout.includes(`${name} ${keyType} ${keyB64}`), found.stdout);
      // The next connection knows the host: nothing is asked.
      assert.deepEqual(await connect(asking(), 'reject'), []);
      // And OpenSSH's own client accepts the file as it is.
      const ssh = spawnSync('ssh', ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${kh}`,
        '-i', sshd.clientKeyPath, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`, 'true'], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(ssh.status, 0, ssh.stderr);
    });

    it('calls the prompt as a method, so a prompts object that uses `this` works', async () => {
      class Prompts {
        asked = 0;
        private readonly answer: HostKeyAnswer = 'trust-once';
        async hostKey(): Promise<HostKeyAnswer> {
          this.asked++;
          return this.answer;
        }
      }
      const prompts = new Prompts();
      const manager = new TunnelManager({ servers: staticServers(asking()), prompts, reconnect: { maxAttempts: 0 } });
      try {
        await manager.connectServer('hk');
      } finally {
        await manager.dispose();
      }
      assert.equal(prompts.asked, 1);
    });

    it('trust-once connects without writing, and asks again next time', async () => {
      assert.equal((await connect(asking(), 'trust-once')).length, 1);
      assert.equal(fs.existsSync(kh), false);
      assert.equal((await connect(asking(), 'trust-once')).length, 1);
      assert.equal(fs.existsSync(kh), false);
    });

    it('reject aborts with a clear error and writes nothing', async () => {
      const err = await rejection(connect(asking(), 'reject'), TunnelError);
      assert.equal(err.code, 'HOST_KEY_UNKNOWN');
      assert.match(err.message, /Host key of hk \(127\.0\.0\.1:\d+\) \(ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}\) was not trusted\. Connection cancelled\./);
      assert.equal(fs.existsSync(kh), false);
    });

    it('with nothing to ask, refuses and says how to proceed', async () => {
      const err = await rejection(connect(asking()), TunnelError);
      assert.equal(err.code, 'HOST_KEY_UNKNOWN');
      assert.match(err.message, /can't be established .* nothing can ask whether to trust it\. Add it to .*known_hosts or set StrictHostKeyChecking accept-new/);
    });

    it('StrictHostKeyChecking yes refuses without asking', async () => {
      const questions: HostKeyQuestion[] = [];
      const err = await rejection(connect(asking({ strictHostKeyChecking: 'yes' }), 'trust-remember', questions), TunnelError);
      assert.equal(err.code, 'HOST_KEY_UNKNOWN');
      assert.match(err.message, /StrictHostKeyChecking is yes\. Its ssh-ed25519 fingerprint is SHA256:/);
      assert.deepEqual(questions, []);
      assert.equal(fs.existsSync(kh), false);
    });

    it('StrictHostKeyChecking accept-new adds the key silently', async () => {
      assert.deepEqual(await connect(asking({ strictHostKeyChecking: 'accept-new' }), 'reject'), []);
      assert.equal(sshKeygenFind(name, kh).status, 0);
      assert.equal(fs.readFileSync(kh, 'utf8').trim().split('\n').length, 1);
    });
  });

  describe('the system-wide known_hosts (GlobalKnownHostsFile)', () => {
    let globalKh: string;
    beforeEach(() => {
      globalKh = path.join(dir, 'ssh_known_hosts');
    });

    it('a key listed only there is known: nothing is asked and the user\'s file is not written', async () => {
      fs.writeFileSync(globalKh, `${name} ${keyType} ${keyB64}\n`);
      assert.deepEqual(await connect(asking({ globalKnownHostsFile: globalKh }), 'reject'), []);
      assert.equal(fs.existsSync(kh), false);
    });

    it('another key of the same type there is a changed key, named with that file and line', async () => {
      newKeyPair(path.join(dir, 'other'));
      const other = fs.readFileSync(path.join(dir, 'other.pub'), 'utf8').split(/\s+/);
      fs.writeFileSync(globalKh, `# site keys\n${name} ${other[0]} ${other[1]}\n`);
      const err = await rejection(connect(asking({ globalKnownHostsFile: globalKh }), 'trust-remember'), TunnelError);
      assert.equal(err.code, 'HOST_KEY_CHANGED');
      assert.ok(err.message.includes(`${globalKh}:2`), err.message);
      assert.equal(fs.existsSync(kh), false);
    });

    it('is read, never written: trust-remember adds the key to the user\'s file', async () => {
      fs.writeFileSync(globalKh, 'other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n');
      const before = fs.readFileSync(globalKh, 'utf8');
      assert.equal((await connect(asking({ globalKnownHostsFile: globalKh }), 'trust-remember')).length, 1);
      assert.equal(fs.readFileSync(globalKh, 'utf8'), before);
      assert.equal(sshKeygenFind(name, kh).status, 0, 'the user\'s file has the new line');
    });
  });

  describe('what known_hosts can say', () => {
    it('hashed entries (ssh-keygen -H) match', async () => {
      fs.writeFileSync(kh, `${name} ${keyType} ${keyB64}\n`);
      execFileSync('ssh-keygen', ['-H', '-f', kh], { stdio: 'ignore' });
      const text = fs.readFileSync(kh, 'utf8');
      assert.match(text, /^\|1\|[^ ]+ ssh-ed25519 /);
      assert.ok(!text.includes('127.0.0.1'));
      assert.deepEqual(await connect(asking({ strictHostKeyChecking: 'yes' })), []);
    });

    it('a hashed entry with another key of the same type is a changed key', async () => {
      const other = path.join(dir, 'other');
      newKeyPair(other);
      fs.writeFileSync(kh, `${name} ${fs.readFileSync(`${other}.pub`, 'utf8').split(/\s+/).slice(0, 2).join(' ')}\n`);
      execFileSync('ssh-keygen', ['-H', '-f', kh], { stdio: 'ignore' });
      const err = await rejection(connect(asking(), 'trust-remember'), TunnelError);
      assert.equal(err.code, 'HOST_KEY_CHANGED');
      assert.ok(err.message.includes(`${kh}:1`));
    });

    it('@revoked refuses, even next to a plain line for the same key', async () => {
      fs.writeFileSync(kh, `${name} ${keyType} ${keyB64}\n@revoked ${name} ${keyType} ${keyB64}\n`);
      const err = await rejection(connect(asking({ strictHostKeyChecking: 'no' }), 'trust-remember'), TunnelError);
      assert.equal(err.code, 'HOST_KEY_REVOKED');
      assert.ok(err.message.includes(`is marked @revoked in ${kh}:2`), err.message);
    });

    it('entries are port-specific: the same key for port 22 or another port does not count', async () => {
      fs.writeFileSync(kh, `127.0.0.1 ${keyType} ${keyB64}\n[127.0.0.1]:${sshd.port + 1} ${keyType} ${keyB64}\n[localhost]:${sshd.port} ${keyType} ${keyB64}\n`);
      const err = await rejection(connect(asking({ strictHostKeyChecking: 'yes' })), TunnelError);
      assert.equal(err.code, 'HOST_KEY_UNKNOWN');
      fs.appendFileSync(kh, `${name} ${keyType} ${keyB64}\n`);
      assert.deepEqual(await connect(asking({ strictHostKeyChecking: 'yes' })), []);
    });

    it('several key types per host: another type recorded is not a change; the right one among them is known', async () => {
      const ecdsa = path.join(dir, 'ecdsa');
      newKeyPair(ecdsa, { type: 'ecdsa' });
      const ecdsaLine = fs.readFileSync(`${ecdsa}.pub`, 'utf8').split(/\s+/).slice(0, 2).join(' ');
      fs.writeFileSync(kh, `${name} ${ecdsaLine}\n`);
      const questions = await connect(asking(), 'trust-once');
      assert.equal(questions.length, 1, 'an unknown type is asked about, not refused as changed');
      fs.writeFileSync(kh, `${name} ${ecdsaLine}\n127.0.0.1,${name} ${keyType} ${keyB64}\n`);
      assert.deepEqual(await connect(asking({ strictHostKeyChecking: 'yes' })), []);
    });

    it('patterns in known_hosts (wildcards, negation) work as in OpenSSH', async () => {
      fs.writeFileSync(kh, `[127.0.0.*]:${sshd.port} ${keyType} ${keyB64}\n`);
      assert.deepEqual(await connect(asking({ strictHostKeyChecking: 'yes' })), []);
      fs.writeFileSync(kh, `[127.0.0.*]:${sshd.port},!${name} ${keyType} ${keyB64}\n`);
      assert.equal((await rejection(connect(asking({ strictHostKeyChecking: 'yes' })), TunnelError)).code, 'HOST_KEY_UNKNOWN');
    });

    it('a @cert-authority line does not vouch for a plain host key (a server with no certificate)', async () => {
      const ca = path.join(dir, 'ca');
      newKeyPair(ca);
      fs.writeFileSync(kh, `@cert-authority ${name} ${fs.readFileSync(`${ca}.pub`, 'utf8').split(/\s+/).slice(0, 2).join(' ')}\n`);
      const err = await rejection(connect(asking({ strictHostKeyChecking: 'yes' })), TunnelError);
      assert.equal(err.code, 'HOST_KEY_UNKNOWN');
      assert.ok(err.message.startsWith('The host key of '), err.message);
    });
  });

  describe('changed host key', () => {
    let moved: SshdFixture;
    before(async () => {
      moved = await SshdFixture.start();
    });
    after(async () => moved?.stop());

    it('is refused, always, with the man-in-the-middle warning, the fingerprint seen and file:line expected; the old line stays', async () => {
      const khFile = path.join(dir, 'known_hosts');
      fs.writeFileSync(khFile, `# my hosts\n[127.0.0.1]:1 ssh-ed25519 ${keyB64}\n`);
      fs.appendFileSync(khFile, fs.readFileSync(moved.knownHostsPath));
      const before = fs.readFileSync(khFile);
      const server = moved.server('moved', { userKnownHostsFile: khFile, strictHostKeyChecking: undefined });
      assert.deepEqual(await connect(server, 'reject'), []);

      await moved.restart({ newHostKey: true });
      const seen = sshKeygenFingerprint(moved.hostPublicKey(), dir);
      for (const strict of [undefined, 'no', 'accept-new', 'yes'] as const) {
        const questions: HostKeyQuestion[] = [];
        const err = await rejection(connect({ ...server, strictHostKeyChecking: strict }, 'trust-remember', questions), TunnelError);
        assert.equal(err.code, 'HOST_KEY_CHANGED', `StrictHostKeyChecking ${strict}`);
        assert.match(err.message, /man-in-the-middle/);
        assert.ok(err.message.includes(`The server sent ssh-ed25519 ${seen}`), err.message);
        assert.ok(err.message.includes(`the expected key is in ${khFile}:3`), err.message);
        assert.deepEqual(questions, [], 'a changed key is never offered for trust');
        assert.deepEqual(fs.readFileSync(khFile), before, 'known_hosts untouched');
      }
    });

    it('names the exact ssh-keygen -R command, which removes the old key so the new one is asked about', async () => {
      const khFile = path.join(dir, 'known_hosts');
      const other = path.join(dir, 'other');
      newKeyPair(other);
      const otherLine = fs.readFileSync(`${other}.pub`, 'utf8').split(/\s+/).slice(0, 2).join(' ');
      fs.writeFileSync(khFile, `# my hosts\n127.0.0.1 ${keyType} ${keyB64}\n[127.0.0.1]:${moved.port} ${otherLine}\n`);
      const server = moved.server('moved', { userKnownHostsFile: khFile, strictHostKeyChecking: undefined });
      const err = await rejection(connect(server, 'trust-remember'), TunnelError);
      const command = `ssh-keygen -f "${khFile}" -R "[127.0.0.1]:${moved.port}"`;
      assert.ok(err.message.includes(`remove the old key with ${command} and connect again`), err.message);
      // Run as a person would paste it: only that host's line goes, the port-22 entry stays.
      execSync(command, { stdio: 'ignore' });
      assert.equal(sshKeygenFind(`[127.0.0.1]:${moved.port}`, khFile).status, 1);
      assert.equal(sshKeygenFind('127.0.0.1', khFile).status, 0);
      assert.equal((await connect(server, 'trust-once')).length, 1, 'the new key is asked about, not refused');
    });
  });
});
