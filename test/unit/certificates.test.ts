import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateServerSettings } from '../../src/config/servers';
import { loadSshConfig, resolveHost } from '../../src/config/sshConfig';
import { TunnelError, TunnelManager, type ServerConfig } from '../../src/engine';
import { readCertificate } from '../../src/engine/wire/certificate';
import { certificateProblem } from '../../src/engine/login/userCertificate';
import { SshdFixture } from '../fixtures/sshd';
import { echoRoundTrip, startEchoServer, waitFor } from '../helpers/net';
import { buildCli, CLI, cliHome, type CliHome } from '../helpers/cli';
import { staticServers } from '../helpers/servers';
import { sshConfigHost } from '../helpers/sshConfigHost';
import { TmuxPane } from '../helpers/tmux';
import { startSshAgent, type SshAgent } from '../helpers/sshAgent';

const TYPES = [
  { type: 'ed25519', log: 'ED25519-CERT' },
  { type: 'ecdsa', log: 'ECDSA-CERT' },
  { type: 'rsa', log: 'RSA-CERT' },
] as const;

/** Opens a -L tunnel on `server` and sends data through it; resolves once the echo came back whole. */
async function tunnelCarriesData(server: ServerConfig, echoPort: number): Promise<void> {
  const manager = new TunnelManager({ servers: staticServers(server), reconnect: { maxAttempts: 0 } });
  try {
    const info = await manager.createTunnel({ server: server.host, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echoPort });
    const r = await echoRoundTrip(info.localPort, 100_000);
    assert.equal(r.received, r.sent);
  } finally {
    await manager.dispose();
  }
}

async function refusal(server: ServerConfig): Promise<string> {
  const manager = new TunnelManager({ servers: staticServers(server), reconnect: { maxAttempts: 0 } });
  try {
    await manager.connectServer(server.host);
  } catch (err) {
    assert.ok(err instanceof TunnelError, String(err));
    return err.message;
  } finally {
    await manager.dispose();
  }
  assert.fail('the login should have been refused');
}

