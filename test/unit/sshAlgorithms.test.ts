import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateServerSettings } from '../../src/config/serverSettings';
import { ALGORITHMS, assembleAlgorithms, type AlgorithmOption } from '../../src/config/sshAlgorithms';
import { loadSshConfig, resolveHost } from '../../src/config/sshConfig';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ssh2Constants = require('ssh2/lib/protocol/constants') as Record<string, string[]>;

const OPTIONS: AlgorithmOption[] = ['ciphers', 'macs', 'kexAlgorithms', 'hostKeyAlgorithms', 'pubkeyAcceptedAlgorithms'];
const SSH_Q: Record<AlgorithmOption, string> = { ciphers: 'cipher', macs: 'mac', kexAlgorithms: 'kex', hostKeyAlgorithms: 'HostKeyAlgorithms', pubkeyAcceptedAlgorithms: 'PubkeyAcceptedAlgorithms' };
const SSH2_SUPPORTED: Record<AlgorithmOption, string> = {
  ciphers: 'SUPPORTED_CIPHER',
  macs: 'SUPPORTED_MAC',
  kexAlgorithms: 'SUPPORTED_KEX',
  hostKeyAlgorithms: 'SUPPORTED_SERVER_HOST_KEY',
  pubkeyAcceptedAlgorithms: 'SUPPORTED_SERVER_HOST_KEY',
};

