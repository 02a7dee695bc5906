// A server typed as ssh takes it: `[user@]host[:port]`, `[v6]:port`, `ssh://…`, and what the
// registry makes of it (a Host block's or `Host *`'s settings, the typed user and port on top).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ServerRegistry } from '../../src/config/servers';
import { parseSshTarget } from '../../src/engine';

describe('config: servers typed as ssh takes them', () => {
  it('parses [user@]host[:port], bracketed and bare IPv6, ssh:// URIs, and says what is wrong', () => {
    assert.deepEqual(parseSshTarget('db'), { host: 'db' });
    assert.deepEqual(parseSshTarget('root@127.0.0.1:51163'), { user: 'root', host: '127.0.0.1', port: 51163 });
    assert.deepEqual(parseSshTarget('me@corp@bastion'), { user: 'me@corp', host: 'bastion' });
    assert.deepEqual(parseSshTarget('[::1]:2222'), { host: '::1', port: 2222 });
    assert.deepEqual(parseSshTarget('fe80::1'), { host: 'fe80::1' });
    assert.deepEqual(parseSshTarget('ssh://admin@web.example:22/'), { user: 'admin', host: 'web.example', port: 22 });
    assert.match((parseSshTarget('db:0') as { error: string }).error, /port "0" must be a number from 1 to 65535/);
    assert.match((parseSshTarget('db:http') as { error: string }).error, /port "http"/);
    assert.match((parseSshTarget('@db') as { error: string }).error, /empty user name/);
    assert.match((parseSshTarget('a b') as { error: string }).error, /is not a host name/);
  });

  it('addTarget applies the ssh config to the host part (an alias, or Host patterns and Host *), with the typed user and port winning', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-target-'));
    try {
      const config = path.join(dir, 'config');
      fs.writeFileSync(config, ['Host db', '  HostName 10.0.0.5', '  User app', '  Port 2200', 'Host *.corp', '  User corp', 'Host *', '  IdentityFile ~/.ssh/shared', '  ConnectTimeout 7', ''].join('\n'));
      const servers = new ServerRegistry({ configPath: config, env: { home: dir } });
      try {
        assert.equal(servers.get('root@db:22'), undefined, 'not known before it is added');
        const alias = servers.addTarget('root@db:22');
        assert.ok(!('error' in alias));
        assert.equal(alias.alias, 'root@db:22', 'named as typed');
        assert.equal(alias.hostName, '10.0.0.5');
        assert.equal(alias.user, 'root');
        assert.equal(alias.port, 22);
        assert.deepEqual(servers.get('root@db:22'), alias, 'found by the typed name from now on');

        const pattern = servers.addTarget('web.corp');
        assert.ok(!('error' in pattern));
        assert.equal(pattern.hostName, 'web.corp');
        assert.equal(pattern.user, 'corp');
        assert.deepEqual(pattern.identityFile, [path.join(dir, '.ssh', 'shared')]);
        assert.equal(pattern.connectTimeout, 7);

        const plain = servers.addTarget('127.0.0.1');
        assert.ok(!('error' in plain));
        assert.equal(plain.hostName, '127.0.0.1');
        assert.equal(plain.port, undefined);
        assert.equal(plain.connectTimeout, 7, 'Host * applies to any host');

        assert.deepEqual(servers.addTarget('db:99999'), { error: '"db:99999": the port "99999" must be a number from 1 to 65535.' });
      } finally {
        servers.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
