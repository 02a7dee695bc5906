import * as assert from 'node:assert/strict';
import { connect, echoRoundTrip, readAll, waitFor } from '../helpers/net';
import { sshdSuite } from '../helpers/suite';
import { ByteReader, GREETING, socks5Request } from '../helpers/socks';
import { startStalledListener } from '../helpers/stalled';

// sshd confirms a direct-tcpip channel only once its own connect succeeded: a target whose
// connect stays pending makes the channel open hang on a real OpenSSH server.
describe('a channel open that hangs is timed out', function () {
  this.timeout(60_000);
  let stalled: Awaited<ReturnType<typeof startStalledListener>>;
  const env = sshdSuite({ manager: { forwardTimeoutMs: 1000 } });

  before(async () => {
    stalled = await startStalledListener();
  });
  after(async () => {
    stalled?.close();
  });

  it('local forward: that connection is closed after the timeout, with an error that says so; the tunnel stays up', async () => {
    const hanging = await env.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: stalled.port });
    const good = await env.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port });
    const socket = await connect(hanging.localPort);
    const started = Date.now();
    const got = await readAll(socket);
    const waited = Date.now() - started;
    assert.equal(got.length, 0);
    assert.ok(waited >= 900 && waited < 4000, `closed after ${waited}ms (timeout 1000ms)`);
    await waitFor(() => env.manager.getTunnel(hanging.id)!.stats.connectionsActive === 0, 5000, 'released');
    const t = env.manager.getTunnel(hanging.id)!;
    assert.equal(t.state, 'active');
    assert.equal(t.stats.errors, 1);
    assert.equal(t.lastError, `test did not open a channel to 127.0.0.1:${stalled.port} within 1s.`);
    const r = await echoRoundTrip(good.localPort, 50_000);
    assert.equal(r.received, r.sent);
  });

  it('SOCKS: the client gets a failure reply (0x06) after the timeout, never a success', async () => {
    const info = await env.manager.createTunnel({ server: 'test', type: 'dynamic', localPort: 0 });
    const socket = await connect(info.localPort);
    const reader = new ByteReader(socket);
    socket.write(Buffer.concat([GREETING, socks5Request('127.0.0.1', stalled.port)]));
    assert.equal((await reader.read(2)).toString('hex'), '0500');
    const started = Date.now();
    assert.equal((await reader.rest()).toString('hex'), '05060001000000000000');
    assert.ok(Date.now() - started >= 900);
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'released');
    assert.equal(env.manager.getTunnel(info.id)!.stats.errors, 1);
    assert.match(env.manager.getTunnel(info.id)!.lastError!, /did not open a channel to 127\.0\.0\.1:\d+ within 1s/);
  });
});
