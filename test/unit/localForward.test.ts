import * as assert from 'node:assert/strict';
import { TunnelManager } from '../../src/engine';
import { SshdFixture } from '../fixtures/sshd';
import { connect, echoRoundTrip, readAll, startEchoServer, waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';

describe('local forward (-L) through a real sshd', function () {
  this.timeout(120_000);
  let sshd: SshdFixture;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let manager: TunnelManager;

  before(async () => {
    sshd = await SshdFixture.start();
    echo = await startEchoServer();
  });
  after(async () => {
    await echo?.close();
    await sshd?.stop();
  });
  beforeEach(() => {
    manager = new TunnelManager({ servers: staticServers(sshd.server('test')) });
  });
  afterEach(async () => {
    await manager.dispose();
  });

  it('opens on port 0, reports the real port, and moves 64 MiB each way with identical SHA-256', async () => {
    const info = await manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    assert.equal(info.state, 'active');
    assert.equal(info.localHost, '127.0.0.1');
    assert.ok(info.localPort > 0, 'a real port was bound');
    const size = 64 * 1024 * 1024;
    const result = await echoRoundTrip(info.localPort, size);
    assert.equal(result.bytes, size);
    assert.equal(result.received, result.sent);
    await waitFor(() => manager.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'connection released');
    const stats = manager.getTunnel(info.id)!.stats;
    assert.equal(stats.bytesOut, size);
    assert.equal(stats.bytesIn, size);
    assert.equal(stats.connectionsTotal, 1);
    assert.equal(stats.errors, 0);
  });

  it('carries 200 concurrent connections with exact stats', async () => {
    const info = await manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    const size = 64 * 1024;
    const results = await Promise.all(Array.from({ length: 200 }, () => echoRoundTrip(info.localPort, size)));
    for (const r of results) assert.equal(r.received, r.sent);
    await waitFor(() => manager.getTunnel(info.id)!.stats.connectionsActive === 0, 10_000, 'all connections released');
    const stats = manager.getTunnel(info.id)!.stats;
    assert.equal(stats.connectionsTotal, 200);
    assert.equal(stats.bytesOut, 200 * size);
    assert.equal(stats.bytesIn, 200 * size);
    assert.equal(stats.errors, 0);
  });

  it('close ends its connections and frees the port at once', async () => {
    const info = await manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    const socket = await connect(info.localPort);
    const closed = readAll(socket);
    socket.write('hello');
    await waitFor(() => manager.getTunnel(info.id)!.stats.connectionsActive === 1);
    await manager.closeTunnel(info.id);
    await closed;
    assert.equal(manager.getTunnel(info.id), undefined);
    // The same port can be bound again straight away.
    const again = await manager.createTunnel({ server: 'test', type: 'local', localPort: info.localPort, remoteHost: '127.0.0.1', remotePort: echo.port });
    assert.equal(again.localPort, info.localPort);
  });
});
