// Load generators the bench points at a tunnel: the same code drives the engine and ssh.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { seconds, within } from './watchdog';

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** How long one connection may take to echo its byte before the client gives up on the tunnel. */
export const ECHO_BOUND_MS = 10_000;

/** Connects, sends one byte, waits for its echo; resolves with the milliseconds it took. */
function echoOnce(port: number, keep = false, boundMs = ECHO_BOUND_MS): Promise<{ ms: number; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const start = now();
    const s = net.connect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no echo through port ${port} within ${seconds(boundMs)} s`));
    }, boundMs);
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.once('connect', () => s.write('x'));
    s.once('data', () => {
      clearTimeout(timer);
      const ms = now() - start;
      if (!keep) s.destroy();
      resolve({ ms, socket: s });
    });
  });
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * New-connection latency: `count` sequential connect + 1-byte echo round trips, or fewer (not
 * under 60) once `budgetMs` has passed, so a client that takes 40 ms a connection does not
 * hold the bench up for minutes.
 */
export async function latency(port: number, count: number, budgetMs = 3000, echoBoundMs = ECHO_BOUND_MS): Promise<{ p50: number; p99: number; samples: number }> {
  const samples: number[] = [];
  const start = now();
  for (let i = 0; i < count && (i < 60 || now() - start < budgetMs); i++) samples.push((await echoOnce(port, false, echoBoundMs)).ms);
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), samples: samples.length };
}

/** Connections per second: `total` connect + echo + close, `concurrency` at a time. */
export async function connectionsPerSecond(port: number, total: number, concurrency: number, echoBoundMs = ECHO_BOUND_MS): Promise<number> {
  let started = 0;
  const start = now();
  const worker = async () => {
    while (started < total) {
      started++;
      await echoOnce(port, false, echoBoundMs);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return total / ((now() - start) / 1000);
}

/** Opens `count` connections that each echo one byte and then stay open, idle. */
export async function openIdle(port: number, count: number, concurrency = 50): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      const { socket } = await echoOnce(port, true);
      socket.on('error', () => undefined);
      sockets.push(socket);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return sockets;
}

function readExactly(s: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= n) {
        s.off('data', onData);
        s.off('error', reject);
        s.pause();
        if (buf.length > n) s.unshift(buf.subarray(n));
        resolve(buf.subarray(0, n));
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.resume();
  });
}

/**
 * Pushes `bytes` through a SOCKS5 proxy to the sink service and returns megabits per second,
 * timed from the first byte sent to the sink's count coming back. The whole transfer may take
 * `boundMs` (30 s, plus a second for every 8 MB unless given).
 */
export function socksPush(socksPort: number, sinkPort: number, bytes: number, boundMs = 30_000 + bytes / 8e3): Promise<number> {
  const s = net.connect({ host: '127.0.0.1', port: socksPort });
  return within(pushThrough(s, sinkPort, bytes), boundMs, 'the SOCKS5 transfer gave no result', () => s.destroy());
}

async function pushThrough(s: net.Socket, sinkPort: number, bytes: number): Promise<number> {
  s.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  s.write(Buffer.from([5, 1, 0]));
  const method = await readExactly(s, 2);
  if (method[0] !== 5 || method[1] !== 0) throw new Error(`SOCKS method refused: ${method.toString('hex')}`);
  const req = Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, sinkPort >> 8, sinkPort & 0xff]);
  s.write(req);
  const reply = await readExactly(s, 10);
  if (reply[1] !== 0) throw new Error(`SOCKS CONNECT refused with code ${reply[1]}`);
  const block = Buffer.alloc(128 * 1024, 0x5a);
  const start = now();
  const answer = new Promise<string>((resolve, reject) => {
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.once('end', () => resolve(text.trim()));
    s.once('error', reject);
    s.resume();
  });
  let left = bytes;
  await new Promise<void>((resolve) => {
    const write = () => {
      while (left > 0) {
        const n = Math.min(block.length, left);
        left -= n;
        if (!s.write(n === block.length ? block : block.subarray(0, n))) {
          s.once('drain', write);
          return;
        }
      }
      s.end();
      resolve();
    };
    write();
  });
  const counted = Number(await answer);
  const ms = now() - start;
  s.destroy();
  if (counted !== bytes) throw new Error(`the sink counted ${counted} bytes of ${bytes}`);
  return (bytes * 8) / (ms / 1000) / 1e6;
}

/**
 * Runs an iperf3 client through `port`; resolves with the received megabits per second. A client
 * that has no result `boundMs` after it started (the run's length and 20 s unless given) is killed.
 */
export function iperf(port: number, runSeconds: number, reverse: boolean, boundMs = (runSeconds + 20) * 1000): Promise<number> {
  const args = ['-c', '127.0.0.1', '-p', String(port), '-t', String(runSeconds), '-O', '1', '-J'];
  if (reverse) args.push('-R');
  return new Promise((resolve, reject) => {
    execFile('iperf3', args, { timeout: boundMs, killSignal: 'SIGKILL' }, (err, stdout) => {
      if (err?.killed) {
        reject(new Error(`iperf3 gave no result within ${seconds(boundMs)} s`));
        return;
      }
      let report: { error?: string; end?: { sum_received?: { bits_per_second: number } } } = {};
      try {
        report = JSON.parse(stdout);
      } catch {
        // fall through to the error below
      }
      const bps = report.end?.sum_received?.bits_per_second;
      if (bps === undefined || !(bps > 0)) {
        reject(new Error(bps === undefined ? `iperf3 through port ${port} failed: ${report.error ?? err?.message ?? stdout.slice(0, 300)}` : `iperf3 through port ${port} moved no data`));
        return;
      }
      resolve(bps / 1e6);
    });
  });
}

/** Whether 127.0.0.1:port accepts a connection now (closed at once); a connect still pending after `ms` is a no. */
export function accepts(port: number, ms = 2000): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      clearTimeout(timer);
      s.destroy();
      resolve(true);
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, ms);
    s.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Resident set size of a process, in bytes. */
export function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** User + system CPU seconds a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
