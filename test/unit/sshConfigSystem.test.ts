import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ServerRegistry } from '../../src/config/servers';
import { loadSshConfig, resolveHost } from '../../src/config/sshConfig';

describe('the system-wide ssh_config, read after the user\'s as ssh does', () => {
  let dir: string;
  let home: string;
  let system: string;
  const localUser = os.userInfo().username;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-system-'));
    home = path.join(dir, 'home');
    fs.mkdirSync(path.join(home, '.ssh'), { recursive: true });
    fs.writeFileSync(path.join(home, '.ssh', 'config'), 'Host a\n  User from-user\nHost *\n  ConnectTimeout 7\n');
    fs.mkdirSync(path.join(dir, 'etc', 'ssh_config.d'), { recursive: true });
    system = path.join(dir, 'etc', 'ssh_config');
    // A relative Include is under the system file's folder, not ~/.ssh.
    fs.writeFileSync(system, 'Include ssh_config.d/*.conf\nHost only-in-system\n  Port 2200\nHost *\n  User from-system\n  ConnectTimeout 9\n  HashKnownHosts yes\n');
    fs.writeFileSync(path.join(dir, 'etc', 'ssh_config.d', 'a.conf'), 'Host a\n  Port 2022\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("the user's values win; the system file fills the rest, Includes relative to its folder; its Hosts are not listed", () => {
    const loaded = loadSshConfig(path.join(home, '.ssh', 'config'), { home, localUser, systemConfig: system });
    assert.deepEqual(loaded.aliases, ['a']);
    assert.ok(loaded.files.includes(system), 'watched for changes too');
    const a = resolveHost(loaded, 'a').server;
    assert.equal(a.user, 'from-user');
    assert.equal(a.connectTimeout, 7);
    assert.equal(a.port, 2022);
    assert.equal(a.hashKnownHosts, true);
    assert.equal(resolveHost(loaded, 'only-in-system').server.port, 2200);
    assert.equal(resolveHost(loaded, 'b').server.user, 'from-system');
  });

  it('a missing system file is no problem', () => {
    const loaded = loadSshConfig(path.join(home, '.ssh', 'config'), { home, localUser, systemConfig: path.join(dir, 'nothing') });
    assert.deepEqual(loaded.warnings, []);
    assert.equal(resolveHost(loaded, 'b').server.user, undefined);
  });

  it('the registry reads it after ~/.ssh/config, but not after another file (as ssh -F)', () => {
    const own = new ServerRegistry({ env: { home, localUser }, systemConfigPath: system });
    assert.equal(own.get('a')?.hashKnownHosts, true);
    assert.equal(own.get('a')?.port, 2022);
    own.dispose();
    const other = path.join(dir, 'other_config');
    fs.copyFileSync(path.join(home, '.ssh', 'config'), other);
    const given = new ServerRegistry({ configPath: other, env: { home, localUser }, systemConfigPath: system });
    assert.equal(given.get('a')?.hashKnownHosts, undefined);
    assert.equal(given.get('a')?.port, undefined);
    given.dispose();
  });
});
