import * as assert from 'node:assert/strict';
import type { TunnelInfo } from '../../src/engine';
import { canConnect, freePort } from '../fixtures/sshd';
import { connect, echoRoundTrip, keepStreaming, readAll, waitFor } from '../helpers/net';
import { sshdSuite } from '../helpers/suite';
import { startStalledListener } from '../helpers/stalled';

describe('remote forward (-R) through a real sshd', function () {
  this.timeout(120_000);
  const env = sshdSuite();

  /** A remote forward whose server side listens on 127.0.0.1 (this same machine) and leads to the echo server. */
  function openEchoForward(remotePort = 0): Promise<TunnelInfo> {
    return env.manager.createTunnel({ server: 'test', type: 'remote', remoteHost: '127.0.0.1', remotePort, localPort: env.echo.port });
  }

  it('port 0 takes the port sshd assigned, and moves 64 MiB each way with identical SHA-256', async () => {
    const info = await openEchoForward();
    assert.equal(info.state, 'active');
    assert.equal(info.type, 'remote');
    assert.equal(info.remoteHost, '127.0.0.1');
    assert.ok(info.remotePort! > 0, `a real server port is reported, got ${info.remotePort}`);
    assert.equal(info.localPort, env.echo.port);
    assert.ok(await canConnect('127.0.0.1', info.remotePort!), 'sshd listens on the reported port');
    const size = 64 * 1024 * 1024;
    // The client connects to sshd's listener; sshd sends it down the SSH connection to the engine.
    const result = await echoRoundTrip(info.remotePort!, size);
    assert.equal(result.bytes, size);
    assert.equal(result.received, result.sent);
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'connection released');
    const stats = env.manager.getTunnel(info.id)!.stats;
    assert.equal(stats.bytesIn, size, 'bytes from the server delivered to the local service');
    assert.equal(stats.bytesOut, size, 'bytes from the local service sent to the server');
    assert.equal(stats.connectionsTotal, 2, 'the probe of the port and the transfer');
    assert.equal(stats.errors, 0);
  });

  it('a fixed remote port is bound as asked', async () => {
    const port = await freePort();
    const info = await openEchoForward(port);
    assert.equal(info.remotePort, port);
    const result = await echoRoundTrip(port, 100_000);
    assert.equal(result.received, result.sent);
  });

  it('carries 200 concurrent connections with exact stats', async () => {
    const info = await openEchoForward();
    const size = 64 * 1024;
    const results = await Promise.all(Array.from({ length: 200 }, () => echoRoundTrip(info.remotePort!, size)));
    for (const r of results) {
      assert.equal(r.bytes, size);
      assert.equal(r.received, r.sent);
    }
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 0, 10_000, 'all connections released');
    const stats = env.manager.getTunnel(info.id)!.stats;
    assert.equal(stats.connectionsTotal, 200);
    assert.equal(stats.bytesIn, 200 * size);
    assert.equal(stats.bytesOut, 200 * size);
    assert.equal(stats.errors, 0);
    assert.equal(env.echo.connections(), 0, 'every connection to the local service was ended');
  });

  it('close ends its connections, cancels the forward on the server (its port stops accepting) and frees the port for reuse', async () => {
    // Another tunnel keeps the SSH connection up, so only cancel-tcpip-forward can stop the listener.
    const keeper = await openEchoForward();
    const info = await openEchoForward();
    const port = info.remotePort!;
    const socket = await connect(port);
    const closed = readAll(socket);
    socket.write('hello');
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 1, 5000, 'connection counted');
    await env.manager.closeTunnel(info.id);
    await closed;
    assert.equal(env.manager.getTunnel(info.id), undefined);
    await waitFor(() => env.echo.connections() === 0, 5000, 'the local side of the connection ended');
    assert.equal(await canConnect('127.0.0.1', port), false, `sshd still accepts on ${port} after close`);
    assert.equal(env.manager.serverStatus('test').state, 'connected');
    assert.ok(await canConnect('127.0.0.1', keeper.remotePort!), 'the other forward is untouched');
    // The same server port can be asked for again straight away.
    const again = await openEchoForward(port);
    assert.equal(again.remotePort, port);
    const result = await echoRoundTrip(port, 10_000);
    assert.equal(result.received, result.sent);
  });

  it('close under load ends every streaming connection on both sides; the count ends at 0', async () => {
    const keeper = await openEchoForward();
    const info = await openEchoForward();
    const events: TunnelInfo[] = [];
    env.manager.onDidChangeTunnel((t) => t.id === info.id && events.push(t));
    const sockets = await Promise.all(Array.from({ length: 20 }, () => connect(info.remotePort!)));
    const closes = sockets.map(keepStreaming);
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 20, 5000, '20 connections');
    await new Promise((r) => setTimeout(r, 100));
    await env.manager.closeTunnel(info.id);
    await Promise.all(closes);
    await waitFor(() => events.at(-1)!.stats.connectionsActive === 0, 5000, 'the last event to count 0 active');
    assert.equal(events.at(-1)!.state, 'closed');
    assert.ok(events.at(-1)!.stats.bytesIn > 0);
    await waitFor(() => env.echo.connections() === 0, 5000, 'the local service connections to end');
    assert.equal(await canConnect('127.0.0.1', info.remotePort!), false);
    assert.equal(env.manager.getTunnel(keeper.id)!.state, 'active');
  });

  it('close while the local service has not answered yet: the server is told no, so its client is closed at once', async () => {
    // A local service whose connect stays pending.
    const stalled = await startStalledListener();
    const stalledPort = stalled.port;
    try {
      const keeper = await openEchoForward();
      const info = await env.manager.createTunnel({ server: 'test', type: 'remote', remoteHost: '127.0.0.1', remotePort: 0, localPort: stalledPort });
      const client = await connect(info.remotePort!);
      const closed = readAll(client);
      await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 1, 5000, 'the offer to arrive');
      await new Promise((r) => setTimeout(r, 100));
      await env.manager.closeTunnel(info.id);
      const started = Date.now();
      await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the client on the server side was left hanging')), 5000))]);
      assert.ok(Date.now() - started < 5000);
      assert.equal(env.manager.getTunnel(keeper.id)!.state, 'active');
      const r = await echoRoundTrip(keeper.remotePort!, 10_000);
      assert.equal(r.received, r.sent);
    } finally {
      stalled.close();
    }
  });

  it('a refused local service fails that connection, counts an error and keeps the tunnel active', async () => {
    const closedPort = await freePort();
    const bad = await env.manager.createTunnel({ server: 'test', type: 'remote', remoteHost: '127.0.0.1', remotePort: 0, localPort: closedPort });
    const good = await openEchoForward();
    const socket = await connect(bad.remotePort!);
    const data = await readAll(socket);
    assert.equal(data.length, 0, 'nothing comes back from a refused service');
    await waitFor(() => env.manager.getTunnel(bad.id)!.stats.errors === 1, 5000, 'error counted');
    await waitFor(() => env.manager.getTunnel(bad.id)!.stats.connectionsActive === 0, 5000, 'connection released');
    const after = env.manager.getTunnel(bad.id)!;
    assert.equal(after.state, 'active');
    assert.equal(after.stats.connectionsTotal, 1);
    assert.match(after.lastError!, new RegExp(`could not reach 127\\.0\\.0\\.1:${closedPort} here: connection refused`));
    // The tunnel and the rest of the session keep working.
    assert.ok(await canConnect('127.0.0.1', bad.remotePort!), 'the server port still accepts');
    const result = await echoRoundTrip(good.remotePort!, 50_000);
    assert.equal(result.received, result.sent);
    assert.equal(env.manager.getTunnel(good.id)!.stats.errors, 0);
  });

  it('the server address may be a name: remoteHost localhost is matched to its forward', async () => {
    const info = await env.manager.createTunnel({ server: 'test', type: 'remote', remoteHost: 'localhost', remotePort: 0, localPort: env.echo.port });
    assert.equal(info.remoteHost, 'localhost');
    assert.ok(info.remotePort! > 0);
    const result = await echoRoundTrip(info.remotePort!, 100_000);
    assert.equal(result.received, result.sent);
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'released');
    assert.equal(env.manager.getTunnel(info.id)!.stats.bytesIn, 100_000);
  });

  it('a server port that is already taken is refused with a message that says why; the first forward keeps working', async () => {
    const first = await openEchoForward();
    await assert.rejects(openEchoForward(first.remotePort), (err: Error) => {
      assert.equal(
        err.message,
        `test refused to listen on 127.0.0.1:${first.remotePort} for a remote forward. The port may be in use on the server, privileged, or forwarding may be disabled there (AllowTcpForwarding, PermitListen).`,
      );
      return true;
    });
    assert.deepEqual(env.manager.listTunnels().map((t) => [t.id, t.state]), [[first.id, 'active']]);
    const result = await echoRoundTrip(first.remotePort!, 50_000);
    assert.equal(result.received, result.sent);
  });

  it('two remote forwards on one SSH connection each get their own connections', async () => {
    const a = await openEchoForward();
    const b = await openEchoForward();
    assert.notEqual(a.remotePort, b.remotePort);
    await Promise.all([echoRoundTrip(a.remotePort!, 1000), echoRoundTrip(b.remotePort!, 2000), echoRoundTrip(b.remotePort!, 2000)]);
    await waitFor(() => env.manager.getTunnel(b.id)!.stats.connectionsActive === 0, 5000, 'released');
    assert.equal(env.manager.getTunnel(a.id)!.stats.connectionsTotal, 1);
    assert.equal(env.manager.getTunnel(a.id)!.stats.bytesIn, 1000);
    assert.equal(env.manager.getTunnel(b.id)!.stats.connectionsTotal, 2);
    assert.equal(env.manager.getTunnel(b.id)!.stats.bytesIn, 4000);
  });
});
