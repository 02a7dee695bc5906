import * as assert from 'node:assert/strict';
import { parseDestination, parseForward, type ParsedForward } from '../../src/config/forwardSpec';

function ok(input: string, type?: ParsedForward['type']): ParsedForward {
  const result = parseForward(input, type);
  if (!result.ok) assert.fail(`${input}: ${result.error}`);
  return result.forward;
}

function error(input: string, type?: ParsedForward['type']): string {
  const result = parseForward(input, type);
  assert.equal(result.ok, false, `${input} should be refused`);
  return (result as { error: string }).error;
}

describe('parseForward (OpenSSH forward notation)', () => {
  it('reads a bare port:host:hostport as a local forward', () => {
    assert.deepEqual(ok('8080:localhost:80'), { type: 'local', localHost: undefined, localPort: 8080, remoteHost: 'localhost', remotePort: 80 });
  });

  it('reads -L with and without a space, and with a bind address', () => {
    assert.deepEqual(ok('-L 8080:db:5432'), { type: 'local', localHost: undefined, localPort: 8080, remoteHost: 'db', remotePort: 5432 });
    assert.deepEqual(ok('-L8080:db:5432'), ok('-L 8080:db:5432'));
    assert.deepEqual(ok('ssh -L 127.0.0.1:5432:db:5432'), { type: 'local', localHost: '127.0.0.1', localPort: 5432, remoteHost: 'db', remotePort: 5432 });
  });

  it('reads -R as: the server listens on port, connections reach host:hostport here', () => {
    assert.deepEqual(ok('-R 9000:localhost:3000'), { type: 'remote', localHost: 'localhost', localPort: 3000, remoteHost: '127.0.0.1', remotePort: 9000 });
    assert.deepEqual(ok('0.0.0.0:9000:127.0.0.1:3000', 'remote'), { type: 'remote', localHost: '127.0.0.1', localPort: 3000, remoteHost: '0.0.0.0', remotePort: 9000 });
  });

  it('reads -D with an optional bind address', () => {
    assert.deepEqual(ok('-D 1080'), { type: 'dynamic', localPort: 1080 });
    assert.deepEqual(ok('127.0.0.1:1080', 'dynamic'), { type: 'dynamic', localHost: '127.0.0.1', localPort: 1080 });
  });

  it('lets a flag override the chosen type', () => {
    assert.equal(ok('-D 1080', 'local').type, 'dynamic');
  });

  it('accepts IPv6 addresses in brackets', () => {
    assert.deepEqual(ok('[::1]:8080:[fd00::5]:80'), { type: 'local', localHost: '::1', localPort: 8080, remoteHost: 'fd00::5', remotePort: 80 });
  });

  it('accepts local port 0 (any free port) but never target port 0', () => {
    assert.equal(ok('0:db:5432').localPort, 0);
    assert.match(error('8080:db:0'), /target port must be from 1 to 65535/);
  });

  it('refuses bad input with a message that shows the expected form', () => {
    assert.match(error(''), /Type a forward/);
    assert.match(error('8080'), /local \(-L\) forward is \[bind_address:\]port:host:hostport/);
    assert.match(error('70000:db:80'), /local port must be from 0 to 65535; got 70000/);
    assert.match(error('abc:db:80'), /local port must be a number/);
    assert.match(error('1:2:3', 'dynamic'), /SOCKS \(-D\) forward is \[bind_address:\]port/);
    assert.match(error('-L 8080:db :80'), /without spaces/);
    assert.match(error('[::1:8080:db:80'), /Unbalanced brackets/);
    assert.match(error('8080::80'), /target host must be a host name/);
  });
});

