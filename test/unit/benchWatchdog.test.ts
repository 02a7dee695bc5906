import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import type { BenchContext } from '../../bench/context';
import { iperf, latency, socksPush } from '../../bench/load';
import { EngineHost, EngineSide, engineServers, OpenSshSide, type Forward, type Open, type Side } from '../../bench/sides';
import { measureThroughput } from '../../bench/throughput';
import { freePort, SshdFixture } from '../fixtures/sshd';
import { Fleet } from '../helpers/fleet';
import { isListening } from '../helpers/openssh';
import { alive, childrenOfUs } from '../helpers/processes';

/**
 * The bench never hangs: when one of its tools stalls (iperf3, a client, ssh, the engine host;
 * each stalled for real here, with SIGSTOP), the measurement fails within its bound with an error
 * naming what it was doing, and what it started is ended.
 */

const root = path.join(__dirname, '..', '..');

/** Rejects if `promise` has not settled after `ms`: the watchdog under test must fire well before. */
function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

async function rejection(promise: Promise<unknown>, ms: number): Promise<string> {
  try {
    await settlesWithin(promise, ms);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('it resolved');
}

/** An `iperf3 -s` on loopback, stopped (SIGSTOP) once it listens: it accepts connections and never answers. */
async function stoppedIperfServer(): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('iperf3', ['-s', '-B', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const deadline = Date.now() + 5_000;
  while (!isListening(port)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error('iperf3 -s did not listen');
    await new Promise((r) => setTimeout(r, 20));
  }
  proc.kill('SIGSTOP');
  return { port, proc };
}

const iperfClients = () => childrenOfUs().filter((c) => /iperf3 -c/.test(c.cmdline));

describe('the bench names a stalled tool and goes no further', function () {
  this.timeout(60_000);
  let sshd: SshdFixture;
  let iperfServer: { port: number; proc: ChildProcess };
  let host: EngineHost | undefined;
  const startHost = () => EngineHost.start(path.join(root, 'bench', 'engineHost.ts'), engineServers(sshd), ['-r', 'tsx/cjs']);

  before(async () => {
    sshd = await SshdFixture.start();
    iperfServer = await stoppedIperfServer();
  });
  after(async () => {
    iperfServer?.proc.kill('SIGKILL');
    await host?.stop();
    await sshd?.stop();
  });

  it('iperf3 with no result: its client is killed and the error says so', async () => {
    const started = Date.now();
    const message = await rejection(iperf(iperfServer.port, 1, false, 2_000), 10_000);
    assert.equal(message, 'iperf3 gave no result within 2 s');
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    assert.deepEqual(iperfClients(), []);
  });

  it('a throughput figure whose iperf3 stalls fails naming the figure and the side, and its tunnel is closed', async () => {
    host = await startHost();
    const opened: Open[] = [];
    // The real engine side, noting what it opened.
    const engine = new EngineSide(host, startHost);
    const noting: Side = { name: 'engine', carries: () => true, open: async (forward: Forward) => {
      const open = await engine.open(forward);
      opened.push(open);
      return open;
    } };
    const ctx: BenchContext = {
      quick: true, rounds: 1, connectionRounds: 1, coldRounds: 1, many: 100,
      wanted: () => true, add: (f) => f,
      sides: [noting, new OpenSshSide(sshd)], sshd,
      services: { echoPort: 0, sinkPort: 0, iperfPort: iperfServer.port },
      engine: { host, start: startHost },
    };
    const forward: Forward = { type: 'local', targetPort: iperfServer.port };
    const message = await rejection(measureThroughput(ctx, 'throughput -L upload (iperf3)', forward, (p) => iperf(p, 1, false, 2_000)), 20_000);
    assert.equal(message, 'throughput -L upload (iperf3), engine: iperf3 gave no result within 2 s');
    assert.equal(opened.length, 1);
    assert.equal(isListening(opened[0].port), false, 'the tunnel of the failed figure is closed');
    assert.deepEqual(iperfClients(), []);
    assert.ok(await host.call({ op: 'cpu' }), 'the engine host serves on');
  });

  it('an engine host that stalls: a request fails naming it, and stop() still ends the host', async () => {
    const stalled = await startHost();
    process.kill(stalled.pid, 'SIGSTOP');
    const message = await rejection(stalled.call({ op: 'rss' }, 1_000), 10_000);
    assert.equal(message, "the engine host gave no answer to 'rss' within 1 s");
    await settlesWithin(stalled.stop(), 20_000);
    assert.equal(alive(stalled.pid), false);
  });

  it('ssh that stalls: the client gives up on the tunnel, naming the port', async () => {
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const open = await new OpenSshSide(sshd).open({ type: 'local', targetPort: (echo.address() as net.AddressInfo).port });
    try {
      assert.ok((await latency(open.port, 1)).p50 > 0, 'the tunnel works before it stalls');
      process.kill(open.pid, 'SIGSTOP');
      const message = await rejection(latency(open.port, 5, 3_000, 1_000), 10_000);
      assert.equal(message, `no echo through port ${open.port} within 1 s`);
    } finally {
      process.kill(open.pid, 'SIGCONT');
      await open.close();
      echo.close();
    }
  });

  it('a SOCKS5 transfer whose proxy never answers: the error says so', async () => {
    const silent = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const message = await rejection(socksPush((silent.address() as net.AddressInfo).port, 1, 1024, 1_000), 10_000);
      assert.equal(message, 'the SOCKS5 transfer gave no result within 1 s');
    } finally {
      silent.close();
    }
  });

  it('a process of clients that stalls: the step is named, and stop() still ends it', async () => {
    const clients = await Fleet.start('clients');
    process.kill(clients.pid, 'SIGSTOP');
    const message = await rejection(clients.open(1, 10, { concurrency: 1, size: 1, timeoutMs: 1_000 }), 10_000);
    assert.equal(message, 'opening 10 connections: the clients process gave no answer within 1 s');
    await settlesWithin(clients.stop(), 20_000);
    assert.equal(alive(clients.pid), false);
  });
});

