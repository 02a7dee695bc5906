import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { SocksClient } from 'socks';
import { TunnelManager, type TunnelInfo } from '../../src/engine';
import { SshdFixture } from '../fixtures/sshd';
import { connect, startEchoServer, waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { openFds } from '../helpers/socks';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

const MiB = 1024 * 1024;
const payload = randomBytes(MiB);
const payloadHash = createHash('sha256').update(payload).digest('hex');

/** Sends the 1 MiB payload over `socket` and checks that exactly it comes back. */
function echoPayload(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
      if (received >= payload.length) socket.end();
    });
    socket.once('error', reject);
    socket.once('close', () => {
      const digest = hash.digest('hex');
      if (received !== payload.length || digest !== payloadHash) reject(new Error(`corrupted: ${received} bytes, ${digest}`));
      else resolve();
    });
    socket.write(payload);
  });
}

async function viaSocks(proxyPort: number, port: number): Promise<net.Socket> {
  const { socket } = await SocksClient.createConnection({
    proxy: { host: '127.0.0.1', port: proxyPort, type: 5 },
    command: 'connect',
    destination: { host: '127.0.0.1', port },
    timeout: 60_000,
  });
  socket.setNoDelay(true);
  return socket;
}

describe('load (loopback, bounded)', function () {
  this.timeout(300_000);
  let sshd: SshdFixture;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let manager: TunnelManager;

  before(async () => {
    sshd = await SshdFixture.start();
    echo = await startEchoServer();
    manager = new TunnelManager({ servers: staticServers(sshd.server('s')), reconnect: { baseDelayMs: 200, maxDelayMs: 2000 } });
  });
  after(async () => {
    await manager?.dispose();
    await echo?.close();
    await sshd?.stop();
  });

  /** 1,000 connections at once, 1 MiB each way, then exact stats: the same check for -L and SOCKS. */
  async function thousandConcurrent(info: TunnelInfo, open: () => Promise<net.Socket>, label: string): Promise<void> {
    const started = Date.now();
    const sockets = await Promise.all(Array.from({ length: 1000 }, open));
    await Promise.all(sockets.map(echoPayload));
    const seconds = (Date.now() - started) / 1000;
    await waitFor(() => manager.getTunnel(info.id)!.stats.connectionsActive === 0, 20_000, 'all released');
    const { stats } = manager.getTunnel(info.id)!;
    assert.equal(stats.errors, 0);
    assert.equal(stats.connectionsTotal, 1000);
    assert.equal(stats.bytesIn, 1000 * MiB);
    assert.equal(stats.bytesOut, 1000 * MiB);
    console.log(`      1,000 × 1 MiB each way through ${label} in ${seconds.toFixed(1)} s`);
    await manager.closeTunnel(info.id);
  }

  it('1,000 concurrent connections through a local forward, 1 MiB each way, no error or corruption', async () => {
    const info = await manager.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    await thousandConcurrent(info, () => connect(info.localPort), '-L');
  });

  it('1,000 concurrent connections through SOCKS, 1 MiB each way, no error or corruption', async () => {
    const info = await manager.createTunnel({ server: 's', type: 'dynamic', localPort: 0 });
    await thousandConcurrent(info, () => viaSocks(info.localPort, echo.port), 'SOCKS');
  });

  it('10,000 short connections in sequence leave file descriptors and heap where they started', async () => {
    const info = await manager.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    const once = async () => {
      const s = await connect(info.localPort);
      await new Promise<void>((resolve, reject) => {
        s.once('data', () => s.end());
        s.once('error', reject);
        s.once('close', () => resolve());
        s.write('x');
      });
    };
    for (let i = 0; i < 200; i++) await once(); // warm up pools and JIT
    await waitFor(() => manager.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'warm-up released');
    const fdsBefore = openFds();
    const heapBefore = await settledHeap();
    const started = Date.now();
    for (let i = 0; i < 10_000; i++) await once();
    const seconds = (Date.now() - started) / 1000;
    await waitFor(() => manager.getTunnel(info.id)!.stats.connectionsActive === 0, 10_000, 'all released');
    await waitFor(() => openFds() <= fdsBefore + 2, 10_000, `fds back to ${fdsBefore} (now ${openFds()})`);
    const heapAfter = await settledHeap();
    const grew = (heapAfter - heapBefore) / MiB;
    console.log(`      10,000 sequential connections in ${seconds.toFixed(1)} s; fds ${fdsBefore} → ${openFds()}; heap ${(heapBefore / MiB).toFixed(1)} → ${(heapAfter / MiB).toFixed(1)} MiB`);
    assert.ok(grew < 8, `heap grew by ${grew.toFixed(1)} MiB over 10,000 connections (tolerance 8 MiB)`);
    const { stats } = manager.getTunnel(info.id)!;
    assert.equal(stats.errors, 0);
    assert.equal(stats.connectionsTotal, 10_200);
    await manager.closeTunnel(info.id);
  });

  it('soak: random connects and disconnects for a minute, with a forced reconnect in the middle', async () => {
    const seconds = Number(process.env.SOAK_SECONDS ?? 60);
    const local = await manager.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    const socks = await manager.createTunnel({ server: 's', type: 'dynamic', localPort: 0 });
    const fdsBefore = openFds();
    const deadline = Date.now() + seconds * 1000;
    const counts = { completed: 0, aborted: 0, failed: 0, corrupted: 0 };
    let restarted = false;

    const one = async () => {
      const size = 1 + Math.floor(Math.random() * 256 * 1024);
      const abort = Math.random() < 0.2;
      let socket: net.Socket;
      try {
        socket = Math.random() < 0.5 ? await connect(local.localPort) : await viaSocks(socks.localPort, echo.port);
      } catch {
        counts.failed++;
        return;
      }
      await new Promise<void>((resolve) => {
        const data = payload.subarray(0, size);
        const hash = createHash('sha256');
        let received = 0;
        socket.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          received += chunk.length;
          if (received >= size) socket.end();
        });
        socket.on('error', () => undefined);
        socket.once('close', () => {
          if (abort) counts.aborted++;
          else if (received === size) {
            if (hash.digest('hex') === createHash('sha256').update(data).digest('hex')) counts.completed++;
            else counts.corrupted++;
          } else counts.failed++;
          resolve();
        });
        socket.write(data);
        if (abort) setTimeout(() => socket.destroy(), Math.random() * 20);
      });
    };

    const worker = async () => {
      while (Date.now() < deadline) {
        if (!restarted && Date.now() > deadline - (seconds * 1000) / 2) {
          restarted = true;
          await sshd.restart();
        }
        await one();
        if (manager.getTunnel(local.id)!.state !== 'active') await new Promise((r) => setTimeout(r, 50));
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    assert.ok(restarted, 'the forced reconnect happened');
    await waitFor(() => manager.getTunnel(local.id)!.state === 'active' && manager.getTunnel(socks.id)!.state === 'active', 15_000, 'both active');
    await waitFor(
      () => manager.getTunnel(local.id)!.stats.connectionsActive === 0 && manager.getTunnel(socks.id)!.stats.connectionsActive === 0,
      15_000,
      'all released',
    );
    await waitFor(() => openFds() <= fdsBefore + 2, 10_000, `fds back to ${fdsBefore} (now ${openFds()})`);
    console.log(`      soak ${seconds}s: ${counts.completed} completed, ${counts.aborted} aborted by the client, ${counts.failed} failed (around the reconnect), ${counts.corrupted} corrupted`);
    assert.equal(counts.corrupted, 0);
    assert.ok(counts.completed > 500, `enough traffic moved (${counts.completed})`);
    // Failures are confined to the outage: far fewer than what completed.
    assert.ok(counts.failed < counts.completed / 10, `failures stay around the reconnect (${counts.failed})`);
    const check = await connect(local.localPort);
    await echoPayload(check);
  });
});
