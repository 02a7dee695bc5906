import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { utils, type ParsedKey } from 'ssh2';
import { TunnelError, TunnelManager, type Prompts, type ServerConfig } from '../../src/engine';
import { isPpk, PpkError, ppkToOpenSsh, readPpk } from '../../src/engine/login/ppk';
import { RememberedSecrets, unlockKey } from '../../src/engine/login/rememberedSecrets';
import { SshdFixture } from '../fixtures/sshd';
import { waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';

/** PuTTY's own key generator (Debian's putty-tools), as a Windows person's PuTTYgen writes keys. */
function puttygen(...args: string[]): string {
  return execFileSync('puttygen', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const PASSPHRASE = 'pässphrase with spaces';
/** The key types PuTTYgen makes that an OpenSSH server takes, with the name sshd logs them under. */
const TYPES = [
  { name: 'rsa', args: ['-t', 'rsa', '-b', '2048'], logged: 'RSA' },
  { name: 'dsa', args: ['-t', 'dsa', '-b', '1024'], logged: 'DSA' },
  { name: 'ecdsa-256', args: ['-t', 'ecdsa', '-b', '256'], logged: 'ECDSA' },
  { name: 'ecdsa-384', args: ['-t', 'ecdsa', '-b', '384'], logged: 'ECDSA' },
  { name: 'ecdsa-521', args: ['-t', 'ecdsa', '-b', '521'], logged: 'ECDSA' },
  { name: 'ed25519', args: ['-t', 'ed25519'], logged: 'ED25519' },
];
/** Every format and cipher PuTTYgen writes: version 2 and 3, clear or encrypted, each Argon2 flavour. */
const VARIANTS = [
  { name: 'v2', params: 'version=2', encrypted: false },
  { name: 'v2-aes', params: 'version=2', encrypted: true },
  { name: 'v3', params: 'version=3', encrypted: false },
  { name: 'v3-argon2id', params: 'version=3,kdf=argon2id,passes=2', encrypted: true },
  { name: 'v3-argon2i', params: 'version=3,kdf=argon2i,passes=2', encrypted: true },
  { name: 'v3-argon2d', params: 'version=3,kdf=argon2d,passes=2', encrypted: true },
];

async function connectWith(server: ServerConfig, prompts?: Prompts): Promise<void> {
  const manager = new TunnelManager({ servers: staticServers(server), prompts, reconnect: { maxAttempts: 0 } });
  try {
    assert.equal((await manager.connectServer(server.alias)).state, 'connected');
  } finally {
    await manager.dispose();
  }
}

async function refusal(server: ServerConfig, prompts?: Prompts): Promise<TunnelError> {
  try {
    await connectWith(server, prompts);
  } catch (err) {
    assert.ok(err instanceof TunnelError, String(err));
    return err;
  }
  assert.fail('the login should have failed');
}

describe('PuTTY .ppk keys (made by puttygen) as identity files', function () {
  this.timeout(120_000);
  let sshd: SshdFixture;
  let dir: string;
  const empty = () => path.join(dir, 'empty');
  const secret = () => path.join(dir, 'passphrase');
  const file = (type: string, variant: string) => path.join(dir, `${type}-${variant}.ppk`);
  /** `SHA256:…` of each type's key, as sshd logs it. */
  const fingerprints = new Map<string, string>();

  before(async () => {
    sshd = await SshdFixture.start({ extraConfig: ['PubkeyAcceptedAlgorithms +ssh-dss'] });
    dir = path.join(sshd.dir, 'ppk');
    fs.mkdirSync(dir);
    fs.writeFileSync(empty(), '');
    fs.writeFileSync(secret(), PASSPHRASE);
    for (const type of TYPES) {
      const base = path.join(dir, `${type.name}.ppk`);
      puttygen(...type.args, '-q', '-C', `ppk ${type.name}`, '-o', base, '--new-passphrase', empty());
      for (const v of VARIANTS) {
        puttygen(base, '-P', '-O', 'private', '-o', file(type.name, v.name), '--ppk-param', v.params, '--new-passphrase', v.encrypted ? secret() : empty());
      }
      fs.appendFileSync(path.join(sshd.dir, 'authorized_keys'), puttygen('-L', base));
      fingerprints.set(type.name, puttygen('-l', '-E', 'sha256', base).split(/\s+/)[2]);
    }
  });
  after(async () => sshd?.stop());

  it('the files are what they claim: each version, cipher and Argon2 flavour as PuTTYgen wrote it', () => {
    for (const type of TYPES) {
      for (const v of VARIANTS) {
        const text = fs.readFileSync(file(type.name, v.name), 'utf8');
        assert.ok(isPpk(text));
        const ppk = readPpk(text);
        assert.equal(ppk.version, v.name.startsWith('v2') ? 2 : 3);
        assert.equal(ppk.encrypted, v.encrypted);
        const flavour = /kdf=(\w+)/.exec(v.params)?.[1];
        assert.equal(ppk.argon2?.flavour, flavour);
      }
    }
  });

  for (const type of TYPES) {
    for (const v of VARIANTS) {
      it(`${type.name}, ${v.name}: the same public key as puttygen's, and a login to sshd${v.encrypted ? ' with the passphrase asked' : ''}`, async () => {
        const ppkPath = file(type.name, v.name);
        const { openssh } = await ppkToOpenSsh(fs.readFileSync(ppkPath), v.encrypted ? PASSPHRASE : undefined);
        const key = utils.parseKey(openssh) as ParsedKey;
        assert.ok(!(key instanceof Error), String(key));
        assert.equal(key.getPublicSSH().toString('base64'), puttygen('-L', ppkPath).split(/\s+/)[1]);
        assert.equal(key.comment, `ppk ${type.name}`);

        const asked: string[] = [];
        const before = sshd.output.length;
        await connectWith(sshd.server(`ppk-${type.name}`, { identityFile: ppkPath, identityAgent: false }), {
          passphrase: async (_server, keyPath) => {
            asked.push(keyPath);
            return PASSPHRASE;
          },
        });
        assert.deepEqual(asked, v.encrypted ? [ppkPath] : []);
        const logged = `Accepted publickey for ${sshd.user} from 127.0.0.1`;
        await waitFor(() => sshd.output.slice(before).includes(logged), 5000, 'the sshd log line');
        const line = sshd.output.slice(before).split('\n').find((l) => l.includes(logged))!;
        assert.ok(line.includes(`${type.logged} ${fingerprints.get(type.name)}`), line);
      });
    }
  }

  it('a wrong passphrase is said as wrong and asked again; the right one then logs in', async () => {
    for (const variant of ['v2-aes', 'v3-argon2id']) {
      const retries: (string | undefined)[] = [];
      await connectWith(sshd.server('ppk-retry', { identityFile: file('ed25519', variant), identityAgent: false }), {
        passphrase: async (_server, _keyPath, retry) => {
          retries.push(retry);
          return retries.length === 1 ? 'not the passphrase' : PASSPHRASE;
        },
      });
      assert.equal(retries.length, 2, variant);
      assert.equal(retries[0], undefined);
      assert.match(retries[1] ?? '', /^Wrong passphrase for .*ed25519-v.*\.ppk \(try 1 of 3\); try again\.$/);
    }
  });

  it('three wrong passphrases, a wrong configured one, or none and nothing to ask: refusals that name the key', async () => {
    const ppkPath = file('ecdsa-256', 'v3-argon2i');
    const server = sshd.server('ppk-wrong', { identityFile: ppkPath, identityAgent: false });
    let err = await refusal(server, { passphrase: async () => 'wrong again' });
    assert.equal(err.code, 'AUTH_FAILED');
    assert.ok(err.message.includes(`key ${ppkPath} (wrong passphrase, 3 tries)`), err.message);
    assert.doesNotMatch(err.message, /wrong again/);
    err = await refusal({ ...server, passphrase: 'wrong configured' });
    assert.ok(err.message.includes(`key ${ppkPath} (wrong passphrase (the PuTTY key file's MAC does not match))`), err.message);
    err = await refusal(server);
    assert.ok(err.message.includes(`key ${ppkPath} (needs a passphrase and nothing can ask for it)`), err.message);
  });

  it('the configured passphrase (settings) unlocks a .ppk without asking; an unlocked key is kept for the next login', async () => {
    const ppkPath = file('rsa', 'v3-argon2d');
    await connectWith(sshd.server('ppk-configured', { identityFile: ppkPath, identityAgent: false, passphrase: PASSPHRASE }), {
      passphrase: async () => assert.fail('nothing should be asked'),
    });
    const memory = new RememberedSecrets();
    let asked = 0;
    const prompts: Prompts = {
      passphrase: async () => {
        asked++;
        return PASSPHRASE;
      },
    };
    const raw = fs.readFileSync(ppkPath);
    const first = await unlockKey(raw, { alias: 'kept' }, ppkPath, prompts, memory);
    const again = await unlockKey(raw, { alias: 'kept' }, ppkPath, prompts, memory);
    assert.equal(typeof first, 'object');
    assert.equal(again, first);
    assert.equal(asked, 1);
  });

  it('a .ppk holding an OpenSSH certificate (puttygen --certificate) logs in with the certificate', async () => {
    const ca = await SshdFixture.start({ userCa: true });
    try {
      // Only the CA vouches for this key: authorized_keys does not list it.
      const base = path.join(ca.dir, 'cert-key.ppk');
      puttygen('-t', 'ed25519', '-q', '-o', base, '--new-passphrase', empty());
      fs.writeFileSync(path.join(ca.dir, 'cert-key.pub'), puttygen('-L', base));
      const cert = ca.certify(path.join(ca.dir, 'cert-key.pub'));
      const withCert = path.join(ca.dir, 'with-cert.ppk');
      puttygen(base, '--certificate', cert, '-O', 'private', '-o', withCert, '--new-passphrase', secret());
      assert.match(fs.readFileSync(withCert, 'utf8'), /^PuTTY-User-Key-File-3: ssh-ed25519-cert-v01@openssh\.com/);
      await connectWith(ca.server('ppk-cert', { identityFile: withCert, identityAgent: false, passphrase: PASSPHRASE }));
      await waitFor(() => /Accepted publickey for \S+ .*ED25519-CERT/.test(ca.output), 5000, 'the sshd log line of a certificate login');
      const err = await refusal(ca.server('ppk-cert', { identityFile: base, identityAgent: false }));
      assert.equal(err.code, 'AUTH_FAILED', 'without the certificate the same key is refused: the certificate did the work');
    } finally {
      await ca.stop();
    }
  });

  describe('malformed and unusable files: a clear error naming the file and what is wrong', () => {
    let good: string;
    let goodV2: string;
    before(() => {
      good = fs.readFileSync(file('ed25519', 'v3'), 'utf8');
      goodV2 = fs.readFileSync(file('rsa', 'v2'), 'utf8');
    });
    const problem = async (text: string, passphrase?: string): Promise<PpkError> => {
      try {
        await ppkToOpenSsh(text, passphrase);
      } catch (err) {
        assert.ok(err instanceof PpkError, String(err));
        return err;
      }
      assert.fail('the file should have been refused');
    };
    const lines = (text: string) => text.split('\n');

    it('cut short, a header missing or out of order, a count that lies, lines that are not base64', async () => {
      const l = lines(good);
      assert.match((await problem(l.slice(0, 6).join('\n'))).message, /^not a valid PuTTY key file: it ends before its "Private-Lines:" line$/);
      assert.match((await problem([l[0], l[2], l[1], ...l.slice(3)].join('\n'))).message, /line 2 should be "Encryption: …", not "Comment: /);
      assert.match((await problem(good.replace('Public-Lines: 2', 'Public-Lines: 3'))).message, /line 7 is not base64 \(Public-Lines says 3 lines of it\)|should be "Private-Lines/);
      assert.match((await problem(good.replace('Private-Lines: 1', 'Private-Lines: x'))).message, /Private-Lines must be a number, not "x"/);
      const noMac = l.filter((x) => !x.startsWith('Private-MAC')).join('\n');
      assert.match((await problem(noMac)).message, /ends before its "Private-MAC:" line/);
      assert.match((await problem(good.replace(/Private-MAC: \w+/, 'Private-MAC: 1234'))).message, /Private-MAC must be 64 hexadecimal digits/);
      assert.match((await problem('-----BEGIN SOMETHING-----\n')).message, /does not start with "PuTTY-User-Key-File-"/);
    });

    it('a changed byte is caught by the MAC, in version 2 and 3', async () => {
      for (const text of [good, goodV2]) {
        const l = lines(text);
        const at = l.findIndex((x) => x.startsWith('Private-Lines')) + 1;
        l[at] = (l[at][0] === 'A' ? 'B' : 'A') + l[at].slice(1);
        const err = await problem(l.join('\n'));
        assert.equal(err.kind, 'malformed');
        assert.match(err.message, /its Private-MAC does not match its contents \(the file was changed or damaged\)/);
      }
      // A changed comment is covered by the MAC too.
      assert.match((await problem(good.replace(/^Comment: .*$/m, 'Comment: someone else'))).message, /MAC does not match/);
    });

    it('versions, ciphers, key derivations and key types it does not read are named', async () => {
      assert.match((await problem(good.replace('PuTTY-User-Key-File-3', 'PuTTY-User-Key-File-1'))).message, /version 1 .*save it again/);
      assert.match((await problem(good.replace('PuTTY-User-Key-File-3', 'PuTTY-User-Key-File-4'))).message, /version 4, newer than this reads/);
      assert.match((await problem(good.replace('Encryption: none', 'Encryption: aes128-ctr'))).message, /encrypted with "aes128-ctr"/);
      const encrypted = fs.readFileSync(file('ed25519', 'v3-argon2id'), 'utf8');
      assert.match((await problem(encrypted.replace('Key-Derivation: Argon2id', 'Key-Derivation: scrypt'), PASSPHRASE)).message, /Key-Derivation is "scrypt"/);
      assert.match((await problem(encrypted.replace(/Argon2-Memory: \d+/, 'Argon2-Memory: 2000000'), PASSPHRASE)).message, /Argon2-Memory 2000000 KiB is out of range/);
      assert.match((await problem(encrypted.replace(/Argon2-Salt: \w+/, 'Argon2-Salt: xyz'), PASSPHRASE)).message, /Argon2-Salt must be hexadecimal/);
      const ed448 = path.join(dir, 'ed448.ppk');
      puttygen('-t', 'ed448', '-q', '-o', ed448, '--new-passphrase', empty());
      const err = await problem(fs.readFileSync(ed448, 'utf8'));
      assert.equal(err.kind, 'unsupported');
      assert.match(err.message, /a ssh-ed448 key, which SSH Tunnels cannot use/);
    });

    it('CRLF line ends (a file copied through Windows) read the same', async () => {
      const { openssh } = await ppkToOpenSsh(good.replace(/\n/g, '\r\n'));
      assert.equal((utils.parseKey(openssh) as ParsedKey).getPublicSSH().toString('base64'), puttygen('-L', file('ed25519', 'v3')).split(/\s+/)[1]);
    });

    it('through a login: the refusal names the file and what is wrong with it', async () => {
      const broken = path.join(dir, 'broken.ppk');
      fs.writeFileSync(broken, lines(good).slice(0, 4).join('\n'));
      const err = await refusal(sshd.server('ppk-broken', { identityFile: broken, identityAgent: false }));
      assert.equal(err.code, 'AUTH_FAILED');
      assert.ok(err.message.includes(`key ${broken} (not a valid PuTTY key file: it ends before its Public key data line)`), err.message);
    });
  });
});
