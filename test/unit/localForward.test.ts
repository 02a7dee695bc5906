import * as assert from 'node:assert/strict';
import { connect, echoRoundTrip, readAll, waitFor } from '../helpers/net';
import { sshdSuite } from '../helpers/suite';

describe('local forward (-L) through a real sshd', function () {
  this.timeout(120_000);
  const env = sshdSuite();

  it('opens on port 0, reports the real port, and moves 64 MiB each way with identical SHA-256', async () => {
    const info = await env.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port });
    assert.equal(info.state, 'active');
    assert.equal(info.localHost, '127.0.0.1');
    assert.ok(info.localPort > 0, 'a real port was bound');
    const size = 64 * 1024 * 1024;
    const result = await echoRoundTrip(info.localPort, size);
    assert.equal(result.bytes, size);
    assert.equal(result.received, result.sent);
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'connection released');
    const stats = env.manager.getTunnel(info.id)!.stats;
    assert.equal(stats.bytesOut, size);
    assert.equal(stats.bytesIn, size);
    assert.equal(stats.connectionsTotal, 1);
    assert.equal(stats.errors, 0);
  });

  it('carries 200 concurrent connections with exact stats', async () => {
    const info = await env.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port });
    const size = 64 * 1024;
    const results = await Promise.all(Array.from({ length: 200 }, () => echoRoundTrip(info.localPort, size)));
    for (const r of results) assert.equal(r.received, r.sent);
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 0, 10_000, 'all connections released');
    const stats = env.manager.getTunnel(info.id)!.stats;
    assert.equal(stats.connectionsTotal, 200);
    assert.equal(stats.bytesOut, 200 * size);
    assert.equal(stats.bytesIn, 200 * size);
    assert.equal(stats.errors, 0);
  });

  it('close ends its connections and frees the port at once', async () => {
    const info = await env.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port });
    const socket = await connect(info.localPort);
    const closed = readAll(socket);
    socket.write('hello');
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 1);
    await env.manager.closeTunnel(info.id);
    await closed;
    assert.equal(env.manager.getTunnel(info.id), undefined);
    // The same port can be bound again straight away.
    const again = await env.manager.createTunnel({ server: 'test', type: 'local', localPort: info.localPort, remoteHost: '127.0.0.1', remotePort: env.echo.port });
    assert.equal(again.localPort, info.localPort);
  });
});
