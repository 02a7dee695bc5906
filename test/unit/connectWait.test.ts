import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { promisify } from 'node:util';
import { SocksClient } from 'socks';
import { TunnelManager, type ServerConfig, type TunnelInfo, type TunnelSpec } from '../../src/engine';
import { freePort, SshdFixture } from '../fixtures/sshd';
import { pipeThrough, startEchoServer, waitFor } from '../helpers/net';
import { Relay } from '../helpers/relay';
import { staticServers } from '../helpers/servers';

const run = promisify(execFile);
const DELAY_MS = 1500;
const FAST_RECONNECT = { baseDelayMs: 200, maxDelayMs: 1000, maxAttempts: Infinity };

/** Connects as soon as the port answers, as an app started with the workspace does. */
async function connectWhenListening(port: number): Promise<net.Socket> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.once('connect', () => {
          s.off('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** How a socket ended: 'reset' (ECONNRESET), 'closed' (FIN), with what it received. */
function outcome(socket: net.Socket): Promise<{ how: 'reset' | 'closed'; data: Buffer; at: number }> {
  const chunks: Buffer[] = [];
  let reset = false;
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET') reset = true;
  });
  return new Promise((resolve) => socket.once('close', () => resolve({ how: reset ? 'reset' : 'closed', data: Buffer.concat(chunks), at: Date.now() })));
}

describe('connections that arrive while the tunnel connects or redials wait and go through', function () {
  this.timeout(120_000);
  let sshd: SshdFixture;
  let relay: Relay;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let web: http.Server;
  let webPort: number;
  let manager: TunnelManager | undefined;

  before(async () => {
    echo = await startEchoServer();
    web = http.createServer((req, res) => res.end(`hello ${req.url}`));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    webPort = (web.address() as net.AddressInfo).port;
  });
  beforeEach(async () => {
    sshd = await SshdFixture.start();
    relay = await Relay.inFrontOf(sshd, { delayMs: DELAY_MS });
  });
  afterEach(async () => {
    await manager?.dispose();
    manager = undefined;
    await relay?.close();
    await sshd?.stop();
  });
  after(async () => {
    await echo?.close();
    web?.closeAllConnections();
    await new Promise((r) => web?.close(r));
  });

  /** A server whose SSH handshake is slowed by the relay. */
  function slowServer(extra: Partial<ServerConfig> = {}): ServerConfig {
    return sshd.server('s', { port: relay.port, ...extra });
  }

  function newManager(server: ServerConfig, options: Partial<ConstructorParameters<typeof TunnelManager>[0]> = {}): TunnelManager {
    manager = new TunnelManager({ servers: staticServers(server), reconnect: FAST_RECONNECT, ...options });
    return manager;
  }

  /** Starts a tunnel on a known free port without waiting for it to be up. */
  async function startTunnel(m: TunnelManager, spec: Omit<TunnelSpec, 'server' | 'localPort'>): Promise<{ port: number; created: Promise<TunnelInfo> }> {
    const port = await freePort();
    const created = m.createTunnel({ server: 's', localPort: port, ...spec });
    created.catch(() => undefined);
    return { port, created };
  }

  function stats(m: TunnelManager): TunnelInfo['stats'] {
    return m.listTunnels()[0].stats;
  }

  it('-L: clients that connect before the tunnel is up get their data through, byte for byte', async () => {
    const m = newManager(slowServer());
    const { port, created } = await startTunnel(m, { type: 'local', remoteHost: '127.0.0.1', remotePort: echo.port });
    const started = Date.now();
    const sockets = await Promise.all([0, 1, 2, 3, 4, 5, 6].map(() => connectWhenListening(port)));
    // They write at once; what they send waits unread in the socket until the channel is open.
    const transfers = sockets.map((s) => pipeThrough(s, 256 * 1024));
    assert.equal(m.listTunnels()[0].state, 'connecting', 'the clients connected while the tunnel was connecting');
    await waitFor(() => stats(m).connectionsWaiting === 7, 5000, 'seven waiting');
    const info = await created;
    assert.ok(Date.now() - started >= DELAY_MS - 500, 'the handshake was slowed');
    for (const r of await Promise.all(transfers)) {
      assert.equal(r.bytes, 256 * 1024);
      assert.equal(r.received, r.sent);
    }
    const t = m.getTunnel(info.id)!;
    assert.equal(t.stats.errors, 0, t.lastError);
    assert.equal(t.stats.connectionsWaiting, 0);
    assert.equal(t.stats.connectionsTotal, 7);
  });

  it('-D: SOCKS clients (the socks package and curl) connecting before the tunnel is up get their replies once the channel is open', async () => {
    const m = newManager(slowServer());
    const { port, created } = await startTunnel(m, { type: 'dynamic' });
    await connectWhenListening(port).then((s) => s.destroy());
    const viaSocks = SocksClient.createConnection({
      proxy: { host: '127.0.0.1', port, type: 5 },
      command: 'connect',
      destination: { host: '127.0.0.1', port: echo.port },
      timeout: 20_000,
    }).then(({ socket }) => pipeThrough(socket, 512 * 1024));
    const curl = run('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${port}`, `http://localhost:${webPort}/early`]);
    await waitFor(() => stats(m).connectionsWaiting === 2, 5000, 'both SOCKS requests waiting');
    assert.equal(m.listTunnels()[0].state, 'connecting');
    await created;
    const r = await viaSocks;
    assert.equal(r.received, r.sent);
    assert.equal(r.bytes, 512 * 1024);
    assert.equal((await curl).stdout, 'hello /early');
    assert.equal(stats(m).errors, 0, m.listTunnels()[0].lastError);
  });

  it('past the limit of waiting connections, the extra ones are reset at once and counted', async () => {
    const m = newManager(slowServer({ connectTimeout: 10 }));
    const { port, created } = await startTunnel(m, { type: 'local', remoteHost: '127.0.0.1', remotePort: echo.port });
    const first = await connectWhenListening(port);
    const rest = await Promise.all(Array.from({ length: 259 }, () => new Promise<net.Socket>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.on('error', () => undefined);
    })));
    const all = [first, ...rest];
    const ends = all.map((s) => outcome(s));
    for (const s of all) s.write('x');
    await waitFor(() => stats(m).errors === 4, 5000, 'four over the limit refused');
    assert.equal(stats(m).connectionsWaiting, 256);
    assert.match(m.listTunnels()[0].lastError ?? '', /256 connections are already waiting for s to connect/);
    await created;
    // The 256 go through (each gets its byte echoed); then the test ends them.
    await waitFor(() => stats(m).bytesIn >= 256, 15_000, 'the waiting ones echoed');
    for (const s of all) s.end();
    const results = await Promise.all(ends);
    assert.equal(results.filter((r) => r.how === 'reset' && r.data.length === 0).length, 4);
    assert.equal(results.filter((r) => r.data.toString() === 'x').length, 256);
  });

  it('past the connect timeout, a waiting connection is reset and counted with the reason', async () => {
    // The bound is the server's ConnectTimeout; the redials fail fast (refused) and keep going.
    const m = newManager(sshd.server('s', { connectTimeout: 2 }));
    const info = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    // The reason shows when the connection is reset; a later failed redial may show its own error.
    const reasons: string[] = [];
    m.onDidChangeTunnel((t) => t.lastError && reasons.push(t.lastError));
    await sshd.kill();
    await waitFor(() => m.getTunnel(info.id)!.state === 'reconnecting', 10_000, 'reconnecting');
    const s = net.connect({ host: '127.0.0.1', port: info.localPort });
    s.on('connect', () => s.write('lost?'));
    const ended = outcome(s);
    await waitFor(() => m.getTunnel(info.id)!.stats.connectionsWaiting === 1, 5000, 'waiting');
    const start = Date.now();
    const r = await ended;
    const waited = r.at - start;
    assert.equal(r.how, 'reset');
    assert.ok(waited > 1000 && waited < 5000, `reset after ${waited} ms (ConnectTimeout 2 s)`);
    const t = m.getTunnel(info.id)!;
    assert.equal(t.stats.errors, 1);
    assert.equal(t.stats.connectionsWaiting, 0);
    assert.ok(reasons.some((r) => /waited 2s \(ConnectTimeout\) for s to connect/.test(r)), reasons.join('\n'));
    assert.equal(t.state, 'reconnecting', 'the tunnel itself keeps redialling');
  });

  it('-L and -D during a redial: clients started in the gap get through once the server is back', async () => {
    const m = newManager(sshd.server('s'));
    const local = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    const socks = await m.createTunnel({ server: 's', type: 'dynamic', localPort: 0 });
    await sshd.kill();
    await waitFor(() => m.getTunnel(local.id)!.state === 'reconnecting', 10_000, 'reconnecting');
    const s = await connectWhenListening(local.localPort);
    const transfer = pipeThrough(s, 1024 * 1024);
    const curl = run('curl', ['-sS', '--max-time', '30', '--socks5-hostname', `127.0.0.1:${socks.localPort}`, `http://localhost:${webPort}/gap`]);
    await waitFor(() => m.getTunnel(local.id)!.stats.connectionsWaiting === 1 && m.getTunnel(socks.id)!.stats.connectionsWaiting === 1, 5000, 'both waiting');
    await new Promise((r) => setTimeout(r, 1000));
    await sshd.restart();
    const r = await transfer;
    assert.equal(r.bytes, 1024 * 1024);
    assert.equal(r.received, r.sent);
    assert.equal((await curl).stdout, 'hello /gap');
    assert.equal(m.getTunnel(local.id)!.stats.errors, 0, m.getTunnel(local.id)!.lastError);
  });

  it('an outage with no return: waiting connections are reset when the redial gives up, with its reason', async () => {
    const m = newManager(sshd.server('s'), { reconnect: { baseDelayMs: 300, maxDelayMs: 600, maxAttempts: 3 } });
    const local = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    const socks = await m.createTunnel({ server: 's', type: 'dynamic', localPort: 0 });
    await sshd.kill();
    await waitFor(() => m.getTunnel(local.id)!.state === 'reconnecting', 10_000, 'reconnecting');
    const s = await connectWhenListening(local.localPort);
    const ended = outcome(s);
    const viaSocks = SocksClient.createConnection({
      proxy: { host: '127.0.0.1', port: socks.localPort, type: 5 },
      command: 'connect',
      destination: { host: '127.0.0.1', port: echo.port },
      timeout: 20_000,
    });
    const refused = assert.rejects(viaSocks, /Socks5 proxy rejected connection - NetworkUnreachable/);
    await waitFor(() => m.getTunnel(local.id)!.stats.connectionsWaiting === 1, 5000, 'waiting');
    assert.equal((await ended).how, 'reset');
    await refused;
    for (const id of [local.id, socks.id]) {
      const t = m.getTunnel(id)!;
      assert.equal(t.state, 'failed');
      assert.equal(t.stats.errors, 1);
      assert.equal(t.stats.connectionsWaiting, 0);
      assert.match(t.lastError ?? '', /Gave up after 3 attempts/);
    }
  });

  it('a server back with another host key: the waiting connection is reset with that reason', async () => {
    const m = newManager(sshd.server('s'));
    const info = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    await sshd.kill();
    await waitFor(() => m.getTunnel(info.id)!.state === 'reconnecting', 10_000, 'reconnecting');
    const s = await connectWhenListening(info.localPort);
    s.write('secret');
    const ended = outcome(s);
    await waitFor(() => m.getTunnel(info.id)!.stats.connectionsWaiting === 1, 5000, 'waiting');
    await sshd.restart({ newHostKey: true });
    const r = await ended;
    assert.equal(r.how, 'reset');
    assert.equal(r.data.length, 0);
    const t = m.getTunnel(info.id)!;
    assert.equal(t.state, 'failed');
    assert.equal(t.stats.errors, 1);
    assert.match(t.lastError ?? '', /host key of s .* has changed/);
  });

  it('closing a tunnel resets the connections waiting on it', async () => {
    const m = newManager(slowServer());
    const { port, created } = await startTunnel(m, { type: 'local', remoteHost: '127.0.0.1', remotePort: echo.port });
    const s = await connectWhenListening(port);
    const ended = outcome(s);
    await waitFor(() => stats(m).connectionsWaiting === 1, 5000, 'waiting');
    await m.closeTunnel(m.listTunnels()[0].id);
    assert.equal((await ended).how, 'reset');
    await created.catch(() => undefined);
  });
});
