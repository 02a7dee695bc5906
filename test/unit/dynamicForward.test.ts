import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { promisify } from 'node:util';
import { TunnelManager, type TunnelInfo } from '../../src/engine';
import { canConnect, freePort, SshdFixture } from '../fixtures/sshd';
import { connect, keepStreaming, pipeThrough, startEchoServer, waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { sshdSuite } from '../helpers/suite';
import { ByteReader, GREETING, openFds, socks4Request, socks5Request, socksConnect } from '../helpers/socks';

const run = promisify(execFile);
const SUCCESS5 = '05000001000000000000';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends raw bytes to the SOCKS port and returns a reader on the socket. */
async function raw(port: number, ...chunks: Buffer[]): Promise<ByteReader> {
  const socket = await connect(port);
  const reader = new ByteReader(socket);
  for (const c of chunks) socket.write(c);
  return reader;
}

async function startHttpServer(host: string, body: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${body} ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('dynamic forward (-D, SOCKS) through a real sshd', function () {
  this.timeout(120_000);
  let echo6: Awaited<ReturnType<typeof startEchoServer>>;
  let web: Awaited<ReturnType<typeof startHttpServer>>;
  const token = randomBytes(8).toString('hex');
  const env = sshdSuite({ manager: { socksHandshakeTimeoutMs: 1000 } });

  before(async () => {
    echo6 = await startEchoServer('::1');
    web = await startHttpServer('127.0.0.1', token);
  });
  after(async () => {
    await web?.close();
    await echo6?.close();
  });

  const openSocks = (localPort = 0): Promise<TunnelInfo> => env.manager.createTunnel({ server: 'test', type: 'dynamic', localPort });
  const stats = (info: TunnelInfo) => env.manager.getTunnel(info.id)!.stats;

  describe('data path', () => {
    it('port 0 reports the real port; 64 MiB each way with identical SHA-256; bytes exclude the handshake', async () => {
      const info = await openSocks();
      assert.equal(info.state, 'active');
      assert.equal(info.type, 'dynamic');
      assert.ok(info.localPort > 0);
      assert.equal(info.remoteHost, undefined);
      assert.equal(info.remotePort, undefined);
      const size = 64 * 1024 * 1024;
      const socket = await socksConnect(info.localPort, '127.0.0.1', env.echo.port);
      const result = await pipeThrough(socket, size);
      assert.equal(result.bytes, size);
      assert.equal(result.received, result.sent);
      await waitFor(() => stats(info).connectionsActive === 0, 5000, 'connection released');
      const s = stats(info);
      assert.equal(s.bytesOut, size, 'bytes sent into SSH, without the greeting and request');
      assert.equal(s.bytesIn, size, 'bytes delivered to the client, without the SOCKS replies');
      assert.equal(s.connectionsTotal, 1);
      assert.equal(s.errors, 0);
    });

    it('carries 200 concurrent connections with exact stats', async () => {
      const info = await openSocks();
      const size = 64 * 1024;
      const results = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => pipeThrough(await socksConnect(info.localPort, '127.0.0.1', env.echo.port, i % 2 ? 5 : 4), size)),
      );
      for (const r of results) {
        assert.equal(r.bytes, size);
        assert.equal(r.received, r.sent);
      }
      await waitFor(() => stats(info).connectionsActive === 0, 10_000, 'all connections released');
      const s = stats(info);
      assert.equal(s.connectionsTotal, 200);
      assert.equal(s.bytesOut, 200 * size);
      assert.equal(s.bytesIn, 200 * size);
      assert.equal(s.errors, 0);
    });

    it('close under load ends streaming and mid-handshake connections alike; the count ends at 0', async () => {
      const info = await openSocks();
      const events: TunnelInfo[] = [];
      env.manager.onDidChangeTunnel((t) => t.id === info.id && events.push(t));
      const streaming = await Promise.all(Array.from({ length: 20 }, () => socksConnect(info.localPort, '127.0.0.1', env.echo.port)));
      const closes = streaming.map(keepStreaming);
      const halfway = await Promise.all(Array.from({ length: 5 }, () => raw(info.localPort, Buffer.from([0x05, 0x01]))));
      await waitFor(() => stats(info).connectionsActive === 25, 5000, '25 connections');
      await sleep(100);
      await env.manager.closeTunnel(info.id);
      await Promise.all([...closes, ...halfway.map((r) => r.closed)]);
      await waitFor(() => events.at(-1)!.stats.connectionsActive === 0, 5000, 'the last event to count 0 active');
      assert.equal(events.at(-1)!.state, 'closed');
      assert.ok(events.at(-1)!.stats.bytesOut > 0);
      await waitFor(() => env.echo.connections() === 0, 5000, 'the far ends to close');
      assert.equal(await canConnect('127.0.0.1', info.localPort), false);
    });

    it('listens on IPv6 loopback when asked (localHost ::1)', async () => {
      const info = await env.manager.createTunnel({ server: 'test', type: 'dynamic', localHost: '::1', localPort: 0 });
      assert.equal(info.localHost, '::1');
      const r = await pipeThrough(await socksConnect(info.localPort, '127.0.0.1', env.echo.port, 5, '::1'), 50_000);
      assert.equal(r.received, r.sent);
      assert.equal(await canConnect('127.0.0.1', info.localPort), false, 'only ::1 is bound');
    });

    it('close ends its connections and frees the port at once', async () => {
      const info = await openSocks();
      const socket = await socksConnect(info.localPort, '127.0.0.1', env.echo.port);
      const reader = new ByteReader(socket);
      socket.write('ping');
      assert.equal((await reader.read(4)).toString(), 'ping');
      await env.manager.closeTunnel(info.id);
      await reader.closed;
      assert.equal(env.manager.getTunnel(info.id), undefined);
      assert.equal(await canConnect('127.0.0.1', info.localPort), false, 'nothing listens after close');
      const again = await openSocks(info.localPort);
      assert.equal(again.localPort, info.localPort);
      const s2 = await socksConnect(again.localPort, '127.0.0.1', env.echo.port);
      const r = await pipeThrough(s2, 1000);
      assert.equal(r.received, r.sent);
    });
  });

  describe('real clients', () => {
    let info: TunnelInfo;
    beforeEach(async () => {
      info = await openSocks();
    });

    const curl = async (flag: string, url: string) => {
      const { stdout } = await run('curl', ['-sS', '--fail', '--max-time', '15', flag, `127.0.0.1:${info.localPort}`, url], {
        env: { PATH: process.env.PATH }, // no *_proxy variables from the environment
      });
      return stdout;
    };

    it('curl --socks5-hostname (the proxy resolves localhost)', async () => {
      assert.equal(await curl('--socks5-hostname', `http://localhost:${web.port}/a`), `${token} /a`);
    });
    it('curl --socks5 (curl resolves, sends an IPv4 address)', async () => {
      assert.equal(await curl('--socks5', `http://127.0.0.1:${web.port}/b`), `${token} /b`);
    });
    it('curl --socks4a (host name in the request)', async () => {
      assert.equal(await curl('--socks4a', `http://localhost:${web.port}/c`), `${token} /c`);
    });
    it('curl --socks4', async () => {
      assert.equal(await curl('--socks4', `http://127.0.0.1:${web.port}/d`), `${token} /d`);
      await waitFor(() => stats(info).connectionsActive === 0, 5000, 'released');
      assert.equal(stats(info).errors, 0);
    });

    it('the socks npm client: IPv6 (::1), domain (localhost), SOCKS4 and 4a targets', async () => {
      for (const [host, port, type] of [
        ['::1', echo6.port, 5],
        ['localhost', env.echo.port, 5],
        ['127.0.0.1', env.echo.port, 4],
        ['localhost', env.echo.port, 4],
      ] as const) {
        const r = await pipeThrough(await socksConnect(info.localPort, host, port, type), 100_000);
        assert.equal(r.bytes, 100_000, `${host} SOCKS${type}`);
        assert.equal(r.received, r.sent, `${host} SOCKS${type}`);
      }
      await waitFor(() => stats(info).connectionsActive === 0, 5000, 'released');
      assert.equal(stats(info).bytesOut, 400_000);
      assert.equal(stats(info).errors, 0);
    });

    it('IPv6 target as a raw SOCKS5 request (ATYP 4)', async () => {
      const reader = await raw(info.localPort, GREETING, socks5Request('::1', echo6.port), Buffer.from('six'));
      assert.equal((await reader.read(2)).toString('hex'), '0500');
      assert.equal((await reader.read(10)).toString('hex'), SUCCESS5);
      assert.equal((await reader.read(3)).toString(), 'six');
      reader.socket.end();
    });
  });

  describe('handshake edge cases', () => {
    let info: TunnelInfo;
    beforeEach(async () => {
      info = await openSocks();
    });

    it('a greeting written one byte at a time, the request pipelined behind it and data pipelined behind the request', async () => {
      const socket = await connect(info.localPort);
      const reader = new ByteReader(socket);
      for (const byte of GREETING) {
        socket.write(Buffer.from([byte]));
        await sleep(15); // separate TCP segments (TCP_NODELAY is on)
      }
      assert.equal((await reader.read(2)).toString('hex'), '0500');
      // The request and the first data in one segment, before any reply to it.
      socket.write(Buffer.concat([socks5Request('127.0.0.1', env.echo.port), Buffer.from('early bytes')]));
      assert.equal((await reader.read(10)).toString('hex'), SUCCESS5);
      assert.equal((await reader.read(11)).toString(), 'early bytes');
      socket.end();
      await reader.closed;
      await waitFor(() => stats(info).connectionsActive === 0, 5000, 'released');
      assert.equal(stats(info).bytesOut, 11);
      assert.equal(stats(info).bytesIn, 11);
    });

    it('greeting, request and data in one segment; then the whole handshake one byte at a time', async () => {
      const all = Buffer.concat([GREETING, socks5Request('localhost', env.echo.port), Buffer.from('pipelined')]);
      const one = await raw(info.localPort, all);
      assert.equal((await one.read(12)).toString('hex'), '0500' + SUCCESS5);
      assert.equal((await one.read(9)).toString(), 'pipelined');
      one.socket.end();
      const socket = await connect(info.localPort);
      const reader = new ByteReader(socket);
      for (const byte of all) {
        socket.write(Buffer.from([byte]));
        await sleep(2);
      }
      assert.equal((await reader.read(12)).toString('hex'), '0500' + SUCCESS5);
      assert.equal((await reader.read(9)).toString(), 'pipelined');
      socket.end();
    });

    it('SOCKS4a request one byte at a time with pipelined data', async () => {
      const all = Buffer.concat([socks4Request('localhost', env.echo.port), Buffer.from('four')]);
      const socket = await connect(info.localPort);
      const reader = new ByteReader(socket);
      for (const byte of all) {
        socket.write(Buffer.from([byte]));
        await sleep(2);
      }
      const reply = await reader.read(8);
      assert.equal(reply[0], 0x00);
      assert.equal(reply[1], 0x5a, 'request granted');
      assert.equal((await reader.read(4)).toString(), 'four');
      socket.end();
    });

    it('BIND and UDP ASSOCIATE are refused with 0x07, SOCKS4 BIND with 0x5B, an unknown address type with 0x08', async () => {
      for (const command of [0x02, 0x03]) {
        const reader = await raw(info.localPort, GREETING, socks5Request('127.0.0.1', env.echo.port, command));
        assert.equal((await reader.rest()).toString('hex'), '0500' + '05070001000000000000', `command ${command}`);
      }
      const bind4 = await raw(info.localPort, socks4Request('127.0.0.1', env.echo.port, 0x02));
      assert.equal((await bind4.rest()).toString('hex'), '005b000000000000');
      const atyp = await raw(info.localPort, GREETING, Buffer.from([0x05, 0x01, 0x00, 0x07, 127, 0, 0, 1, 0, 80]));
      assert.equal((await atyp.rest()).toString('hex'), '0500' + '05080001000000000000');
      await waitFor(() => stats(info).connectionsActive === 0, 5000, 'released');
      assert.equal(stats(info).errors, 4);
      assert.match(env.manager.getTunnel(info.id)!.lastError!, /address type 7 not supported/);
      assert.equal(env.manager.getTunnel(info.id)!.state, 'active');
      assert.equal(env.echo.connections(), 0, 'no refused request reached a target');
    });

    it('a refused target (closed port) is answered 0x05 for SOCKS5 and 0x5B for SOCKS4', async () => {
      const closed = await freePort();
      const five = await raw(info.localPort, GREETING, socks5Request('127.0.0.1', closed));
      assert.equal((await five.rest()).toString('hex'), '0500' + '05050001000000000000');
      const four = await raw(info.localPort, socks4Request('127.0.0.1', closed));
      assert.equal((await four.rest()).toString('hex'), '005b000000000000');
      await waitFor(() => stats(info).connectionsActive === 0, 5000, 'released');
      const t = env.manager.getTunnel(info.id)!;
      assert.equal(t.stats.errors, 2);
      assert.match(t.lastError!, new RegExp(`nothing listens on ${closed} on test \\(test could not open 127\\.0\\.0\\.1:${closed}: connection refused\\)`));
      assert.equal(t.state, 'active');
    });

    it('a client that never finishes its handshake is dropped after the handshake timeout', async () => {
      const reader = await raw(info.localPort, Buffer.from([0x05, 0x01]));
      const started = Date.now();
      await reader.closed;
      const waited = Date.now() - started;
      assert.ok(waited >= 900 && waited < 5000, `dropped after ${waited}ms (timeout 1000ms)`);
      await waitFor(() => stats(info).connectionsActive === 0, 5000, 'released');
    });

    it('a client that shuts down its sending side mid-handshake is dropped at once, not at the timeout', async () => {
      const reader = await raw(info.localPort, Buffer.from([0x05, 0x01, 0x00, 0x05, 0x01]));
      const started = Date.now();
      reader.socket.end();
      assert.equal((await reader.rest()).toString('hex'), '0500');
      const waited = Date.now() - started;
      assert.ok(waited < 800, `dropped after ${waited}ms (handshake timeout 1000ms)`);
      await waitFor(() => stats(info).connectionsActive === 0, 5000, 'released');
    });

    it('a refused client that keeps its side open is still closed by the server', async () => {
      const closedPort = await freePort();
      const socket = net.connect({ host: '127.0.0.1', port: info.localPort, allowHalfOpen: true });
      const reader = new ByteReader(socket);
      socket.write(Buffer.concat([GREETING, socks5Request('127.0.0.1', closedPort)]));
      assert.equal((await reader.read(12)).toString('hex'), '0500' + '05050001000000000000');
      await waitFor(() => stats(info).connectionsActive === 0, 5000, 'the server released the refused connection');
      assert.equal(socket.writableEnded, false, 'the client never ended its side');
      socket.destroy();
    });

    it('a client that offers only authenticated methods gets 0xFF', async () => {
      const reader = await raw(info.localPort, Buffer.from([0x05, 0x01, 0x02]));
      assert.equal((await reader.rest()).toString('hex'), '05ff');
    });
  });

  describe('garbage', () => {
    it('3000 random byte strings: no crash, no leaked socket or fd, other connections unharmed', async function () {
      this.timeout(120_000);
      // Connecting to a random address would leave loopback: a server that only permits the
      // echo port refuses any such request itself (by name, before resolving anything).
      const fenced = await SshdFixture.start({ extraConfig: [`PermitOpen 127.0.0.1:${env.echo.port}`] });
      const m = new TunnelManager({ servers: staticServers(fenced.server('fenced')), socksHandshakeTimeoutMs: 500 });
      try {
        const info = await m.createTunnel({ server: 'fenced', type: 'dynamic', localPort: 0 });
        const bystander = await socksConnect(info.localPort, '127.0.0.1', env.echo.port);
        const bystanderReader = new ByteReader(bystander);
        bystander.write('before');
        assert.equal((await bystanderReader.read(6)).toString(), 'before');
        await sleep(100);
        const fdsBefore = openFds();
        let seed = 12345;
        const random = () => {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          return seed / 0x80000000;
        };
        const total = 3000;
        const batch = 250;
        for (let start = 0; start < total; start += batch) {
          await Promise.all(
            Array.from({ length: batch }, async (_, k) => {
              const i = start + k;
              const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 80) }, () => Math.floor(random() * 256)));
              // Bias some toward the parser's branches: SOCKS4/5 version bytes first.
              if (i % 5 === 1) bytes[0] = 0x05;
              if (i % 5 === 2) bytes[0] = 0x04;
              const socket = await connect(info.localPort);
              socket.on('error', () => undefined);
              const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
              socket.resume();
              socket.write(bytes);
              // Most clients hang up; every tenth waits to be dropped by the server.
              if (i % 10 !== 0) socket.end();
              const guard = setTimeout(() => socket.destroy(new Error('server did not close')), 5000);
              await closed;
              clearTimeout(guard);
            }),
          );
        }
        await waitFor(() => m.getTunnel(info.id)!.stats.connectionsActive === 1, 10_000, 'only the bystander left');
        const s = m.getTunnel(info.id)!;
        assert.equal(s.state, 'active');
        assert.equal(s.stats.connectionsTotal, total + 1);
        assert.ok(s.stats.errors > 0, 'refusals are counted');
        // The bystander still works.
        bystander.write('after');
        assert.equal((await bystanderReader.read(5)).toString(), 'after');
        await waitFor(() => openFds() <= fdsBefore, 10_000, `open fds back to ${fdsBefore} (now ${openFds()})`);
        // And new clients are served.
        const r = await pipeThrough(await socksConnect(info.localPort, '127.0.0.1', env.echo.port), 10_000);
        assert.equal(r.received, r.sent);
        bystander.end();
        await bystanderReader.closed;
        await waitFor(() => m.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'all released');
      } finally {
        await m.dispose();
        await fenced.stop();
      }
    });
  });

  describe('forwarding forbidden on the server → 0x02', () => {
    for (const [label, extraConfig] of [
      ['PermitOpen restricting targets', ['PermitOpen 127.0.0.1:1']],
      ['AllowTcpForwarding no', ['AllowTcpForwarding no']],
    ] as const) {
      it(label, async () => {
        const fixture = await SshdFixture.start({ extraConfig: [...extraConfig] });
        const m = new TunnelManager({ servers: staticServers(fixture.server('forbidden')) });
        try {
          const info = await m.createTunnel({ server: 'forbidden', type: 'dynamic', localPort: 0 });
          const five = await raw(info.localPort, GREETING, socks5Request('127.0.0.1', env.echo.port));
          assert.equal((await five.rest()).toString('hex'), '0500' + '05020001000000000000');
          const four = await raw(info.localPort, socks4Request('127.0.0.1', env.echo.port));
          assert.equal((await four.rest()).toString('hex'), '005b000000000000');
          await waitFor(() => m.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'released');
          const t = m.getTunnel(info.id)!;
          assert.equal(t.stats.errors, 2);
          assert.match(t.lastError!, /administratively prohibited/);
          assert.equal(t.state, 'active');
        } finally {
          await m.dispose();
          await fixture.stop();
        }
      });
    }
  });
});
