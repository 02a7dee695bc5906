import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { TunnelManager, type TunnelInfo } from '../../src/engine';
import { SshdFixture } from '../fixtures/sshd';
import { Fleet, raiseFdLimit } from '../helpers/fleet';
import { waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';

/**
 * Issue 26 at scale: 10,000 connections open at once through one -L tunnel to a real sshd, each
 * one's echo checked by SHA-256; then all closed (a third each with end, destroy and reset): every
 * connection at the far end closes, no channel is left on the SSH connection, and this process's
 * (the engine's) file descriptors and heap come back near where they started.
 *
 * File descriptors: each end of a connection is one, and the machine's limit is 20,000 per process
 * (hard; not even root raises it). So the clients and the far echo run in processes of their own
 * (test/helpers/fleet.ts): this process holds the tunnel's 10,000, sshd's session process the
 * 10,000 to the echo, the clients and the echo 10,000 each. Each process's soft limit is raised to
 * the hard one (Node does so for itself when it starts, and sshd and the fleet, started from Node,
 * inherit it, so here this changes nothing), and the test checks first that each may hold what it will.
 * Ports: the clients' 10,000 and sshd's 10,000 to the echo come from the ephemeral range (28,232 here).
 */
const COUNT = 10_000;
const CONCURRENCY = 200;
/** Random bytes each connection sends and must get back. */
const SIZE = 1024;
/** File descriptors a process needs beyond its connections (its modules, pipes, the SSH socket). */
const HEADROOM = 500;
const WARM_UP = 500;
/** Left after closing: a few descriptors may be opened in between (timers, pipes), and V8's heap keeps some of what it grew. */
const FD_TOLERANCE = 5;
const HEAP_TOLERANCE = 16 * 1024 * 1024;
const MiB = 1024 * 1024;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

function ephemeralPorts(): number {
  const [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  return high - low + 1;
}

describe(`${COUNT.toLocaleString('en')} connections open at once through one -L tunnel, then closed`, function () {
  this.timeout(120_000);
  let sshd: SshdFixture;
  let echo: Fleet;
  let clients: Fleet;
  let manager: TunnelManager;

  before(async () => {
    [sshd, echo, clients] = await Promise.all([SshdFixture.start(), Fleet.start('echo'), Fleet.start('clients')]);
    // The default (8192) would refuse connections past it: 10,000 open at once need more (sshd allows 16,384).
    manager = new TunnelManager({ servers: staticServers(sshd.server('s')), maxChannelsPerConnection: COUNT + 2_000 });
  });
  after(async () => {
    await manager?.dispose();
    await clients?.stop();
    await echo?.stop();
    await sshd?.stop();
  });

  it('each process may hold its connections, and the ephemeral range has a port for each', () => {
    // sshd's session process, forked when the engine connects, inherits the listener's limit.
    const processes: Array<[string, number | 'self']> = [['this process (the engine)', 'self'], ['sshd', sshd.pid!], ['the echo', echo.pid], ['the clients', clients.pid]];
    for (const [name, pid] of processes) {
      const limit = raiseFdLimit(pid);
      assert.ok(limit >= COUNT + HEADROOM, `${name} may open ${limit} files, fewer than ${COUNT + HEADROOM}`);
    }
    assert.ok(ephemeralPorts() >= COUNT + HEADROOM, `only ${ephemeralPorts()} ephemeral ports`);
  });

  it('every connection carries its bytes, every one closes at the far end, and nothing is left', async () => {
    const info = await manager.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    const tunnel = (): TunnelInfo => manager.getTunnel(info.id)!;
    const channels = () => manager.serverStatus('s').channels;
    const nothingHeld = async () => tunnel().stats.connectionsActive === 0 && tunnel().stats.connectionsWaiting === 0 && channels() === 0 && (await echo.count()).open === 0;

    // Warm-up: the first connections load code and fill pools, which would count as growth.
    const warm = await clients.open(info.localPort, WARM_UP, { concurrency: CONCURRENCY, size: SIZE, timeoutMs: 20_000 });
    assert.equal(warm.verified, WARM_UP, `warm-up: ${warm.failures.join('; ')}`);
    await clients.close(['end'], 20_000);
    await waitFor(nothingHeld, 10_000, 'the warm-up closed everywhere');
    const fdsBefore = openFds();
    const heapBefore = await settledHeap();

    const opened = await clients.open(info.localPort, COUNT, { concurrency: CONCURRENCY, size: SIZE, timeoutMs: 60_000 });
    assert.equal(opened.failed, 0, `${opened.failed} connections failed: ${opened.failures.join('; ')}`);
    assert.equal(opened.verified, COUNT);
    // All open at once, everywhere: the clients hold them, the engine counts them, sshd has a channel and the echo a connection for each.
    const state = await clients.state();
    assert.deepEqual({ held: state.held, closedEarly: state.closedEarly }, { held: COUNT, closedEarly: 0 });
    await waitFor(async () => (await echo.count()).open === COUNT, 10_000, `${COUNT} connections open at the echo`);
    assert.equal(tunnel().stats.connectionsActive, COUNT);
    assert.equal(channels(), COUNT);
    const fdsOpen = openFds();
    const heapOpen = await settledHeap();

    const closed = await clients.close(['end', 'destroy', 'reset'], 60_000);
    assert.equal(closed.closed, COUNT);
    const drainStart = Date.now();
    await waitFor(nothingHeld, 30_000, 'every connection and channel closed, in the engine and at the echo').catch(async (err: Error) => {
      throw new Error(`${err.message}: ${tunnel().stats.connectionsActive} open and ${tunnel().stats.connectionsWaiting} waiting in the engine, ${channels()} channels, ${(await echo.count()).open} at the echo`);
    });
    const drainMs = closed.ms + (Date.now() - drainStart);
    await waitFor(() => openFds() <= fdsBefore + FD_TOLERANCE, 10_000, `file descriptors back to ${fdsBefore} (now ${openFds()})`);
    const heapAfter = await settledHeap();
    const { stats } = tunnel();
    console.log(`      ${COUNT} connections opened and checked in ${(opened.ms / 1000).toFixed(1)} s, all closed in ${(drainMs / 1000).toFixed(1)} s; ` +
      `fds ${fdsBefore} → ${fdsOpen} → ${openFds()}; heap ${(heapBefore / MiB).toFixed(1)} → ${(heapOpen / MiB).toFixed(1)} → ${(heapAfter / MiB).toFixed(1)} MiB ` +
      `(${((heapOpen - heapBefore) / COUNT / 1024).toFixed(1)} KiB per open connection)`);
    assert.ok(heapAfter - heapBefore < HEAP_TOLERANCE, `heap ${(heapBefore / MiB).toFixed(1)} MiB before, ${(heapAfter / MiB).toFixed(1)} MiB after`);
    assert.equal(stats.errors, 0);
    assert.equal(stats.connectionsTotal, WARM_UP + COUNT);
    assert.equal(stats.bytesIn, (WARM_UP + COUNT) * SIZE);
    assert.equal(stats.bytesOut, (WARM_UP + COUNT) * SIZE);
    assert.equal((await echo.count()).accepted, WARM_UP + COUNT);
    assert.equal(tunnel().state, 'active');
  });
});
