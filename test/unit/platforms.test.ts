import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultSshConfigPath } from '../../src/config/servers';
import { loadSshConfig, resolveHost, type SshConfigEnv } from '../../src/config/sshConfig';
import { defaultSystemSshConfigPath } from '../../src/config/sshConfigLoad';
import { endCommandTree, expandUserPath, shellCommand, systemSshDir, treeKillCommand, userSshDir } from '../../src/engine';
import { defaultGlobalKnownHostsFiles, defaultKnownHostsFiles, parseKnownHosts } from '../../src/engine/hostkeys/knownHosts';
import { RememberedSecrets, unlockKey } from '../../src/engine/login/rememberedSecrets';

const WIN_HOME = 'C:\\Users\\alice';
const WIN_VARS = { USERPROFILE: WIN_HOME, ProgramData: 'D:\\ProgramData', SystemRoot: 'C:\\Windows', ComSpec: 'C:\\Windows\\system32\\cmd.exe' };
const MAC_HOME = '/Users/alice';

describe('paths and ssh places as ssh has them on Windows, macOS and Linux', () => {
  it('paths as Windows people write them: ~\\, %USERPROFILE% and other %VAR% (any case), drive letters, forward slashes', () => {
    const win = (p: string) => expandUserPath(p, WIN_HOME, { platform: 'win32', env: WIN_VARS });
    assert.equal(win('~\\.ssh\\id_ed25519'), 'C:\\Users\\alice\\.ssh\\id_ed25519');
    assert.equal(win('~/.ssh/id_ed25519'), 'C:\\Users\\alice\\.ssh\\id_ed25519');
    assert.equal(win('~'), WIN_HOME);
    assert.equal(win('%USERPROFILE%\\.ssh\\work.ppk'), 'C:\\Users\\alice\\.ssh\\work.ppk');
    assert.equal(win('%userprofile%/.ssh/work.ppk'), 'C:\\Users\\alice/.ssh/work.ppk', 'Windows takes either slash; the name in any case');
    assert.equal(win('%PROGRAMDATA%\\ssh\\ssh_known_hosts'), 'D:\\ProgramData\\ssh\\ssh_known_hosts');
    assert.equal(win('C:/keys/id_rsa'), 'C:/keys/id_rsa');
    assert.equal(win('%NOT_SET%\\x'), '%NOT_SET%\\x', 'an unset variable stays as written');
    assert.equal(win('%d\\.ssh\\%r%h'), '%d\\.ssh\\%r%h', "ssh's one-letter tokens are not variables");
    // Elsewhere %…% means nothing and ~\ is not a home folder.
    for (const platform of ['linux', 'darwin'] as const) {
      assert.equal(expandUserPath('%USERPROFILE%/x', MAC_HOME, { platform, env: WIN_VARS }), '%USERPROFILE%/x');
      assert.equal(expandUserPath('~\\x', MAC_HOME, { platform }), '~\\x');
      assert.equal(expandUserPath('~/.ssh/id', MAC_HOME, { platform }), '/Users/alice/.ssh/id');
    }
  });

  it("the user's and the system's ssh files where each platform's ssh keeps them", () => {
    assert.equal(userSshDir(WIN_HOME, 'win32'), 'C:\\Users\\alice\\.ssh');
    assert.equal(defaultSshConfigPath(WIN_HOME, 'win32'), 'C:\\Users\\alice\\.ssh\\config');
    assert.deepEqual(defaultKnownHostsFiles(WIN_HOME, 'win32'), ['C:\\Users\\alice\\.ssh\\known_hosts', 'C:\\Users\\alice\\.ssh\\known_hosts2']);
    assert.equal(systemSshDir({ platform: 'win32', env: WIN_VARS }), 'D:\\ProgramData\\ssh');
    assert.equal(systemSshDir({ platform: 'win32', env: {} }), 'C:\\ProgramData\\ssh');
    assert.equal(defaultSystemSshConfigPath({ platform: 'win32', env: WIN_VARS }), 'D:\\ProgramData\\ssh\\ssh_config');
    assert.deepEqual(defaultGlobalKnownHostsFiles({ platform: 'win32', env: WIN_VARS }), ['D:\\ProgramData\\ssh\\ssh_known_hosts', 'D:\\ProgramData\\ssh\\ssh_known_hosts2']);
    for (const platform of ['linux', 'darwin'] as const) {
      assert.equal(defaultSshConfigPath(MAC_HOME, platform), '/Users/alice/.ssh/config');
      assert.deepEqual(defaultKnownHostsFiles(MAC_HOME, platform), ['/Users/alice/.ssh/known_hosts', '/Users/alice/.ssh/known_hosts2']);
      assert.equal(defaultSystemSshConfigPath({ platform, env: WIN_VARS }), '/etc/ssh/ssh_config');
      assert.deepEqual(defaultGlobalKnownHostsFiles({ platform }), ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);
    }
  });

  it('ProxyCommand and Match exec: $SHELL -c on Linux and macOS, %ComSpec% /d /s /c on Windows, ended with their children', () => {
    assert.deepEqual(shellCommand('nc %h %p', { platform: 'linux', env: { SHELL: '/bin/zsh' }, replace: true }), { file: '/bin/zsh', args: ['-c', 'exec nc %h %p'] });
    assert.deepEqual(shellCommand('test -f x', { platform: 'darwin', env: {} }), { file: '/bin/sh', args: ['-c', 'test -f x'] });
    assert.deepEqual(shellCommand('ncat.exe --proxy p:8080 host 22', { platform: 'win32', env: WIN_VARS, replace: true }), {
      file: 'C:\\Windows\\system32\\cmd.exe',
      args: ['/d', '/s', '/c', '"ncat.exe --proxy p:8080 host 22"'],
      windowsVerbatimArguments: true,
    });
    assert.equal(shellCommand('x', { platform: 'win32', env: {} }).file, 'cmd.exe');
    assert.deepEqual(treeKillCommand(4242, 'win32'), { file: 'taskkill', args: ['/pid', '4242', '/T', '/F'] });
    assert.equal(treeKillCommand(4242, 'linux'), undefined);
    assert.equal(treeKillCommand(4242, 'darwin'), undefined);
    // Off Windows the caller's signal ends it: nothing is spawned, and the command still runs.
    const child = spawn('sleep', ['5'], { stdio: 'ignore' });
    try {
      assert.equal(endCommandTree(child, 'linux'), false);
      assert.equal(child.exitCode, null);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a known_hosts file saved with a byte-order mark (Notepad) still matches its first host', () => {
    const [entry] = parseKnownHosts('\uFEFFgit.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\r\n', 'known_hosts');
    assert.equal(entry.hosts, 'git.example.com');
  });
});

describe('an ssh config read as each platform reads it', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-platforms-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function read(text: string, env: SshConfigEnv, alias = 'box') {
    const file = path.join(dir, 'config');
    fs.writeFileSync(file, text);
    const config = loadSshConfig(file, env);
    return { config, host: resolveHost(config, alias) };
  }

  it('Windows: CRLF lines, a byte-order mark, ~\\ and %USERPROFILE% paths, the pipe of an agent', () => {
    const text = [
      '\uFEFFHost box',
      '  HostName 10.1.2.3',
      '  IdentityFile ~\\.ssh\\id_ed25519',
      '  IdentityFile %USERPROFILE%\\.ssh\\work.ppk',
      '  CertificateFile ${USERPROFILE}/.ssh/work-cert.pub',
      '  UserKnownHostsFile C:/Users/alice/.ssh/known_hosts',
      '  IdentityAgent //./pipe/openssh-ssh-agent',
      '',
    ].join('\r\n');
    const { config, host } = read(text, { home: WIN_HOME, platform: 'win32', vars: WIN_VARS, localUser: 'alice' });
    assert.deepEqual(config.warnings, []);
    assert.equal(host.server.hostName, '10.1.2.3');
    assert.deepEqual(host.server.identityFile, ['C:\\Users\\alice\\.ssh\\id_ed25519', 'C:\\Users\\alice\\.ssh\\work.ppk']);
    assert.deepEqual(host.server.certificateFile, ['C:\\Users\\alice/.ssh/work-cert.pub']);
    assert.deepEqual(host.server.userKnownHostsFile, ['C:/Users/alice/.ssh/known_hosts']);
    assert.equal(host.server.identityAgent, '//./pipe/openssh-ssh-agent');
  });

  it('CRLF lines read the same on Linux (a config copied from Windows)', () => {
    const { config, host } = read('Host box\r\n  User deploy\r\n  Port 2222\r\n', { home: '/home/alice', platform: 'linux', localUser: 'alice' });
    assert.deepEqual(config.warnings, []);
    assert.equal(host.server.user, 'deploy');
    assert.equal(host.server.port, 2222);
  });

  it("UseKeychain: read without a warning on macOS; elsewhere an unknown keyword, quiet under IgnoreUnknown (GitHub's setup)", () => {
    const plain = 'Host box\n  UseKeychain yes\n  AddKeysToAgent yes\n';
    const ignored = 'Host *\n  IgnoreUnknown UseKeychain\nHost box\n  UseKeychain yes\n';
    const mac = read(plain, { home: MAC_HOME, platform: 'darwin', localUser: 'alice' });
    assert.deepEqual(mac.config.warnings, []);
    assert.equal(mac.host.server.useKeychain, true);
    assert.equal(read(ignored, { home: MAC_HOME, platform: 'darwin', localUser: 'alice' }).host.server.useKeychain, true);
    assert.equal(read('Host box\n  UseKeychain maybe\n', { home: MAC_HOME, platform: 'darwin', localUser: 'alice' }).host.warnings[0]?.includes('UseKeychain "maybe" for box must be yes or no'), true);
    for (const platform of ['linux', 'win32'] as const) {
      const loose = read(plain, { home: '/home/alice', platform, localUser: 'alice' });
      assert.equal(loose.config.warnings.length, 1, platform);
      assert.match(loose.config.warnings[0], /config:2: unknown keyword UseKeychain; ignored\./);
      assert.equal(loose.host.server.useKeychain, undefined);
      const quiet = read(ignored, { home: '/home/alice', platform, localUser: 'alice' });
      assert.deepEqual(quiet.config.warnings, [], platform);
      assert.equal(quiet.host.server.useKeychain, undefined);
    }
  });

  it("macOS: IdentityAgent paths with spaces (1Password's agent), quoted or escaped as ssh takes them", () => {
    const onePassword = '/Users/alice/Library/Group Containers/2BUA8C4S2C.com.1password/t/agent.sock';
    for (const written of ['"~/Library/Group Containers/2BUA8C4S2C.com.1password/t/agent.sock"', '~/Library/Group\\ Containers/2BUA8C4S2C.com.1password/t/agent.sock']) {
      const { config, host } = read(`Host box\n  IdentityAgent ${written}\n`, { home: MAC_HOME, platform: 'darwin', localUser: 'alice' });
      assert.deepEqual(config.warnings, []);
      assert.equal(host.server.identityAgent, onePassword, written);
    }
    const fromVar = read('Host box\n  IdentityAgent $OP_AGENT\n', { home: MAC_HOME, platform: 'darwin', vars: { OP_AGENT: onePassword }, localUser: 'alice' });
    assert.equal(fromVar.host.server.identityAgent, onePassword);
  });
});