describe('user certificates (OpenSSH CertificateFile and KEY-cert.pub)', function () {
  this.timeout(60_000);
  let sshd: SshdFixture;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let n = 0;

  /** A fresh key of `type` in the fixture's folder, not in authorized_keys: only a certificate lets it in. */
  const newKey = (type: string): string => {
    const file = path.join(sshd.dir, `id_${type}_${++n}`);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'cert-test', '-f', file]);
    return file;
  };

  before(async () => {
    // No ssh-rsa-cert (SHA-1): an RSA certificate gets in only with rsa-sha2-256/512-cert-v01@openssh.com.
    const algorithms = ['ssh-ed25519-cert-v01@openssh.com', 'ecdsa-sha2-nistp256-cert-v01@openssh.com', 'rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com', 'ssh-ed25519'];
    sshd = await SshdFixture.start({ userCa: true, extraConfig: [`PubkeyAcceptedAlgorithms ${algorithms.join(',')}`] });
    echo = await startEchoServer();
  });
  after(async () => {
    await echo?.close();
    await sshd?.stop();
  });

  for (const { type, log } of TYPES) {
    it(`${type}: a KEY-cert.pub beside the identity file is offered, as ssh does with no word in the config`, async () => {
      const key = newKey(type);
      const id = `beside-${type}`;
      sshd.certify(`${key}.pub`, { id });
      const ssh = sshd.sshLogin(['-i', key]);
      assert.ok(ssh.ok, `ssh logs in with the same files: ${ssh.stderr}`);
      await tunnelCarriesData(sshd.server(`beside-${type}`, { identityFile: key }), echo.port);
      await waitFor(() => new RegExp(`Accepted publickey for \\S+ from 127\\.0\\.0\\.1 port \\d+ ssh2: ${log} .*ID ${id} `).test(sshd.output) && sshd.output.split(`ID ${id} `).length > 2, 5000, `sshd logs two ${log} logins (ssh, then the engine)`);
    });

    it(`${type}: CertificateFile names a certificate kept elsewhere; it is signed with the identity file that holds its key`, async () => {
      const other = newKey('ed25519');
      const key = newKey(type);
      const id = `named-${type}`;
      const cert = sshd.certify(`${key}.pub`, { id, out: path.join(sshd.dir, `named-${type}.cert`) });
      const ssh = sshd.sshLogin(['-i', other, '-i', key, '-o', `CertificateFile=${cert}`]);
      assert.ok(ssh.ok, `ssh logs in with the same files: ${ssh.stderr}`);
      await tunnelCarriesData(sshd.server(`named-${type}`, { identityFile: [other, key], certificateFile: cert }), echo.port);
      await waitFor(() => sshd.output.split(`ID ${id} `).length > 2, 5000, `sshd logs two ${log} logins (ssh, then the engine)`);
    });
  }

  describe('refused certificates are named, with the reason', () => {
    it('expired', async () => {
      const key = newKey('ed25519');
      const cert = sshd.certify(`${key}.pub`, { validity: '20200101:20200102' });
      assert.equal(sshd.sshLogin(['-i', key]).ok, false, 'ssh is refused too');
      const message = await refusal(sshd.server('expired', { identityFile: key }));
      assert.match(message, new RegExp(`^Authentication as \\S+ on expired failed\\. Tried: key ${key}, certificate ${cert} expired at 2020-01-0[12] \\d\\d:\\d\\d UTC\\.$`));
    });

    it('not yet valid', async () => {
      const key = newKey('ecdsa');
      const cert = sshd.certify(`${key}.pub`, { validity: '+1d:+2d' });
      assert.equal(sshd.sshLogin(['-i', key]).ok, false, 'ssh is refused too');
      const message = await refusal(sshd.server('early', { identityFile: key }));
      assert.match(message, new RegExp(`Tried: key ${key}, certificate ${cert} is not valid until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\.$`));
    });

    it('for another user', async () => {
      const key = newKey('rsa');
      const cert = sshd.certify(`${key}.pub`, { principals: ['someone-else', 'and-another'] });
      assert.equal(sshd.sshLogin(['-i', key]).ok, false, 'ssh is refused too');
      const message = await refusal(sshd.server('other-user', { identityFile: key }));
      assert.match(message, new RegExp(`Tried: key ${key}, certificate ${cert} is not for user ${sshd.user} \\(its principals: someone-else, and-another\\)\\.$`));
    });

    it('a CertificateFile whose key is in no identity file', async () => {
      const key = newKey('ed25519');
      const stray = newKey('ed25519');
      const cert = sshd.certify(`${stray}.pub`, { out: path.join(sshd.dir, 'stray.cert') });
      assert.equal(sshd.sshLogin(['-i', key, '-o', `CertificateFile=${cert}`]).ok, false, 'ssh is refused too');
      const message = await refusal(sshd.server('stray', { identityFile: key, certificateFile: cert }));
      assert.match(message, new RegExp(`Tried: certificate ${cert} \\(its key is in none of the identity files \\(${key}\\)\\), key ${key}\\.$`));
    });

    it('a KEY-cert.pub that certifies another key', async () => {
      const key = newKey('ed25519');
      const stray = newKey('ed25519');
      const cert = sshd.certify(`${stray}.pub`, { out: `${key}-cert.pub` });
      const message = await refusal(sshd.server('swapped', { identityFile: key }));
      assert.match(message, new RegExp(`Tried: key ${key}, certificate ${cert} \\(it is not for key ${key}\\)\\.$`));
    });

    it('a CertificateFile that does not exist, or is not a certificate', async () => {
      const key = newKey('ed25519');
      const missing = path.join(sshd.dir, 'missing.cert');
      const message = await refusal(sshd.server('no-cert', { identityFile: key, certificateFile: [missing, `${key}.pub`] }));
      assert.match(message, new RegExp(`Tried: certificate ${missing} \\(no such file\\), certificate ${key}\\.pub cannot be read: it is not an OpenSSH certificate`));
    });
  });

  describe('reading a certificate (PROTOCOL.certkeys)', () => {
    it('a certificate with no -V is valid forever, and one with no principals is left to the server', () => {
      const key = newKey('ecdsa');
      const file = path.join(sshd.dir, 'forever-cert.pub');
      execFileSync('ssh-keygen', ['-q', '-s', sshd.userCaPath, '-I', 'forever', key + '.pub']);
      fs.renameSync(`${key}-cert.pub`, file);
      const cert = readCertificate(file);
      assert.equal(cert.type, 'ecdsa-sha2-nistp256-cert-v01@openssh.com');
      assert.equal(cert.keyId, 'forever');
      assert.deepEqual(cert.principals, []);
      assert.equal(cert.validBefore, 0xffffffffffffffffn);
      const pub = fs.readFileSync(`${key}.pub`, 'utf8').split(' ')[1];
      assert.deepEqual(cert.publicKey, Buffer.from(pub, 'base64'), 'the certified key, as a plain key blob');
      assert.equal(certificateProblem(cert, 'anyone', 10n ** 12n), undefined);
    });

    it('a host certificate is not a user certificate', () => {
      const key = newKey('ed25519');
      execFileSync('ssh-keygen', ['-q', '-s', sshd.userCaPath, '-I', 'host', '-h', '-n', 'example.org', key + '.pub']);
      const cert = readCertificate(`${key}-cert.pub`);
      assert.equal(certificateProblem(cert, 'anyone'), `certificate ${key}-cert.pub is a host certificate, not a user certificate`);
    });

    it('a damaged certificate says so, with its file', () => {
      const file = path.join(sshd.dir, 'damaged-cert.pub');
      const good = sshd.certify(`${newKey('ed25519')}.pub`);
      const [type, b64] = fs.readFileSync(good, 'utf8').split(' ');
      fs.writeFileSync(file, `${type} ${Buffer.from(b64, 'base64').subarray(0, 60).toString('base64')}\n`);
      assert.throws(() => readCertificate(file), { message: `certificate ${file} cannot be read: truncated` });
    });
  });

  describe('where certificates are named', () => {
    it('ssh_config: every CertificateFile line counts, tokens and ~ expanded as ssh expands them', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-certconfig-'));
      try {
        const config = path.join(dir, 'config');
        fs.writeFileSync(config, ['Host certs', '  HostName certs.example.org', '  User deploy', '  CertificateFile ~/.ssh/%r-cert.pub', '  CertificateFile /certs/%h/%n.pub', 'Host *', '  CertificateFile /certs/all.pub', ''].join('\n'));
        const run = spawnSync('ssh', ['-v', '-F', config, '-o', 'ProxyCommand=false', '-o', 'BatchMode=yes', 'certs', 'true'], { encoding: 'utf8', timeout: 10_000 });
        const theirs = [...run.stderr.matchAll(/^debug1: certificate file (.*) type -?\d+$/gm)].map((m) => m[1]);
        const home = os.userInfo().homedir;
        const ours = resolveHost(loadSshConfig(config, { home, localUser: os.userInfo().username }), 'certs').server.certificateFile;
        assert.deepEqual(ours, [`${home}/.ssh/deploy-cert.pub`, '/certs/certs.example.org/certs.pub', '/certs/all.pub']);
        assert.deepEqual(ours, theirs, 'the files ssh -v reads');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('sshTunnels.servers: certificateFile takes a path or a list of paths, and says so otherwise', () => {
      const ok = validateServerSettings([{ host: 'a', certificateFile: '~/.ssh/a-cert.pub' }, { host: 'b', certificateFile: ['/c/1.pub', '/c/2.pub'] }]);
      assert.deepEqual(ok.errors, []);
      assert.deepEqual(ok.servers.map((s) => s.certificateFile), ['~/.ssh/a-cert.pub', ['/c/1.pub', '/c/2.pub']]);
      const bad = validateServerSettings([{ host: 'c', certificateFile: 42 }]);
      assert.deepEqual(bad.errors, ['sshTunnels.servers[0] (c): certificateFile must be a path or a list of paths; got 42.']);
    });

    it('a certificateFile from the settings starting with ~ is read from the home directory', async () => {
      const key = newKey('ed25519');
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-certhome-'));
      const saved = process.env.HOME;
      try {
        sshd.certify(`${key}.pub`, { id: 'from-home', out: path.join(home, 'mine.cert') });
        process.env.HOME = home;
        await tunnelCarriesData(sshd.server('home-cert', { identityFile: key, certificateFile: '~/mine.cert' }), echo.port);
      } finally {
        if (saved === undefined) delete process.env.HOME;
        else process.env.HOME = saved;
        fs.rmSync(home, { recursive: true, force: true });
      }
      await waitFor(() => sshd.output.includes('ID from-home '), 5000, 'sshd logs the certificate login');
    });
  });

  describe('through ssh-tunnels up', () => {
    let home: CliHome;
    let pane: TmuxPane | undefined;
    before(async () => {
      await buildCli();
      home = cliHome(sshd);
    });
    afterEach(() => {
      pane?.kill();
      pane = undefined;
    });
    after(() => home?.remove());

    /** An ssh config with `alias` logging in with `key` and `cert` (CertificateFile), and `ssh` proving it first when `sshLogsIn`. */
    const configWith = (alias: string, key: string, cert: string, sshLogsIn: boolean): string => {
      const config = path.join(home.home, `${alias}.config`);
      // Not the fixture's own (authorized) key: only the certificate can let it in.
      const host = sshConfigHost(sshd, alias).filter((l) => !l.includes(sshd.clientKeyPath));
      fs.writeFileSync(config, [...host, `  IdentityFile ${key}`, `  CertificateFile ${cert}`, '  IdentitiesOnly yes', ''].join('\n'));
      const ssh = spawnSync('ssh', ['-F', config, '-o', 'BatchMode=yes', alias, 'true'], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(ssh.status === 0, sshLogsIn, `ssh -F ${config} ${alias}: ${ssh.stderr}`);
      return config;
    };
    const up = (args: string[]) => `${[process.execPath, CLI, 'up', ...args].map((a) => `'${a}'`).join(' ')}; echo "EXIT=$?"; sleep 600`;

    it('-L over a CertificateFile login carries data', async () => {
      const key = newKey('ecdsa');
      const cert = sshd.certify(`${key}.pub`, { id: 'cli-cert', out: path.join(sshd.dir, 'cli.cert') });
      const config = configWith('cert-cli', key, cert, true);
      pane = new TmuxPane(up(['-F', config, '--server', 'cert-cli', '-L', `0:127.0.0.1:${echo.port}`]), { cwd: home.home, env: home.env });
      const m = await pane.waitFor(/: open, listening on 127\.0\.0\.1:(\d+)/);
      const r = await echoRoundTrip(Number(m[1]), 10_000);
      assert.equal(r.received, r.sent);
      await waitFor(() => sshd.output.split('ID cli-cert ').length > 2, 5000, 'sshd logs the certificate logins of ssh and of the command');
    });

    it('an expired certificate is named in the terminal with the reason', async () => {
      const key = newKey('ed25519');
      const cert = sshd.certify(`${key}.pub`, { validity: '20200101:20200102', out: path.join(sshd.dir, 'cli-expired.cert') });
      const config = configWith('cert-expired', key, cert, false);
      pane = new TmuxPane(up(['-F', config, '--server', 'cert-expired', '-L', `0:127.0.0.1:${echo.port}`]), { cwd: home.home, env: home.env });
      await pane.waitFor(/EXIT=1/, 30_000);
      assert.match(pane.screen().replace(/\n/g, ''), new RegExp(`certificate ${cert} expired at 2020-01-0[12] \\d\\d:\\d\\d UTC`));
    });
  });

  describe('held by ssh-agent (ssh-add adds the key and its certificate)', () => {
    let agent: SshAgent;
    let socket: string;
    before(async () => {
      agent = await startSshAgent(sshd.dir);
      socket = agent.socket;
    });
    after(() => {
      agent?.stop();
    });
    /** Empties the agent, then adds `key` (and the KEY-cert.pub beside it) as ssh-add does. */
    const add = (key: string) => {
      agent.add('-D');
      agent.add(key);
      assert.match(agent.add('-L'), /-cert-v01@openssh\.com /, 'the agent holds the certificate');
    };

    for (const { type, log } of TYPES) {
      it(`${type}: the agent's certificate logs in (the agent signs with the certificate as the key)`, async () => {
        const key = newKey(type);
        const id = `agent-${type}`;
        sshd.certify(`${key}.pub`, { id });
        add(key);
        fs.rmSync(key); // only the agent has the key now
        const ssh = spawnSync('ssh', ['-F', 'none', '-o', 'BatchMode=yes', '-o', `IdentityAgent=${socket}`, '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-p', String(sshd.port), `${sshd.user}@${sshd.host}`, 'true'], { encoding: 'utf8', timeout: 20_000 });
        assert.equal(ssh.status, 0, `ssh logs in through the agent: ${ssh.stderr}`);
        const noKey = path.join(sshd.dir, 'no-such-key');
        await tunnelCarriesData(sshd.server(`agent-${type}`, { identityFile: noKey, identityAgent: socket }), echo.port);
        await waitFor(() => new RegExp(`ssh2: ${log} .*ID ${id} `).test(sshd.output) && sshd.output.split(`ID ${id} `).length > 2, 5000, `sshd logs two ${log} logins (ssh, then the engine)`);
      });
    }

    it("an expired certificate in the agent is named, and the agent's plain key is still tried", async () => {
      const key = newKey('ed25519');
      sshd.certify(`${key}.pub`, { validity: '20200101:20200102' });
      add(key);
      const message = await refusal(sshd.server('agent-expired', { identityFile: path.join(sshd.dir, 'no-such-key'), identityAgent: socket }));
      assert.match(message, /Tried: ssh-agent, certificate in the agent \(cert-test\) expired at 2020-01-0[12] \d\d:\d\d UTC, key \S+no-such-key \(unreadable: /);
      await waitFor(() => /Failed publickey for \S+ from 127\.0\.0\.1 port \d+ ssh2: ED25519 /.test(sshd.output), 5000, 'the plain key from the agent was offered and refused');
    });
  });
});