describe('parseForward: Unix sockets and the reverse SOCKS proxy, as OpenSSH reads them', () => {
  it('-L with a socket on either side', () => {
    assert.deepEqual(ok('-L 2375:/var/run/docker.sock'), { type: 'local', localHost: undefined, localPort: 2375, remotePath: '/var/run/docker.sock' });
    assert.deepEqual(ok('-L 127.0.0.1:2375:/var/run/docker.sock'), { type: 'local', localHost: '127.0.0.1', localPort: 2375, remotePath: '/var/run/docker.sock' });
    assert.deepEqual(ok('/tmp/db.sock:db:5432'), { type: 'local', localPort: 0, localPath: '/tmp/db.sock', remoteHost: 'db', remotePort: 5432 });
    assert.deepEqual(ok('-L /tmp/docker.sock:/var/run/docker.sock'), { type: 'local', localPort: 0, localPath: '/tmp/docker.sock', remotePath: '/var/run/docker.sock' });
    assert.deepEqual(ok('-L ~/d.sock:/run/d.sock'), { type: 'local', localPort: 0, localPath: '~/d.sock', remotePath: '/run/d.sock' });
  });

  it('-R mirrors them: the first socket or port is the server side', () => {
    assert.deepEqual(ok('-R /tmp/app.sock:localhost:3000'), { type: 'remote', localHost: 'localhost', localPort: 3000, remotePath: '/tmp/app.sock' });
    assert.deepEqual(ok('-R 9000:/run/app.sock'), { type: 'remote', localPort: 0, localPath: '/run/app.sock', remoteHost: '127.0.0.1', remotePort: 9000 });
    assert.deepEqual(ok('-R 0.0.0.0:9000:/run/app.sock'), { type: 'remote', localPort: 0, localPath: '/run/app.sock', remoteHost: '0.0.0.0', remotePort: 9000 });
    assert.deepEqual(ok('-R /srv/a.sock:/run/b.sock'), { type: 'remote', localPort: 0, localPath: '/run/b.sock', remotePath: '/srv/a.sock' });
    // On the server a relative socket path is the server's business (sshd resolves it).
    assert.equal(ok('-R run/a.sock:localhost:80').remotePath, 'run/a.sock');
  });

  it('-R [bind:]port alone is a SOCKS proxy on the server', () => {
    assert.deepEqual(ok('-R 1080'), { type: 'remote', localPort: 0, remoteHost: '127.0.0.1', remotePort: 1080, socks: true });
    assert.deepEqual(ok('-R 0.0.0.0:1080'), { type: 'remote', localPort: 0, remoteHost: '0.0.0.0', remotePort: 1080, socks: true });
    assert.deepEqual(ok('[::1]:1080', 'remote'), { type: 'remote', localPort: 0, remoteHost: '::1', remotePort: 1080, socks: true });
    assert.deepEqual(ok('0', 'remote'), { type: 'remote', localPort: 0, remoteHost: '127.0.0.1', remotePort: 0, socks: true });
  });

  it('brackets and backslashes keep a ":" inside a path, as in OpenSSH', () => {
    assert.equal(ok('2375:[/run/a:b.sock]').remotePath, '/run/a:b.sock');
    assert.equal(ok('2375:/run/a\\:b.sock').remotePath, '/run/a:b.sock');
  });

  it('refuses what OpenSSH refuses, saying what would work', () => {
    assert.match(error('relative.sock/x:db:80'), /local socket path must be an absolute path/);
    assert.match(error('-L /tmp/a.sock:8080'), /local \(-L\) forward is .*port:\/remote\.sock/);
    assert.match(error('-D /tmp/socks.sock'), /socket path is not supported/);
    assert.match(error('-R 70000'), /server port must be from 0 to 65535; got 70000/);
    assert.match(error('-R /tmp/a.sock'), /remote \(-R\) forward is/);
    assert.match(error('-L 8080:/run/x.sock:80'), /target host must be a host name or address; got "\/run\/x\.sock"/);
    assert.match(error('-L 2375:/var/run/docker.sock\\'), /A trailing \\ in .* escapes nothing/);
    assert.match(error('[/run/a.sock]x:db:80'), /Unbalanced brackets/);
  });
});

describe('parseDestination ([user@]host[:port], the add-server box)', () => {
  it('reads host, user and port as ssh takes them', () => {
    assert.deepEqual(parseDestination('bastion.example.com'), { user: undefined, hostName: 'bastion.example.com', port: undefined });
    assert.deepEqual(parseDestination(' deploy@10.0.0.5:2222 '), { user: 'deploy', hostName: '10.0.0.5', port: 2222 });
    assert.deepEqual(parseDestination('me@[fd00::1]:22'), { user: 'me', hostName: 'fd00::1', port: 22 });
    // As ssh (and `ssh-tunnels up --server`): the last @ ends the user name.
    assert.deepEqual(parseDestination('me@corp@bastion'), { user: 'me@corp', hostName: 'bastion', port: undefined });
  });

  it('refuses what ssh would not take', () => {
    for (const bad of ['', 'a b', 'host:0', 'host:70000', 'host:port', '@host', 'me@']) assert.equal(parseDestination(bad), undefined, bad);
  });
});