describe('macOS: a key whose passphrase lives in the Keychain', function () {
  this.timeout(30_000);
  let dir: string;
  let locked: Buffer;
  const keyPath = () => path.join(dir, 'id_ed25519');
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-keychain-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'in the keychain', '-f', keyPath()]);
    locked = fs.readFileSync(keyPath());
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('with UseKeychain yes on macOS the passphrase question comes with the ssh-add --apple-load-keychain hint', async () => {
    const notes: (string | undefined)[] = [];
    const key = await unlockKey(locked, { alias: 'mac', useKeychain: true }, keyPath(), {
      passphrase: async (_server, _key, note) => {
        notes.push(note);
        return 'in the keychain';
      },
    }, new RememberedSecrets(), 'darwin');
    assert.equal(typeof key, 'object');
    assert.deepEqual(notes, [`The passphrase of ${keyPath()} may be in your macOS Keychain (UseKeychain yes): run ssh-add --apple-load-keychain in a terminal to load the key into ssh-agent, or type the passphrase here.`]);
  });

  it('where nothing can ask (MCP), the refusal says to run ssh-add --apple-load-keychain', async () => {
    const why = await unlockKey(locked, { alias: 'mac', useKeychain: true }, keyPath(), undefined, new RememberedSecrets(), 'darwin');
    assert.equal(why, 'needs a passphrase, which may be in your macOS Keychain: run ssh-add --apple-load-keychain to load the key into ssh-agent');
  });

  it('without UseKeychain, or off macOS, nothing changes', async () => {
    for (const [server, platform] of [[{ alias: 'mac' }, 'darwin'], [{ alias: 'linux', useKeychain: true }, 'linux']] as const) {
      const notes: (string | undefined)[] = [];
      await unlockKey(locked, server, keyPath(), { passphrase: async (_s, _k, note) => (notes.push(note), 'in the keychain') }, new RememberedSecrets(), platform);
      assert.deepEqual(notes, [undefined]);
      assert.equal(await unlockKey(locked, server, keyPath(), undefined, new RememberedSecrets(), platform), 'needs a passphrase and nothing can ask for it');
    }
  });
});
