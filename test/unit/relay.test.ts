import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { relayCount, stderrStreamCount } from '../../src/engine/ssh2';
import { freePort } from '../fixtures/sshd';
import { connect, readAll, waitFor } from '../helpers/net';
import { sshdSuite } from '../helpers/suite';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A service on loopback; `serve` gets each connection. */
async function service(serve: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    serve(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('forwarded connections are relayed without ssh2 channel streams', function () {
  this.timeout(60_000);
  const env = sshdSuite();
  const services: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const s of services.splice(0)) await s.close();
  });

  async function tunnelTo(serve: (s: net.Socket) => void): Promise<number> {
    const svc = await service(serve);
    services.push(svc);
    const info = await env.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: svc.port });
    return info.localPort;
  }

  it('each connection is one relay, and no stream ssh2 would build for a channel', async () => {
    const info = await env.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port });
    const relays = relayCount();
    const stderr = stderrStreamCount();
    for (let i = 0; i < 20; i++) {
      const socket = await connect(info.localPort);
      const back = readAll(socket);
      socket.end(`hello ${i}`);
      assert.equal((await back).toString(), `hello ${i}`);
    }
    assert.equal(relayCount() - relays, 20);
    assert.equal(stderrStreamCount() - stderr, 0);
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'connections released');
    const stats = env.manager.getTunnel(info.id)!.stats;
    assert.deepEqual([stats.bytesIn, stats.bytesOut, stats.connectionsTotal, stats.errors], [150, 150, 20, 0]);
  });

  it('-R: each connection from the server is one relay too, with exact statistics', async () => {
    const remotePort = await freePort();
    const info = await env.manager.createTunnel({ server: 'test', type: 'remote', localPort: env.echo.port, remoteHost: '127.0.0.1', remotePort });
    const relays = relayCount();
    const stderr = stderrStreamCount();
    const data = randomBytes(3 * 1024 * 1024);
    for (let i = 0; i < 10; i++) {
      const socket = await connect(remotePort);
      const back = readAll(socket);
      socket.end(i === 0 ? data : `hello ${i}`);
      const got = await back;
      if (i === 0) assert.equal(sha(got), sha(data));
      else assert.equal(got.toString(), `hello ${i}`);
    }
    assert.equal(relayCount() - relays, 10);
    assert.equal(stderrStreamCount() - stderr, 0);
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'connections released');
    const stats = env.manager.getTunnel(info.id)!.stats;
    const bytes = data.length + 9 * 'hello 1'.length;
    assert.deepEqual([stats.bytesIn, stats.bytesOut, stats.connectionsTotal, stats.errors], [bytes, bytes, 10, 0]);
  });

  it('a service that speaks first and closes at once: the client gets every byte, then the end', async () => {
    const banner = randomBytes(100_000);
    const port = await tunnelTo((s) => s.end(banner));
    for (let i = 0; i < 20; i++) {
      const got = await readAll(await connect(port));
      assert.equal(sha(got), sha(banner), `connection ${i}`);
    }
  });

  it('a client that does not read for a while: the server waits on the window and nothing is lost', async () => {
    const data = randomBytes(24 * 1024 * 1024);
    const port = await tunnelTo((s) => s.end(data));
    const socket = await connect(port);
    socket.pause();
    const reading = readAll(socket);
    await delay(700);
    socket.resume();
    const got = await reading;
    assert.equal(got.length, data.length);
    assert.equal(sha(got), sha(data));
  });

  it('a service that does not read for a while: the client waits on the window, and its EOF follows the last byte', async () => {
    const data = randomBytes(24 * 1024 * 1024);
    const port = await tunnelTo((s) => {
      const chunks: Buffer[] = [];
      s.pause();
      setTimeout(() => s.resume(), 700);
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => s.end(`${sha(Buffer.concat(chunks))}`));
    });
    const socket = await connect(port);
    const answer = readAll(socket);
    socket.end(data);
    assert.equal((await answer).toString(), sha(data));
  });

  it('a client that resets while the service is still sending: the service sees the close, the tunnel serves on', async () => {
    let serviceClosed: () => void = () => undefined;
    const closedThere = new Promise<void>((resolve) => (serviceClosed = resolve));
    const port = await tunnelTo((s) => {
      s.once('close', () => serviceClosed());
      s.write(randomBytes(16 * 1024 * 1024));
    });
    const socket = await connect(port);
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.resetAndDestroy();
    await closedThere;
    const tunnel = env.manager.listTunnels()[0];
    await waitFor(() => env.manager.getTunnel(tunnel.id)!.stats.connectionsActive === 0, 5000, 'connection released');
    const stats = env.manager.getTunnel(tunnel.id)!.stats;
    assert.equal(stats.errors, 0);
    assert.ok(stats.bytesIn > 0 && stats.bytesIn < 16 * 1024 * 1024, `bytes in: ${stats.bytesIn}`);
  });

  it('a client reset or a service that closes mid-transfer ends only its own connection', async () => {
    const port = await tunnelTo((s) => {
      s.on('data', (c: Buffer) => {
        if (c.includes('close')) s.destroy();
        else s.write(c);
      });
      s.on('end', () => s.end());
    });
    const reset = await connect(port);
    reset.write(randomBytes(1024 * 1024));
    await delay(50);
    reset.resetAndDestroy();
    const closed = await connect(port);
    const ended = readAll(closed);
    closed.write('please close');
    await ended;
    const echo = await connect(port);
    const back = readAll(echo);
    echo.end('still here');
    assert.equal((await back).toString(), 'still here');
    const tunnel = env.manager.listTunnels()[0];
    await waitFor(() => env.manager.getTunnel(tunnel.id)!.stats.connectionsActive === 0, 5000, 'connections released');
    assert.equal(env.manager.getTunnel(tunnel.id)!.state, 'active');
  });
});
