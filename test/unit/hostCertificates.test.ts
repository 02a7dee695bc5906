import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelError, TunnelManager, type HostKeyQuestion, type ServerConfig } from '../../src/engine';
import { hostKeyAlgorithms } from '../../src/engine/connection/negotiation';
import { readCertificate, parseCertificateBlob } from '../../src/engine/wire/certificate';
import { hostCertificateProblem, signedByItsCa } from '../../src/engine/hostkeys/hostCertificate';
import { SshdFixture, type HostCertificateOptions } from '../fixtures/sshd';
import { buildCli, CLI, cliHome, type CliHome } from '../helpers/cli';
import { echoRoundTrip, startEchoServer } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { sshConfigHost } from '../helpers/sshConfigHost';
import { TmuxPane } from '../helpers/tmux';

/** Opens a -L tunnel on `server` and sends data through it; resolves with the questions asked and the log once the echo came back whole. */
async function tunnelCarriesData(server: ServerConfig, echoPort: number): Promise<{ questions: HostKeyQuestion[]; log: string[] }> {
  const questions: HostKeyQuestion[] = [];
  const log: string[] = [];
  const prompts = { hostKey: async (q: HostKeyQuestion) => (questions.push(q), 'reject' as const) };
  const manager = new TunnelManager({ servers: staticServers(server), prompts, reconnect: { maxAttempts: 0 }, log: (m: string) => log.push(m) });
  try {
    const info = await manager.createTunnel({ server: server.host, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echoPort });
    const r = await echoRoundTrip(info.localPort, 100_000);
    assert.equal(r.received, r.sent);
  } finally {
    await manager.dispose();
  }
  return { questions, log };
}

async function refusal(server: ServerConfig): Promise<TunnelError> {
  const manager = new TunnelManager({ servers: staticServers(server), reconnect: { maxAttempts: 0 } });
  try {
    await manager.connectServer(server.host);
  } catch (err) {
    assert.ok(err instanceof TunnelError, String(err));
    return err;
  } finally {
    await manager.dispose();
  }
  assert.fail('the connection should have been refused');
}

