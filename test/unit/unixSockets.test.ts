import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveSpec, TunnelError, TunnelManager } from '../../src/engine';
import { checkLocalPathSupported } from '../../src/engine/forwards/spec';
import { freePort, SshdFixture } from '../fixtures/sshd';
import { curl } from '../helpers/curl';
import { waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';

/** An HTTP server answering `<name> <method> <url>`, on a TCP port or a Unix socket. */
async function startHttp(name: string, where: { path: string } | { port: 0; host: string }): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => res.end(`${name} ${req.method} ${req.url}`));
  await new Promise<void>((resolve) => server.listen(where, resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A socket file left behind by a process that died without removing it. */
function staleSocket(file: string): void {
  execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', file]);
}

describe('Unix-domain socket forwards through a real sshd', function () {
  this.timeout(60_000);
  let sshd: SshdFixture;
  let dir: string;
  let tcpHttp: Awaited<ReturnType<typeof startHttp>>;
  let unixHttp: Awaited<ReturnType<typeof startHttp>>;
  let unixHttpPath: string;
  let manager: TunnelManager;

  before(async () => {
    sshd = await SshdFixture.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-unix-'));
    tcpHttp = await startHttp('tcp-service', { port: 0, host: '127.0.0.1' });
    unixHttpPath = path.join(dir, 'docker.sock');
    unixHttp = await startHttp('unix-service', { path: unixHttpPath });
  });
  after(async () => {
    await Promise.all([tcpHttp?.close(), unixHttp?.close()]);
    await sshd?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    manager = new TunnelManager({ servers: staticServers(sshd.server('test'), sshd.server('unlinking', { streamLocalBindUnlink: true })), reconnect: { baseDelayMs: 200, maxDelayMs: 2000 } });
  });
  afterEach(async () => {
    await manager.dispose();
  });

  it('-L /local.sock:host:port: a socket file, owner-only, reached with curl --unix-socket; gone after close', async () => {
    const local = path.join(dir, 'local.sock');
    const info = await manager.createTunnel({ server: 'test', type: 'local', localPath: local, localPort: 0, remoteHost: '127.0.0.1', remotePort: tcpHttp.port });
    assert.equal(info.localPath, local);
    assert.equal(info.name, `L ${local} → 127.0.0.1:${tcpHttp.port}`);
    const stat = fs.statSync(local);
    assert.ok(stat.isSocket());
    assert.equal(stat.mode & 0o777, 0o600, `mode ${(stat.mode & 0o777).toString(8)}`);
    assert.equal(await curl('--unix-socket', local, 'http://localhost/a'), 'tcp-service GET /a');
    await waitFor(() => manager.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'connection released');
    const stats = manager.getTunnel(info.id)!.stats;
    assert.equal(stats.connectionsTotal, 1);
    assert.ok(stats.bytesIn > 0 && stats.bytesOut > 0, JSON.stringify(stats));
    await manager.closeTunnel(info.id);
    assert.ok(!fs.existsSync(local), 'the socket file is removed on close');
  });

  it('-L /local.sock: a refused target closes that connection (a socket file has no reset); during an outage connections wait', async () => {
    const local = path.join(dir, 'refused.sock');
    const closedPort = await freePort();
    const info = await manager.createTunnel({ server: 'test', type: 'local', localPath: local, localPort: 0, remoteHost: '127.0.0.1', remotePort: closedPort });
    // Closed as soon as the server refuses: curl may see that even before its connect() returns ("Couldn't connect").
    await assert.rejects(curl('--unix-socket', local, 'http://localhost/'), /Empty reply|Recv failure|reset|closed|Couldn't connect/i);
    await waitFor(() => manager.getTunnel(info.id)!.stats.errors === 1, 5000, 'the refusal counted');
    assert.equal(manager.getTunnel(info.id)!.stats.connectionsTotal, 1, 'the connection reached the tunnel');
    assert.equal(manager.getTunnel(info.id)!.state, 'active');
    const ok = await manager.createTunnel({ server: 'test', type: 'local', localPath: path.join(dir, 'outage.sock'), localPort: 0, remoteHost: '127.0.0.1', remotePort: tcpHttp.port });
    await sshd.kill();
    let waited: Promise<string>;
    try {
      await waitFor(() => manager.getTunnel(ok.id)!.state === 'reconnecting', 10_000, 'reconnecting');
      waited = curl('--unix-socket', ok.localPath!, 'http://localhost/waited');
      waited.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await sshd.restart();
    }
    assert.equal(await waited, 'tcp-service GET /waited');
    assert.equal(manager.getTunnel(ok.id)!.state, 'active');
  });

  it('a socket file already there: refused with what to do, or replaced with StreamLocalBindUnlink', async () => {
    const local = path.join(dir, 'stale.sock');
    staleSocket(local);
    const spec = { type: 'local' as const, localPath: local, localPort: 0, remoteHost: '127.0.0.1', remotePort: tcpHttp.port };
    await assert.rejects(manager.createTunnel({ server: 'test', ...spec }), (err: TunnelError) => {
      assert.match(err.message, /the socket file exists .*StreamLocalBindUnlink yes/);
      return true;
    });
    assert.ok(fs.existsSync(local), 'nothing removed without StreamLocalBindUnlink');
    await manager.createTunnel({ server: 'unlinking', ...spec });
    assert.equal(await curl('--unix-socket', local, 'http://localhost/b'), 'tcp-service GET /b');
    const plain = path.join(dir, 'plain-file');
    fs.writeFileSync(plain, 'keep me');
    await assert.rejects(manager.createTunnel({ server: 'unlinking', ...spec, localPath: plain }), /exists and is not a socket/);
    assert.equal(fs.readFileSync(plain, 'utf8'), 'keep me', 'a file that is not a socket is never removed');
  });

  it('-L port:/remote.sock (the Docker socket case): a TCP port leads to a Unix socket on the server', async () => {
    const info = await manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remotePath: unixHttpPath });
    assert.equal(info.remotePath, unixHttpPath);
    assert.equal(info.name, `L ${info.localPort} → ${unixHttpPath}`, "named for the port it bound");
    assert.equal(await curl(`http://127.0.0.1:${info.localPort}/v1.43/containers/json`), 'unix-service GET /v1.43/containers/json');
    await waitFor(() => manager.getTunnel(info.id)!.stats.connectionsTotal === 1, 5000, 'the connection counted');
  });

  it('-L to a socket missing on the server: that connection is refused and the reason recorded', async () => {
    const info = await manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remotePath: path.join(dir, 'absent.sock') });
    await assert.rejects(curl(`http://127.0.0.1:${info.localPort}/`));
    await waitFor(() => manager.getTunnel(info.id)!.stats.errors === 1, 5000, 'the error counted');
    assert.match(manager.getTunnel(info.id)!.lastError!, /could not open .*absent\.sock/);
    assert.equal(manager.getTunnel(info.id)!.state, 'active');
  });

  it('-R /remote.sock:host:port: the server listens on a socket file (connected to on the server side)', async () => {
    const remote = path.join(dir, 'remote.sock');
    const info = await manager.createTunnel({ server: 'test', type: 'remote', remotePath: remote, localHost: '127.0.0.1', localPort: tcpHttp.port });
    assert.equal(info.remotePath, remote);
    assert.equal(info.name, `R ${remote} → 127.0.0.1:${tcpHttp.port}`);
    // sshd runs as this same user on this machine: its socket is reachable here.
    assert.equal(await curl('--unix-socket', remote, 'http://localhost/c'), 'tcp-service GET /c');
    await waitFor(() => manager.getTunnel(info.id)!.stats.connectionsTotal === 1, 5000, 'the connection counted');
    await manager.closeTunnel(info.id);
    await waitFor(() => new Promise<boolean>((resolve) => {
      const probe = net.connect({ path: remote });
      probe.once('connect', () => (probe.destroy(), resolve(false)));
      probe.once('error', () => resolve(true));
    }), 5000, 'the server to stop listening after close');
  });

  it('-R on a socket file that exists on the server is refused with the reason', async () => {
    const remote = path.join(dir, 'taken.sock');
    staleSocket(remote);
    await assert.rejects(manager.createTunnel({ server: 'test', type: 'remote', remotePath: remote, localPort: tcpHttp.port }), (err: TunnelError) => {
      assert.equal(err.code, 'FORWARD_REFUSED');
      assert.match(err.message, /refused to listen on the socket .*taken\.sock.*StreamLocalBindUnlink/);
      return true;
    });
  });

  it('-R on a socket another tunnel of this connection listens on is refused, and that tunnel keeps working', async () => {
    const remote = path.join(dir, 'shared.sock');
    const first = await manager.createTunnel({ server: 'test', type: 'remote', remotePath: remote, localHost: '127.0.0.1', localPort: tcpHttp.port });
    await assert.rejects(manager.createTunnel({ server: 'test', type: 'remote', remotePath: remote, localPort: tcpHttp.port }), (err: TunnelError) => err.code === 'FORWARD_REFUSED');
    // The refused tunnel's clean-up must not withdraw the forward it never had.
    assert.equal(await curl('--unix-socket', remote, 'http://localhost/still'), 'tcp-service GET /still');
    assert.equal(manager.getTunnel(first.id)!.state, 'active');
  });

  it('-R port:/local.sock: a server port leads to a Unix socket here', async () => {
    const info = await manager.createTunnel({ server: 'test', type: 'remote', remoteHost: '127.0.0.1', remotePort: 0, localPath: unixHttpPath, localPort: 0 });
    assert.equal(info.localPath, unixHttpPath);
    assert.ok(info.remotePort! > 0);
    assert.equal(await curl(`http://127.0.0.1:${info.remotePort}/d`), 'unix-service GET /d');
  });

  it('-R on a socket comes back after sshd restarts when sshd replaces stale sockets (its StreamLocalBindUnlink)', async () => {
    const unlinking = await SshdFixture.start({ extraConfig: ['StreamLocalBindUnlink yes'] });
    const m = new TunnelManager({ servers: staticServers(unlinking.server('u')), reconnect: { baseDelayMs: 200, maxDelayMs: 2000 } });
    try {
      const remote = path.join(dir, 'survives.sock');
      const info = await m.createTunnel({ server: 'u', type: 'remote', remotePath: remote, localPort: tcpHttp.port });
      assert.equal(await curl('--unix-socket', remote, 'http://localhost/1'), 'tcp-service GET /1');
      await unlinking.restart();
      await waitFor(() => m.getTunnel(info.id)!.state === 'reconnecting', 10_000, 'reconnecting');
      await waitFor(() => m.getTunnel(info.id)!.state === 'active', 15_000, 'active again');
      assert.equal(await curl('--unix-socket', remote, 'http://localhost/2'), 'tcp-service GET /2');
    } finally {
      await m.dispose();
      await unlinking.stop();
    }
  });

  it('refuses what cannot work, saying why', () => {
    assert.throws(() => checkLocalPathSupported('win32'), /Local Unix-socket forwards \(a localPath\) are not available on Windows: use a local port instead\. A socket on the server \(remotePath/);
    assert.doesNotThrow(() => checkLocalPathSupported('linux'));
    assert.throws(() => resolveSpec({ server: 's', type: 'local', localPath: 'relative.sock', localPort: 0, remoteHost: 'h', remotePort: 1 }), /absolute path/);
    assert.throws(() => resolveSpec({ server: 's', type: 'local', localPath: `/tmp/${'x'.repeat(120)}.sock`, localPort: 0, remoteHost: 'h', remotePort: 1 }), /at most 10[37]/);
    assert.throws(() => resolveSpec({ server: 's', type: 'local', localPath: '/tmp/a.sock', localPort: 8080, remoteHost: 'h', remotePort: 1 }), /localPort must be 0 .*when localPath/);
    assert.throws(() => resolveSpec({ server: 's', type: 'local', localPort: 0, remoteHost: 'h', remotePort: 1, remotePath: '/x.sock' }), /remotePath replaces remoteHost and remotePort/);
    assert.throws(() => resolveSpec({ server: 's', type: 'dynamic', localPort: 0, remotePath: '/x.sock' }), /takes no remoteHost, remotePort or remotePath/);
    assert.equal(resolveSpec({ server: 's', type: 'local', localPath: '~/d.sock', localPort: 0, remotePath: '/var/run/docker.sock' }).localPath, path.join(os.homedir(), 'd.sock'));
  });
});