describe('algorithm options (Ciphers, MACs, KexAlgorithms, HostKeyAlgorithms, PubkeyAcceptedAlgorithms)', () => {
  const env = { home: os.homedir(), localUser: os.userInfo().username };
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-alg-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const resolve = (text: string, host = 'h') => {
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(file, text);
    return resolveHost(loadSshConfig(file, env), host);
  };

  it("the tables are this machine's OpenSSH's (ssh -Q, ssh -G) and ssh2's own lists", () => {
    const defaults = execFileSync('ssh', ['-G', '-F', '/dev/null', 'h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const option of OPTIONS) {
      const table = ALGORITHMS[option];
      assert.deepEqual(execFileSync('ssh', ['-Q', SSH_Q[option]], { encoding: 'utf8' }).trim().split('\n'), table.all, `ssh -Q ${SSH_Q[option]}`);
      const printed = new RegExp(`^${table.keyword.toLowerCase()} (.*)$`, 'm').exec(defaults)?.[1];
      assert.deepEqual(printed?.split(','), table.defaults, `ssh -G ${table.keyword}`);
      // A name ssh2 cannot negotiate would make it throw at connect.
      // Certificates and security keys are the engine's own business at login (ssh2 only signs with the key, or the agent does).
      const negotiated = [...table.ssh2].filter((n) => !(option === 'pubkeyAcceptedAlgorithms' && (n.endsWith('-cert-v01@openssh.com') || n.startsWith('sk-'))));
      for (const name of negotiated) assert.ok(ssh2Constants[SSH2_SUPPORTED[option]].includes(name), `${name} in ssh2's ${SSH2_SUPPORTED[option]}`);
      for (const name of table.ssh2) assert.ok(table.all.includes(name), `${name} is an OpenSSH name`);
    }
  });

  for (const option of OPTIONS) {
    const { defaults, ssh2 } = ALGORITHMS[option];
    const extra = ALGORITHMS[option].all.find((n) => ssh2.has(n) && !defaults.includes(n)) ?? ALGORITHMS[option].all.find((n) => ssh2.has(n))!;
    const usableDefault = defaults.filter((n) => ssh2.has(n));
    it(`${ALGORITHMS[option].keyword}: + appends, - removes patterns, ^ puts first, a plain list replaces`, () => {
      assert.deepEqual(assembleAlgorithms(option, `+${extra}`).names, defaults.includes(extra) ? [...defaults] : [...defaults, extra]);
      const first = usableDefault[0];
      assert.deepEqual(assembleAlgorithms(option, `-${first}`).usable, usableDefault.slice(1));
      assert.deepEqual(assembleAlgorithms(option, `-${first.slice(0, 6)}*`).names, defaults.filter((n) => !n.startsWith(first.slice(0, 6))));
      const last = usableDefault[usableDefault.length - 1];
      assert.deepEqual(assembleAlgorithms(option, `^${last}`).usable, [last, ...usableDefault.filter((n) => n !== last)]);
      assert.deepEqual(assembleAlgorithms(option, `${last},${first}`).usable, [last, first]);
    });
  }

  it('from ssh_config: each option reaches ServerConfig, limited to what ssh2 can use, the rest named in a warning', () => {
    const r = resolve(
      [
        'Host h',
        '  HostKeyAlgorithms +ssh-rsa,ssh-dss-cert-v01@openssh.com',
        '  PubkeyAcceptedKeyTypes ^ssh-rsa',
        '  KexAlgorithms curve25519-sha256,sntrup761x25519-sha512@openssh.com,diffie-hellman-group1-sha1',
        '  MACs -umac-*,hmac-sha1-etm@openssh.com',
        '',
      ].join('\n'),
    );
    // Host certificates are usable (src/engine/ssh2/hostCertificateKex.ts); ssh-dss is not.
    assert.deepEqual(r.server.hostKeyAlgorithms, [
      'ssh-ed25519-cert-v01@openssh.com',
      'ecdsa-sha2-nistp256-cert-v01@openssh.com',
      'ecdsa-sha2-nistp384-cert-v01@openssh.com',
      'ecdsa-sha2-nistp521-cert-v01@openssh.com',
      'rsa-sha2-512-cert-v01@openssh.com',
      'rsa-sha2-256-cert-v01@openssh.com',
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
      'ecdsa-sha2-nistp384',
      'ecdsa-sha2-nistp521',
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
    assert.equal(r.server.hostKeyAlgorithmsVerbatim, undefined, '+ keeps ssh\'s known_hosts ordering');
    // Security keys stay: an agent holds them and the engine offers them.
    assert.deepEqual(r.server.pubkeyAcceptedAlgorithms, [
      'ssh-rsa',
      'ssh-ed25519-cert-v01@openssh.com',
      'ecdsa-sha2-nistp256-cert-v01@openssh.com',
      'ecdsa-sha2-nistp384-cert-v01@openssh.com',
      'ecdsa-sha2-nistp521-cert-v01@openssh.com',
      'sk-ssh-ed25519-cert-v01@openssh.com',
      'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
      'rsa-sha2-512-cert-v01@openssh.com',
      'rsa-sha2-256-cert-v01@openssh.com',
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
      'ecdsa-sha2-nistp384',
      'ecdsa-sha2-nistp521',
      'sk-ssh-ed25519@openssh.com',
      'sk-ecdsa-sha2-nistp256@openssh.com',
      'rsa-sha2-512',
      'rsa-sha2-256',
    ]);
    assert.deepEqual(r.server.kexAlgorithms, ['curve25519-sha256', 'diffie-hellman-group1-sha1']);
    assert.deepEqual(r.server.macs, ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1']);
    assert.ok(r.warnings.some((w) => /:2: HostKeyAlgorithms for h: ssh-dss-cert-v01@openssh.com is not a host key algorithm ssh2 supports; left out\./.test(w)), r.warnings.join('\n'));
    assert.ok(r.warnings.some((w) => /:4: KexAlgorithms for h: sntrup761x25519-sha512@openssh.com is not a key exchange algorithm ssh2 supports/.test(w)), r.warnings.join('\n'));
    assert.equal(r.warnings.length, 2, r.warnings.join('\n'));
  });

  it('HostKeyAlgorithms as a list or with ^ is offered as written; with + or - ssh may still put certificates first', () => {
    const verbatim = (value: string) => resolve(`Host h\n  HostKeyAlgorithms ${value}\n`).server.hostKeyAlgorithmsVerbatim;
    assert.equal(verbatim('ssh-ed25519,rsa-sha2-256'), true);
    assert.equal(verbatim('^ssh-ed25519'), true);
    assert.equal(verbatim('+ssh-rsa'), undefined);
    assert.equal(verbatim('-ssh-rsa'), undefined);
    const [list, plus, caret] = validateServerSettings([
      { host: 'a', hostKeyAlgorithms: ['ssh-ed25519'] },
      { host: 'b', hostKeyAlgorithms: '+ssh-rsa' },
      { host: 'c', hostKeyAlgorithms: '^ssh-ed25519' },
    ]).servers;
    assert.equal(list.hostKeyAlgorithmsVerbatim, true);
    assert.equal(plus.hostKeyAlgorithmsVerbatim, undefined);
    assert.equal(caret.hostKeyAlgorithmsVerbatim, true);
  });

  it('a value that leaves ssh2 nothing: a warning, and ssh2 keeps its defaults', () => {
    const r = resolve('Host h\n  MACs umac-64@openssh.com,no-such-mac\n');
    assert.equal(r.server.macs, undefined);
    assert.ok(r.warnings.some((w) => /MACs for h: umac-64@openssh.com, no-such-mac are not a MAC ssh2 supports/.test(w)), r.warnings.join('\n'));
    assert.ok(r.warnings.some((w) => /MACs umac-64@openssh.com,no-such-mac for h leaves no MAC ssh2 can use; ssh2's defaults are used/.test(w)), r.warnings.join('\n'));
  });

  it('HostKeyAlias and HashKnownHosts from ssh_config', () => {
    const r = resolve('Host h\n  HostKeyAlias my-alias\n  HashKnownHosts yes\n');
    assert.equal(r.server.hostKeyAlias, 'my-alias');
    assert.equal(r.server.hashKnownHosts, true);
    assert.ok(resolve('Host h\n  HashKnownHosts maybe\n').warnings.some((w) => /HashKnownHosts "maybe" for h must be yes or no/.test(w)));
  });

  it('from sshTunnels.servers: a list replaces the default, a string takes + - ^ as in ssh_config', () => {
    const v = validateServerSettings([
      { host: 'a', hostKeyAlgorithms: '+ssh-rsa', kexAlgorithms: ['curve25519-sha256', 'sntrup761x25519-sha512@openssh.com'], macs: '-umac-*,hmac-sha1*', hostKeyAlias: 'alias-a', hashKnownHosts: true },
      { host: 'b', pubkeyAcceptedAlgorithms: 'ssh-ed25519', ciphers: ['aes128-ctr'] },
      { host: 'c', macs: 42 },
    ]);
    const [a, b] = v.servers;
    assert.deepEqual(a.hostKeyAlgorithms, [...ALGORITHMS.hostKeyAlgorithms.defaults.filter((n) => !n.startsWith('sk-')), 'ssh-rsa']);
    assert.deepEqual(a.kexAlgorithms, ['curve25519-sha256']);
    assert.deepEqual(a.macs, ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512']);
    assert.equal(a.hostKeyAlias, 'alias-a');
    assert.equal(a.hashKnownHosts, true);
    assert.deepEqual(b.pubkeyAcceptedAlgorithms, ['ssh-ed25519']);
    assert.deepEqual(b.ciphers, ['aes128-ctr']);
    assert.ok(v.warnings.some((w) => /KexAlgorithms for a: sntrup761x25519-sha512@openssh.com is not a key exchange algorithm ssh2 supports/.test(w)), v.warnings.join('\n'));
    assert.ok(v.errors.some((e) => /macs must be a list of MAC names/.test(e)), v.errors.join('\n'));
  });
});
