import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { TunnelManager } from '../../src/engine';
import { freePort } from '../fixtures/sshd';
import { curl } from '../helpers/curl';
import { connect, pipeThrough, waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { sshdSuite } from '../helpers/suite';
import { startStalledListener } from '../helpers/stalled';
import { ByteReader, GREETING, socks4Request, socks5Request } from '../helpers/socks';

describe('reverse dynamic forward (-R port, a SOCKS proxy on the server) through a real sshd', function () {
  this.timeout(60_000);
  let web: http.Server;
  let webPort: number;
  const env = sshdSuite();
  before(async () => {
    web = http.createServer((req, res) => res.end(`reached from the server: ${req.url}`));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    webPort = (web.address() as net.AddressInfo).port;
  });
  after(async () => {
    web?.closeAllConnections();
    await new Promise((resolve) => web?.close(resolve));
  });

  const open = (remotePort = 0) => env.manager.createTunnel({ server: 'test', type: 'remote', remoteHost: '127.0.0.1', remotePort, localPort: 0, socks: true });

  it('curl --socks5-hostname on the server side reaches an HTTP server on this machine', async () => {
    const info = await open();
    assert.equal(info.socks, true);
    assert.ok(info.remotePort! > 0);
    assert.equal(info.name, `R SOCKS ${info.remotePort}`, 'named for the port the server bound');
    // sshd runs on this same machine: curl here plays a program on the server.
    assert.equal(await curl('--socks5-hostname', `127.0.0.1:${info.remotePort}`, `http://localhost:${webPort}/x`), 'reached from the server: /x');
    assert.equal(await curl('--socks4a', `127.0.0.1:${info.remotePort}`, `http://127.0.0.1:${webPort}/y`), 'reached from the server: /y');
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'connections released');
    const stats = env.manager.getTunnel(info.id)!.stats;
    assert.equal(stats.connectionsTotal, 2);
    assert.equal(stats.errors, 0);
  });

  it('counts the payload exactly, without the SOCKS handshake, and carries 4 MiB intact', async () => {
    const port = await freePort();
    const info = await open(port);
    assert.equal(info.remotePort, port);
    const socket = await connect(port);
    const reader = new ByteReader(socket);
    socket.write(GREETING);
    assert.deepEqual([...(await reader.read(2))], [0x05, 0x00]);
    socket.write(socks5Request('127.0.0.1', env.echo.port));
    assert.deepEqual([...(await reader.read(10))].slice(0, 2), [0x05, 0x00]);
    reader.detach();
    const size = 4 * 1024 * 1024;
    const result = await pipeThrough(socket, size);
    assert.equal(result.received, result.sent);
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'connection released');
    const stats = env.manager.getTunnel(info.id)!.stats;
    assert.equal(stats.bytesIn, size, 'bytes from the server delivered here');
    assert.equal(stats.bytesOut, size, 'bytes from here sent to the server');
  });

  it('answers failures with the SOCKS reply code that says why, and records them', async () => {
    const info = await open();
    const closed = await freePort();
    const ask = async (request: Buffer, v5 = true) => {
      const socket = await connect(info.remotePort!);
      const reader = new ByteReader(socket);
      if (v5) {
        socket.write(GREETING);
        await reader.read(2);
      }
      socket.write(request);
      const reply = await reader.read(v5 ? 10 : 8);
      await reader.closed;
      return reply[1];
    };
    assert.equal(await ask(socks5Request('127.0.0.1', closed)), 0x05, 'connection refused');
    assert.equal(await ask(socks5Request('127.0.0.1', 80, 0x02)), 0x07, 'BIND: command not supported');
    assert.equal(await ask(socks4Request('127.0.0.1', closed), false), 0x5b, 'SOCKS4 rejected');
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.errors === 3, 5000, 'three errors counted');
    assert.equal(env.manager.getTunnel(info.id)!.state, 'active');
    assert.match(env.manager.getTunnel(info.id)!.lastError!, /SOCKS request from the server for 127\.0\.0\.1:\d+ failed here: connection refused/);
  });

  it('comes back on the same server port after sshd restarts', async () => {
    await env.manager.dispose();
    env.manager = new TunnelManager({ servers: staticServers(env.sshd.server('test')), reconnect: { baseDelayMs: 200, maxDelayMs: 2000 } });
    const info = await open();
    const through = () => curl('--socks5-hostname', `127.0.0.1:${info.remotePort}`, `http://127.0.0.1:${webPort}/again`);
    assert.equal(await through(), 'reached from the server: /again');
    await env.sshd.restart();
    await waitFor(() => env.manager.getTunnel(info.id)!.state === 'reconnecting', 10_000, 'reconnecting');
    await waitFor(() => env.manager.getTunnel(info.id)!.state === 'active', 15_000, 'active again');
    assert.equal(env.manager.getTunnel(info.id)!.remotePort, info.remotePort);
    assert.equal(await through(), 'reached from the server: /again');
  });

  it('a client that never finishes its request is dropped after the handshake timeout', async () => {
    await env.manager.dispose();
    env.manager = new TunnelManager({ servers: staticServers(env.sshd.server('test')), socksHandshakeTimeoutMs: 300 });
    const info = await open();
    const socket = await connect(info.remotePort!);
    const reader = new ByteReader(socket);
    socket.write(GREETING);
    await reader.read(2);
    const started = Date.now();
    await reader.closed;
    assert.ok(Date.now() - started < 5000, 'closed by the timeout');
  });

  it('closing the tunnel while a request is still connecting here ends that connect and its client at once', async () => {
    // Its accept queue is full: the connect made here for the request stays pending.
    const stalled = await startStalledListener();
    const connecting = () => execFileSync('ss', ['-tnH', 'state', 'syn-sent', `( dport = :${stalled.port} )`], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
    try {
      const info = await open();
      const before = connecting(); // the helper's own last filler waits too
      const socket = await connect(info.remotePort!);
      const reader = new ByteReader(socket);
      socket.write(GREETING);
      await reader.read(2);
      socket.write(socks5Request('127.0.0.1', stalled.port));
      await waitFor(() => connecting() === before + 1, 5000, 'the connect here under way');
      await env.manager.closeTunnel(info.id);
      // Not after the 30 s bound on a connect here.
      await waitFor(() => connecting() === before, 3000, 'the connect here withdrawn');
      await Promise.race([reader.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the client was not closed')), 3000))]);
    } finally {
      stalled.close();
    }
  });
});