describe('host certificates (@cert-authority and @revoked in known_hosts)', function () {
  this.timeout(60_000);
  let sshd: SshdFixture;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let n = 0;

  before(async () => {
    sshd = await SshdFixture.start({ hostCertificate: {} });
    echo = await startEchoServer();
  });
  after(async () => {
    await echo?.close();
    await sshd?.stop();
  });

  /** A known_hosts file of `lines`, in the fixture's folder. */
  const knownHosts = (...lines: string[]): string => {
    const file = path.join(sshd.dir, `known_hosts_${++n}`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };
  const caLine = (pattern = `[${sshd.host}]:${sshd.port}`) => `@cert-authority ${pattern} ${sshd.hostCaPublicKey()}`;
  const plainLine = () => `[${sshd.host}]:${sshd.port} ${sshd.hostPublicKey().split(/\s+/).slice(0, 2).join(' ')}`;
  /** Serves a new host certificate. */
  const serve = async (options: HostCertificateOptions) => {
    sshd.certifyHost(options);
    await sshd.restart();
  };
  /** OpenSSH's ssh with the same known_hosts (and no system-wide one): the reference for each case. */
  const ssh = (file: string, extra: string[] = []) => {
    const run = spawnSync(
      'ssh',
      ['-F', 'none', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'StrictHostKeyChecking=yes', '-o', 'UpdateHostKeys=no',
        '-o', `UserKnownHostsFile=${file}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-i', sshd.clientKeyPath, '-p', String(sshd.port), ...extra, `${sshd.user}@${sshd.host}`, 'true'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    return { ok: run.status === 0, stderr: run.stderr ?? '' };
  };
  const server = (file: string, extra: Partial<ServerConfig> = {}) => sshd.server(`cert-${n}`, { userKnownHostsFile: file, globalKnownHostsFile: os.devNull, ...extra });

  it('a certificate signed by a CA that known_hosts trusts for the host: connects with no question, the host key itself unknown', async () => {
    await serve({ principals: [sshd.host] });
    const file = knownHosts(caLine());
    const reference = ssh(file);
    assert.ok(reference.ok, `ssh connects with the same known_hosts: ${reference.stderr}`);
    const { questions, log } = await tunnelCarriesData(server(file), echo.port);
    assert.deepEqual(questions, []);
    assert.ok(log.some((l) => l.includes('host certificate "test-host" (ssh-ed25519-cert) signed by the CA in')), log.join('\n'));
    assert.equal(fs.readFileSync(file, 'utf8'), caLine() + '\n', 'nothing is written to known_hosts');
  });

  it("the CA's signature is checked: a certificate changed after signing is not the CA's", () => {
    const cert = readCertificate(path.join(sshd.dir, 'host_key-cert.pub'));
    assert.equal(signedByItsCa(cert), true);
    assert.equal(hostCertificateProblem(cert, sshd.host), undefined);
    const at = cert.blob.indexOf('test-host');
    const changed = Buffer.from(cert.blob);
    changed.write('evil-host', at);
    assert.equal(signedByItsCa(parseCertificateBlob(changed, 'changed')), false);
  });

  it('a CA line with a wildcard pattern vouches too', async () => {
    const file = knownHosts(caLine('*'));
    assert.ok(ssh(file).ok);
    await tunnelCarriesData(server(file), echo.port);
  });

  it('a certificate for other names is refused, saying which names it is for', async () => {
    await serve({ principals: ['web', 'api'] });
    const file = knownHosts(caLine());
    const reference = ssh(file);
    assert.ok(!reference.ok && /not a listed principal/.test(reference.stderr), reference.stderr);
    const err = await refusal(server(file));
    assert.equal(err.code, 'HOST_KEY_UNKNOWN');
    assert.ok(err.message.includes(`The host certificate of cert-${n} (ssh-ed25519-cert) is not valid for the name ${sshd.host}: its principals are web, api.`), err.message);
  });

  it('an expired certificate is refused, saying when it expired', async () => {
    await serve({ validity: '20200101:20200102' });
    const file = knownHosts(caLine());
    const reference = ssh(file);
    assert.ok(!reference.ok && /expired/i.test(reference.stderr), reference.stderr);
    const err = await refusal(server(file));
    assert.ok(err.message.includes('(ssh-ed25519-cert) expired at 2020-01-02'), err.message);
  });

  it('HostKeyAlias is the name the principals are checked against', async () => {
    await serve({ principals: ['db.internal'] });
    const file = knownHosts('@cert-authority db.internal ' + sshd.hostCaPublicKey());
    const reference = ssh(file, ['-o', 'HostKeyAlias=db.internal']);
    assert.ok(reference.ok, reference.stderr);
    await tunnelCarriesData(server(file, { hostKeyAlias: 'db.internal' }), echo.port);
    // Without the alias the CA line names another host: the certificate vouches for nothing.
    const err = await refusal(server(knownHosts(caLine()), {}));
    assert.ok(err.message.includes(`is not valid for the name ${sshd.host}: its principals are db.internal`), err.message);
  });

  describe('revoked, and CAs known_hosts does not trust', () => {
    before(() => serve({ principals: [sshd.host] }));

    it('a CA marked @revoked is refused, naming the line', async () => {
      const file = knownHosts(caLine(), `@revoked * ${sshd.hostCaPublicKey()}`);
      assert.ok(!ssh(file).ok);
      const err = await refusal(server(file));
      assert.equal(err.code, 'HOST_KEY_REVOKED');
      assert.ok(err.message.includes(`(ssh-ed25519-cert) is signed by a CA that is revoked in ${file}:2`), err.message);
    });

    it('a certificate whose key is marked @revoked is refused, even with the plain key listed', async () => {
      const file = knownHosts(caLine(), plainLine(), `@revoked * ${sshd.hostPublicKey().split(/\s+/).slice(0, 2).join(' ')}`);
      assert.ok(!ssh(file).ok);
      const err = await refusal(server(file));
      assert.equal(err.code, 'HOST_KEY_REVOKED');
      assert.ok(err.message.includes(`certifies a key that is revoked in ${file}:3`), err.message);
    });

    it('a CA known_hosts does not trust: the plain host key decides, as with ssh (listed: connects)', async () => {
      const other = path.join(sshd.dir, `other_ca_${++n}`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
      const otherCa = fs.readFileSync(`${other}.pub`, 'utf8').split(/\s+/).slice(0, 2).join(' ');
      const file = knownHosts(`@cert-authority * ${otherCa}`, plainLine());
      const reference = ssh(file);
      assert.ok(reference.ok, reference.stderr);
      const { questions } = await tunnelCarriesData(server(file), echo.port);
      assert.deepEqual(questions, []);
    });

    it('a CA known_hosts does not trust and the plain key unknown: refused as unknown with StrictHostKeyChecking yes, saying why the certificate did not count', async () => {
      const other = path.join(sshd.dir, `other_ca_${++n}`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
      const otherCa = fs.readFileSync(`${other}.pub`, 'utf8').split(/\s+/).slice(0, 2).join(' ');
      const file = knownHosts(`@cert-authority * ${otherCa}`);
      assert.ok(!ssh(file).ok);
      const err = await refusal(server(file));
      assert.equal(err.code, 'HOST_KEY_UNKNOWN');
      assert.ok(/\(ssh-ed25519-cert\) is signed by a CA \(ssh-ed25519 SHA256:\S+\) that no @cert-authority line for \[127\.0\.0\.1\]:\d+ names\. The host key of .* is not in/.test(err.message), err.message);
    });
  });

  describe('host key algorithms offered', () => {
    it('with a @cert-authority line for the host, certificates first; HostKeyAlgorithms written as a list is kept as it is', () => {
      const file = knownHosts(caLine());
      const config = server(file);
      const offered = hostKeyAlgorithms(config, sshd.host, sshd.port)!;
      assert.equal(offered[0], 'ssh-ed25519-cert-v01@openssh.com');
      assert.ok(offered.indexOf('rsa-sha2-256-cert-v01@openssh.com') < offered.indexOf('ssh-ed25519'), offered.join(','));
      assert.equal(hostKeyAlgorithms(config, sshd.host, sshd.port + 1), undefined, 'another port: ssh2 defaults');
      const plus = { hostKeyAlgorithms: ['ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com', 'rsa-sha2-256'] };
      assert.deepEqual(hostKeyAlgorithms({ ...config, ...plus }, sshd.host, sshd.port), ['ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519', 'rsa-sha2-256']);
      assert.deepEqual(hostKeyAlgorithms({ ...config, ...plus, hostKeyAlgorithmsVerbatim: true }, sshd.host, sshd.port), plus.hostKeyAlgorithms);
    });

    it('HostKeyAlgorithms without certificates: the plain key is shown and must be known', async () => {
      const file = knownHosts(caLine());
      const err = await refusal(server(file, { hostKeyAlgorithms: ['ssh-ed25519'], hostKeyAlgorithmsVerbatim: true }));
      assert.equal(err.code, 'HOST_KEY_UNKNOWN');
    });
  });
});

describe('host certificates of ecdsa and rsa host keys', function () {
  this.timeout(60_000);
  for (const type of ['ecdsa', 'rsa'] as const) {
    it(`${type}: the certificate is negotiated and verified, and a tunnel carries data`, async () => {
      const sshd = await SshdFixture.start({ hostKeyType: type, hostCertificate: {} });
      const echo = await startEchoServer();
      try {
        const file = path.join(sshd.dir, 'known_hosts_ca');
        fs.writeFileSync(file, `@cert-authority [${sshd.host}]:${sshd.port} ${sshd.hostCaPublicKey()}\n`);
        const reference = spawnSync('ssh', ['-F', 'none', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${file}`,
          '-o', 'GlobalKnownHostsFile=/dev/null', '-i', sshd.clientKeyPath, '-p', String(sshd.port), `${sshd.user}@${sshd.host}`, 'true'], { encoding: 'utf8' });
        assert.equal(reference.status, 0, reference.stderr);
        const { log } = await tunnelCarriesData(sshd.server(`cert-${type}`, { userKnownHostsFile: file, globalKnownHostsFile: os.devNull }), echo.port);
        assert.ok(log.some((l) => l.includes(`(${type === 'rsa' ? 'ssh-rsa' : 'ecdsa-sha2-nistp256'}-cert) signed by the CA`)), log.join('\n'));
      } finally {
        await echo.close();
        await sshd.stop();
      }
    });
  }
});

