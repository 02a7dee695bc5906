// What the engine says about failures a person must see: a forwarded connection the server could
// not make is logged and kept on the (still active) tunnel; a failed tunnel keeps its first cause;
// a server down at start is waited for, with the attempt and the next try on the server's status.
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { TunnelManager, type ServerStatus } from '../../src/engine';
import { freePort } from '../fixtures/sshd';
import { bound, connect, echoRoundTrip, waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';

/** Resolves once the socket is closed by the other side. */
function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.once('close', () => resolve());
  });
}

describe('engine: failures a person must see', function () {
  this.timeout(60_000);
  const suite = sshdWithEcho();
  let manager: TunnelManager | undefined;
  let logged: string[];
  const start = (extra: Partial<ConstructorParameters<typeof TunnelManager>[0]> = {}) => {
    logged = [];
    manager = new TunnelManager({ servers: staticServers(suite.sshd.server('test')), log: (m) => logged.push(m), ...extra });
    return manager;
  };
  afterEach(async () => {
    await manager?.dispose();
    manager = undefined;
  });

  it('a connection the server cannot make is logged once, counted, and its error kept while the tunnel stays active', async () => {
    const m = start();
    const dead = await freePort();
    const info = await m.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: dead, name: 'dead' });
    await closed(await connect(info.localPort));
    await waitFor(() => (m.getTunnel(info.id)?.stats.errors ?? 0) > 0, 10_000, 'the error counted');
    const now = m.getTunnel(info.id)!;
    assert.equal(now.state, 'active');
    assert.equal(now.stats.errors, 1);
    assert.match(now.lastError ?? '', /./, 'the reason is kept');
    const lines = logged.filter((l) => l.startsWith('dead: connection failed: '));
    assert.deepEqual(lines, [`dead: connection failed: ${now.lastError}`]);
  });

  it('a target that refuses connections is said on the tunnel (targetError) until a connection reaches it again: -L and -R', async () => {
    const m = start();
    const port = await freePort();
    const local = await m.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: port, name: 'to-nothing' });
    const remotePort = await freePort();
    const remote = await m.createTunnel({ server: 'test', type: 'remote', localHost: '127.0.0.1', localPort: port, remoteHost: '127.0.0.1', remotePort, name: 'from-server' });
    assert.equal(m.getTunnel(local.id)!.targetError, undefined, 'nothing said before a connection tried');
    await closed(await connect(local.localPort));
    await closed(await connect(remotePort));
    await waitFor(() => m.getTunnel(local.id)!.targetError !== undefined && m.getTunnel(remote.id)!.targetError !== undefined, 10_000, 'both targets said to refuse');
    assert.equal(m.getTunnel(local.id)!.targetError!, `nothing listens on ${port} on test (test could not open 127.0.0.1:${port}: connection refused)`);
    assert.match(m.getTunnel(remote.id)!.targetError!, /could not reach 127\.0\.0\.1:\d+ here: connection refused/);
    for (const id of [local.id, remote.id]) assert.equal(m.getTunnel(id)!.state, 'active', 'the tunnel itself stays active');
    // The service comes up: the next connection through each clears the warning.
    const service = net.createServer((s) => s.end('hi'));
    await new Promise<void>((r) => service.listen(port, '127.0.0.1', r));
    try {
      for (const p of [local.localPort, remotePort]) await closed((await connect(p)).resume());
      await waitFor(() => m.getTunnel(local.id)!.targetError === undefined && m.getTunnel(remote.id)!.targetError === undefined, 10_000, 'both warnings gone');
    } finally {
      await new Promise((r) => service.close(r));
    }
  });

  it('a target on another host, and a socket file: "nothing listens" names where', async () => {
    const m = start();
    const port = await freePort();
    // As the server sees it: 127.0.0.2 is the server's own loopback too, but another address than "the server" to a person.
    const other = await m.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '::1', remotePort: port });
    const socket = await m.createTunnel({ server: 'test', type: 'local', localPort: 0, remotePath: '/nonexistent/app.sock' });
    await closed(await connect(other.localPort));
    await closed(await connect(socket.localPort));
    await waitFor(() => m.getTunnel(other.id)!.targetError !== undefined && m.getTunnel(socket.id)!.targetError !== undefined, 10_000, 'both said');
    assert.match(m.getTunnel(other.id)!.targetError!, new RegExp(`^nothing listens on ${port} on test \\(test could not open \\[::1\\]:${port}: connection refused\\)$`));
    assert.match(m.getTunnel(socket.id)!.targetError!, /^nothing listens on \/nonexistent\/app\.sock on test, or this login may not open it/);
  });

  it('watchRemotePort: an idle tunnel says when nothing listens at its target and when something does again, without a connection', async () => {
    const m = start({ watchIntervalMs: 200 });
    const port = await freePort();
    const info = await m.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: 'localhost', remotePort: port, watchRemotePort: true });
    assert.equal(info.watchRemotePort, true);
    await waitFor(() => m.getTunnel(info.id)!.targetError !== undefined, 10_000, 'nothing listens, said');
    assert.match(m.getTunnel(info.id)!.targetError!, new RegExp(`^nothing listens on ${port} on test`));
    const service = net.createServer((s) => s.end());
    await new Promise<void>((r) => service.listen(port, '127.0.0.1', r));
    try {
      await waitFor(() => m.getTunnel(info.id)!.targetError === undefined, 10_000, 'the service is there, said');
    } finally {
      await new Promise((r) => service.close(r));
    }
    await waitFor(() => m.getTunnel(info.id)!.targetError !== undefined, 10_000, 'gone again, said');
    const stats = m.getTunnel(info.id)!.stats;
    assert.equal(stats.connectionsTotal, 0, 'the checks are no connections of the tunnel');
    assert.equal(stats.errors, 0, 'nor failures counted');
    assert.equal(logged.filter((l) => l.includes('nothing listens')).length, 2, 'logged when it starts, each time, not at every check');
    assert.equal(m.getTunnel(info.id)!.state, 'active');
  });

  it('watchRemotePort is for -L only: a clear refusal elsewhere', async () => {
    const m = start();
    await assert.rejects(m.createTunnel({ server: 'test', type: 'dynamic', localPort: 0, watchRemotePort: true }), /watchRemotePort is for local \(-L\) tunnels/);
  });

  it('a tunnel failed on a changed host key keeps that cause: later refused connections do not replace it', async () => {
    const m = start({ reconnect: { baseDelayMs: 100, maxDelayMs: 200, maxAttempts: Infinity } });
    const info = await m.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port, name: 'keyed' });
    try {
      await suite.sshd.restart({ newHostKey: true });
      await waitFor(() => m.getTunnel(info.id)?.state === 'failed', 20_000, 'the tunnel to fail');
      const cause = m.getTunnel(info.id)!.lastError;
      assert.match(cause ?? '', /host key/i);
      assert.equal(m.serverStatus('test').lastErrorCode, 'HOST_KEY_CHANGED');
      // Refused at once (reset, perhaps before it is even connected).
      await closed(net.connect(info.localPort, '127.0.0.1'));
      await waitFor(() => (m.getTunnel(info.id)?.stats.errors ?? 0) > 0, 10_000, 'the refusal counted');
      assert.equal(m.getTunnel(info.id)!.lastError, cause, 'the first real cause wins');
    } finally {
      suite.sshd.writeKnownHosts();
    }
  });

  it('with retryFirstConnect, a server down at start is waited for: the port is held, attempts and next tries are reported, and data flows once it is up', async () => {
    const m = start({ reconnect: { baseDelayMs: 200, maxDelayMs: 400, maxAttempts: Infinity, retryFirstConnect: true } });
    const statuses: ServerStatus[] = [];
    m.onDidChangeServer((s) => statuses.push(s));
    await suite.sshd.kill();
    try {
      const info = await m.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port, name: 'waits' });
      assert.equal(info.state, 'reconnecting');
      assert.match(info.lastError ?? '', /Cannot reach test/);
      await waitFor(() => statuses.some((s) => (s.attempt ?? 0) >= 2), 10_000, 'a second attempt');
      const scheduled = statuses.filter((s) => s.attempt !== undefined);
      assert.deepEqual(scheduled.slice(0, 2).map((s) => s.attempt), [1, 2]);
      for (const s of scheduled) {
        assert.equal(s.state, 'reconnecting');
        assert.ok(s.nextAttemptAt! > Date.now() - 5_000 && s.nextAttemptAt! < Date.now() + 5_000, 'the next try is soon');
        assert.match(s.lastError ?? '', /Cannot reach test/);
      }
      assert.equal(await bound(info.localPort), true, 'the port stays held while the server is down');
      await suite.sshd.restart();
      await waitFor(() => m.getTunnel(info.id)?.state === 'active', 15_000, 'the tunnel to become active');
      assert.equal(m.serverStatus('test').attempt, undefined, 'no attempt once connected');
      const r = await echoRoundTrip(info.localPort, 4096);
      assert.equal(r.received, r.sent);
    } finally {
      await suite.sshd.restart();
    }
  });

  it('with retryFirstConnect, a remote forward asked for while the server is down is granted once it is up', async () => {
    const m = start({ reconnect: { baseDelayMs: 200, maxDelayMs: 400, maxAttempts: Infinity, retryFirstConnect: true } });
    await suite.sshd.kill();
    try {
      const info = await m.createTunnel({ server: 'test', type: 'remote', remoteHost: '127.0.0.1', remotePort: 0, localHost: '127.0.0.1', localPort: suite.echo.port, name: 'later' });
      assert.equal(info.state, 'reconnecting');
      await suite.sshd.restart();
      await waitFor(() => m.getTunnel(info.id)?.state === 'active', 15_000, 'the forward to be granted');
      const r = await echoRoundTrip(m.getTunnel(info.id)!.remotePort!, 4096);
      assert.equal(r.received, r.sent, 'the server\'s port leads here');
    } finally {
      await suite.sshd.restart();
    }
  });

  it('without retryFirstConnect, a server down at start fails the tunnel at once and frees its port, as before', async () => {
    const m = start();
    await suite.sshd.kill();
    try {
      await assert.rejects(m.createTunnel({ server: 'test', type: 'dynamic', localPort: 0, name: 'once' }), /Cannot reach test/);
      assert.equal(m.listTunnels().length, 0);
    } finally {
      await suite.sshd.restart();
    }
  });
});
