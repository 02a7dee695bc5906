// Logging in on Windows as ssh.exe does, each way with an sshd of its own that accepts only that
// way's key: the Windows OpenSSH agent's pipe (found with no setting at all), a Pageant-style pipe
// named by IdentityAgent, PuTTY keys of version 3 (Argon2, asked passphrase) and version 2, an
// ECDSA .ppk and an OpenSSH key file, written as Windows people write paths. One `up` opens a
// tunnel through each, from a workspace's settings; each carries data whose SHA-256 comes back whole.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, newKeyPair, SshdFixture } from '../fixtures/sshd';
import { echoRoundTrip, startEchoServer } from '../helpers/net';
import { agentKey, cli, fileMatches, HOME, onC, script, stopWindowsProcesses, WIN_USER, WinProcess, writeFile, z } from './wine';

const PASSPHRASE = 'pässphrase with spaces';
/** Pageant 0.75+ names its pipe for the user and a hash of a secret of the session. */
const PAGEANT_PIPE = `\\\\.\\pipe\\pageant.${WIN_USER}.${crypto.randomBytes(32).toString('hex')}`;

function puttygen(...args: string[]): string {
  return execFileSync('puttygen', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Way {
  name: string;
  /** The Host block's lines beside HostName, Port and User. */
  config: string[];
  /** Makes the key (files in the profile, or for an agent) and returns its authorized_keys line. */
  key(): string;
}

describe('Windows: logins through each agent pipe and each kind of key file', function () {
  this.timeout(90_000);
  stopWindowsProcesses('all');
  const work = path.join(HOME, 'ssh-tunnels-logins');
  const sshds = new Map<string, SshdFixture>();
  const ports = new Map<string, number>();
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let up: WinProcess;
  const agentLog = path.join(work, 'openssh-agent.log');
  const pageantLog = path.join(work, 'pageant.log');

  const ppk = (file: string, type: string[], params: string, passphrase: string) => {
    const base = path.join(work, `${path.basename(file)}.base`);
    fs.writeFileSync(path.join(work, 'empty'), '');
    fs.writeFileSync(path.join(work, 'secret'), passphrase);
    puttygen(...type, '-q', '-C', path.basename(file), '-o', base, '--new-passphrase', path.join(work, 'empty'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    puttygen(base, '-P', '-O', 'private', '-o', file, '--ppk-param', params, '--new-passphrase', path.join(work, passphrase ? 'secret' : 'empty'));
    return puttygen('-L', base);
  };

  const WAYS: Way[] = [
    {
      // Nothing configured, SSH_AUTH_SOCK unset: Windows' ssh.exe asks \\.\pipe\openssh-ssh-agent.
      name: 'winagent',
      config: [],
      key: () => agentKey(path.join(work, 'agent', 'ed25519.pem'), 'ed25519'),
    },
    {
      name: 'pageant',
      // As `pageant --openssh-config` writes it: ssh reads \\ in a config as one backslash.
      config: [`IdentityAgent "${PAGEANT_PIPE.replace(/\\/g, '/')}"`],
      key: () => agentKey(path.join(work, 'pageant', 'rsa.pem'), 'rsa'),
    },
    {
      name: 'ppk3',
      config: ['IdentityAgent none', 'IdentityFile %USERPROFILE%\\.ssh\\work.ppk'],
      key: () => ppk(path.join(HOME, '.ssh', 'work.ppk'), ['-t', 'ed25519'], 'version=3,kdf=argon2id,passes=2', PASSPHRASE),
    },
    {
      name: 'ppk2',
      config: ['IdentityAgent none', `IdentityFile ${onC(path.join(HOME, 'keys', 'legacy.ppk')).replace(/\\/g, '/')}`],
      key: () => ppk(path.join(HOME, 'keys', 'legacy.ppk'), ['-t', 'rsa', '-b', '2048'], 'version=2', ''),
    },
    {
      name: 'ecdsa',
      config: ['IdentityAgent none', 'IdentityFile ~\\.ssh\\ecdsa.ppk'],
      key: () => ppk(path.join(HOME, '.ssh', 'ecdsa.ppk'), ['-t', 'ecdsa', '-b', '256'], 'version=3', ''),
    },
    {
      name: 'openssh',
      config: ['IdentityAgent none', `IdentityFile "${onC(path.join(HOME, '.ssh', 'id_work'))}"`],
      key: () => fs.readFileSync(`${newKeyPair(path.join(HOME, '.ssh', 'id_work'), { type: 'rsa' })}.pub`, 'utf8'),
    },
  ];

  before(async () => {
    fs.mkdirSync(work, { recursive: true });
    echo = await startEchoServer();
    const knownHosts: string[] = [];
    const config: string[] = [];
    for (const way of WAYS) {
      const sshd = await SshdFixture.start();
      sshds.set(way.name, sshd);
      // Only this way's key gets in.
      fs.writeFileSync(path.join(sshd.dir, 'authorized_keys'), way.key());
      knownHosts.push(fs.readFileSync(sshd.knownHostsPath, 'utf8'));
      config.push(`Host ${way.name}`, '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  User ${sshd.user}`, ...way.config.map((l) => `  ${l}`), '');
      ports.set(way.name, await freePort());
    }
    writeFile(path.join(HOME, '.ssh', 'known_hosts'), knownHosts.join(''), { crlf: true });
    writeFile(path.join(HOME, '.ssh', 'config'), config.join('\n'), { crlf: true });
    const tunnels = WAYS.map((w) => ({ name: `via-${w.name}`, server: w.name, type: 'local', localPort: ports.get(w.name), remoteHost: '127.0.0.1', remotePort: echo.port, autoStart: true }));
    const folder = path.join(HOME, 'projects', 'shop');
    writeFile(path.join(folder, '.vscode', 'settings.json'), JSON.stringify({ 'sshTunnels.tunnels': tunnels }, null, 2), { crlf: true });

    // The stand-in agents, each on its pipe.
    new WinProcess([script('agent.cjs'), '\\\\.\\pipe\\openssh-ssh-agent', z(agentLog), z(path.join(work, 'agent', 'ed25519.pem'))]);
    new WinProcess([script('agent.cjs'), PAGEANT_PIPE, z(pageantLog), z(path.join(work, 'pageant', 'rsa.pem'))]);
    await fileMatches(agentLog, /listening on/);
    await fileMatches(pageantLog, /listening on/);

    const allow = cli(['allow', onC(folder)]);
    assert.equal(await allow.exited, 0, allow.text());
    up = cli(['up', '--workspace', onC(folder)], { input: `${PASSPHRASE}\n` });
  });
  after(async () => {
    for (const sshd of sshds.values()) await sshd.stop();
    await echo?.close();
    for (const p of [work, path.join(HOME, '.ssh'), path.join(HOME, 'keys'), path.join(HOME, 'projects')]) fs.rmSync(p, { recursive: true, force: true });
  });

  for (const way of WAYS) {
    it(`${way.name}: logs in (${way.config.join('; ') || 'no setting'}) and its tunnel carries 1 MiB intact`, async () => {
      await up.waitFor(new RegExp(`via-${way.name}: open, listening on 127\\.0\\.0\\.1:${ports.get(way.name)}`));
      const r = await echoRoundTrip(ports.get(way.name)!, 1024 * 1024);
      assert.equal(r.received, r.sent);
    });
  }

  it("the agents were asked: Windows' OpenSSH agent signed with ed25519, the Pageant pipe with RSA SHA-2", () => {
    assert.match(fs.readFileSync(agentLog, 'utf8'), /signed with ssh-ed25519/);
    assert.match(fs.readFileSync(pageantLog, 'utf8'), /signed with ssh-rsa \(flags [24]\)/);
  });

  it('the passphrase of the encrypted version 3 key was asked once, naming its file; the others asked nothing', () => {
    const asked = up.text().match(/Enter passphrase for key '([^']+)' \((\w+)\)/g) ?? [];
    assert.deepEqual(asked, [`Enter passphrase for key '${onC(path.join(HOME, '.ssh', 'work.ppk'))}' (ppk3)`]);
  });
});