describe('host certificates: rekeying, the system-wide known_hosts, and ssh-tunnels up', function () {
  this.timeout(90_000);
  let sshd: SshdFixture;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let home: CliHome;
  let pane: TmuxPane | undefined;

  before(async () => {
    await buildCli();
    sshd = await SshdFixture.start({ hostCertificate: { id: 'rekeyed-host' }, extraConfig: ['RekeyLimit 1M', 'LogLevel DEBUG1'] });
    echo = await startEchoServer();
    home = cliHome(sshd);
  });
  afterEach(() => {
    pane?.kill();
    pane = undefined;
  });
  after(async () => {
    home?.remove();
    await echo?.close();
    await sshd?.stop();
  });

  /** An ssh config with `alias`, its CA line in a GlobalKnownHostsFile and an empty user known_hosts; `ssh` connects first when `sshConnects`. */
  const configWith = (alias: string, caPattern: string, sshConnects: boolean): { config: string; user: string } => {
    const user = path.join(home.home, `${alias}.known_hosts`);
    const global = path.join(home.home, `${alias}.ssh_known_hosts`);
    fs.writeFileSync(user, '');
    fs.writeFileSync(global, `@cert-authority ${caPattern} ${sshd.hostCaPublicKey()}\n`);
    const config = path.join(home.home, `${alias}.config`);
    fs.writeFileSync(config, [...sshConfigHost(sshd, alias, { knownHosts: user, strict: true }), `  GlobalKnownHostsFile ${global}`, '  UpdateHostKeys no', ''].join('\n'));
    const ssh = spawnSync('ssh', ['-F', config, '-o', 'BatchMode=yes', alias, 'true'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(ssh.status === 0, sshConnects, `ssh -F ${config} ${alias}: ${ssh.stderr}`);
    return { config, user };
  };
  const up = (args: string[]) => `${[process.execPath, CLI, 'up', ...args].map((a) => `'${a}'`).join(' ')}; echo "EXIT=$?"; sleep 600`;

  it('a CA line in GlobalKnownHostsFile vouches; the key exchanges after the first (rekeys) show the certificate again and data arrives whole', async () => {
    const file = path.join(sshd.dir, 'global_ca');
    fs.writeFileSync(file, `@cert-authority * ${sshd.hostCaPublicKey()}\n`);
    const kexBefore = (sshd.output.match(/SSH2_MSG_KEXINIT received/g) ?? []).length;
    const server = sshd.server('rekeyed', { userKnownHostsFile: os.devNull, globalKnownHostsFile: file });
    const manager = new TunnelManager({ servers: staticServers(server), reconnect: { maxAttempts: 0 } });
    try {
      const info = await manager.createTunnel({ server: 'rekeyed', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
      const r = await echoRoundTrip(info.localPort, 4 * 1024 * 1024);
      assert.equal(r.received, r.sent);
    } finally {
      await manager.dispose();
    }
    const rekeys = (sshd.output.match(/SSH2_MSG_KEXINIT received/g) ?? []).length - kexBefore - 1;
    assert.ok(rekeys >= 3, `sshd rekeyed ${rekeys} times`);
  });

  it('through ssh-tunnels up: -L over a host certificate carries data, nothing asked or written', async () => {
    const { config, user } = configWith('hc-cli', `[${sshd.host}]:${sshd.port}`, true);
    pane = new TmuxPane(up(['-F', config, '--server', 'hc-cli', '-L', `0:127.0.0.1:${echo.port}`]), { cwd: home.home, env: home.env });
    const m = await pane.waitFor(/: open, listening on 127\.0\.0\.1:(\d+)/);
    const r = await echoRoundTrip(Number(m[1]), 10_000);
    assert.equal(r.received, r.sent);
    assert.equal(fs.readFileSync(user, 'utf8'), '');
  });

  it('through ssh-tunnels up: a certificate for other names is refused in the terminal, with the reason', async () => {
    sshd.certifyHost({ principals: ['web', 'api'] });
    await sshd.restart();
    try {
      const { config } = configWith('hc-cli-bad', '*', false);
      pane = new TmuxPane(up(['-F', config, '--server', 'hc-cli-bad', '-L', `0:127.0.0.1:${echo.port}`]), { cwd: home.home, env: home.env });
      await pane.waitFor(/EXIT=1/, 30_000);
      assert.match(pane.screen().replace(/\n/g, ''), /The host certificate of hc-cli-bad \(ssh-ed25519-cert\) is not valid for the name 127\.0\.0\.1: its principals are web, api\./);
    } finally {
      sshd.certifyHost({ id: 'rekeyed-host' });
      await sshd.restart();
    }
  });
});
