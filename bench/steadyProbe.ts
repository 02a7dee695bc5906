// `npx tsx bench/steadyProbe.ts [--warm N] [--rounds R] [--lat N] [--cps N] [--profile DIR] [--trace FILE] [--base DIR]`
// The per-connection figures in steady state: one engine process and one `ssh -N -L`, each
// kept for the whole run and warmed with N untimed connections, then measured in alternating
// rounds (new connection + 1-byte echo p50/p99; connections per second at 50 concurrent and
// each client's CPU per connection). --trace writes every latency sample with its wall-clock
// times and the GC pauses of the engine and of this process, to attribute the tail.
// --nice N renices every process of the run (this one, sshd, the services, the engines, ssh)
// to N (negative needs root): the other work on a shared machine then interferes less.
// --base DIR (repeatable) adds a side: the engine of another checkout (e.g. `git worktree
// add /tmp/base COMMIT`), measured in the same rounds, for before/after on a busy machine.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import * as net from 'node:net';
import * as esbuild from 'esbuild';
import { SshdFixture } from '../test/fixtures/sshd';
import { connectionsPerSecond, cpuSecondsOf, ECHO_BOUND_MS, percentile } from './load';
import { EngineHost, EngineSide, engineServers, firstMessage, OpenSshSide, type Open } from './sides';
import { execFileSync, fork } from 'node:child_process';

const root = path.resolve(__dirname, '..');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}
function text(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

const wallNow = (): number => performance.timeOrigin + performance.now();

interface Gc {
  at: number;
  ms: number;
  kind: number;
}

/** GC pauses of this process, in wall-clock ms. */
function observeGc(into: Gc[]): void {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) into.push({ at: performance.timeOrigin + e.startTime, ms: e.duration, kind: ((e as { detail?: { kind?: number } }).detail)?.kind ?? 0 });
  }).observe({ entryTypes: ['gc'] });
}

// Loaded into the engine host with --require: its GC pauses, written out when it exits.
const GC_PRELOAD = `
const { performance, PerformanceObserver } = require('node:perf_hooks');
const fs = require('node:fs');
const gcs = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push({ at: performance.timeOrigin + e.startTime, ms: e.duration, kind: (e.detail || {}).kind || 0 }); }).observe({ entryTypes: ['gc'] });
process.on('exit', () => fs.writeFileSync(process.env.PROBE_GC_FILE + '.' + process.pid, JSON.stringify(gcs)));
`;

interface Sample {
  side: string;
  round: number;
  start: number;
  ms: number;
  /** Milliseconds the tunnel's process (engine or ssh) and this one spent runnable but not running during the sample. */
  tunnelWait: number;
  probeWait: number;
}

/** Nanoseconds a process has spent waiting on a run queue (/proc/PID/schedstat, field 2). */
function runQueueWait(pid: number | 'self'): number {
  return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);
}

/** Sequential new connection + 1-byte echo, each sample with its wall-clock start and run-queue waits. */
async function latencySamples(port: number, count: number, pid: number): Promise<Omit<Sample, 'side' | 'round'>[]> {
  const out: Omit<Sample, 'side' | 'round'>[] = [];
  for (let i = 0; i < count; i++) {
    out.push(
      await new Promise((resolve, reject) => {
        const tunnel0 = runQueueWait(pid);
        const probe0 = runQueueWait('self');
        const start = wallNow();
        const s = net.connect({ host: '127.0.0.1', port });
        s.setNoDelay(true);
        // A tunnel that stalls ends the probe with what it was doing.
        const timer = setTimeout(() => {
          s.destroy();
          reject(new Error(`latency sample ${i + 1} of ${count}: no echo through port ${port} within ${ECHO_BOUND_MS / 1000} s`));
        }, ECHO_BOUND_MS);
        s.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        s.once('connect', () => s.write('x'));
        s.once('data', () => {
          clearTimeout(timer);
          const ms = wallNow() - start;
          const tunnelWait = (runQueueWait(pid) - tunnel0) / 1e6;
          const probeWait = (runQueueWait('self') - probe0) / 1e6;
          s.destroy();
          resolve({ start, ms, tunnelWait, probeWait });
        });
      }),
    );
  }
  return out;
}

/** Read and write system calls a process has made so far (/proc/PID/io). */
function syscalls(pid: number): { r: number; w: number } {
  const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
  return { r: Number(/syscr: (\d+)/.exec(io)![1]), w: Number(/syscw: (\d+)/.exec(io)![1]) };
}

/** Context switches of a process's main thread so far: it slept (voluntary) or was preempted. */
function switches(pid: number): { voluntary: number; preempted: number } {
  const status = fs.readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  return { voluntary: Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)![1]), preempted: Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)![1]) };
}

/** CPU seconds used by each thread of a process other than its main one, summed. */
function otherThreadsCpu(pid: number): number {
  let ticks = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    if (tid === String(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // the thread ended
    }
  }
  return ticks / 100;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Where the slow samples (2 ms or more) come from: a GC pause of the engine or of this
 * process during the sample, or the tunnel's main thread waiting on a run queue (runnable,
 * not running) for 1 ms or more of it.
 */
function attributeTail(samples: Sample[], engineGc: Gc[], probeGc: Gc[]): void {
  const during = (s: Sample, gcs: Gc[]) => gcs.some((g) => g.at < s.start + s.ms && g.at + g.ms > s.start);
  for (const side of new Set(samples.map((s) => s.side))) {
    const mine = samples.filter((s) => s.side === side);
    const slow = mine.filter((s) => s.ms >= 2);
    const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
    const net = sorted(mine.map((s) => s.ms - s.tunnelWait - s.probeWait));
    const count = (pred: (s: Sample) => boolean) => slow.filter(pred).length;
    console.log(`tail ${side}: ${slow.length} of ${mine.length} samples ≥ 2 ms; during them: an engine GC ${side === 'engine' ? count((s) => during(s, engineGc)) : '-'}, ` +
      `a GC of this process ${count((s) => during(s, probeGc))}, the tunnel's main thread waiting ≥ 1 ms on a run queue ${count((s) => s.tunnelWait >= 1)}; ` +
      `samples with such a wait: ${((100 * mine.filter((s) => s.tunnelWait >= 1).length) / mine.length).toFixed(1)}%; ` +
      `p50/p99 less the waits ${percentile(net, 50).toFixed(3)}/${percentile(net, 99).toFixed(3)} ms`);
  }
}

async function main(): Promise<void> {
  const warm = option('--warm', 3000);
  const rounds = option('--rounds', 3);
  const latCount = option('--lat', 500);
  const cpsTotal = option('--cps', 2000);
  const profileDir = text('--profile');
  const traceFile = text('--trace');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-probe-'));
  const hostScript = path.join(dir, 'engine-host.js');
  const baseRoots = process.argv.flatMap((a, i) => (a === '--base' ? [process.argv[i + 1]] : []));
  const servicesScript = path.join(dir, 'services.js');
  const common: esbuild.BuildOptions = { bundle: true, format: 'cjs', platform: 'node', target: 'node20', external: ['cpu-features', '*.node'], logLevel: 'warning' };
  await esbuild.build({ ...common, entryPoints: [path.join(root, 'bench', 'engineHost.ts')], outfile: hostScript, minify: !profileDir });
  for (const [i, baseRoot] of baseRoots.entries()) {
    await esbuild.build({ ...common, entryPoints: [path.join(path.resolve(baseRoot), 'bench', 'engineHost.ts')], outfile: path.join(dir, `base-host-${i}.js`), minify: !profileDir });
  }
  await esbuild.build({ ...common, entryPoints: [path.join(root, 'bench', 'services.ts')], outfile: servicesScript });
  const preload = path.join(dir, 'gc-preload.js');
  fs.writeFileSync(preload, GC_PRELOAD);
  const engineGcFile = path.join(dir, 'engine-gc.json');
  process.env.PROBE_GC_FILE = engineGcFile;

  const nice = text('--nice');
  const renice = (pid: number | undefined) => {
    if (nice !== undefined && pid !== undefined) execFileSync('renice', ['-n', nice, '-p', String(pid)], { stdio: 'ignore' });
  };
  renice(process.pid);
  const probeGc: Gc[] = [];
  observeGc(probeGc);
  const sshd = await SshdFixture.start({ extraConfig: ['MaxStartups 1000:30:2000'] });
  renice(sshd.pid); // before any connection: its per-connection processes inherit it
  const services = fork(servicesScript, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { echoPort } = await firstMessage<{ echoPort: number }>(services, 'the bench services');
  renice(services.pid);
  const execArgv = ['--require', preload, ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])];
  const host = await EngineHost.start(hostScript, engineServers(sshd), execArgv);
  const bases: EngineHost[] = [];
  for (const i of baseRoots.keys()) bases.push(await EngineHost.start(path.join(dir, `base-host-${i}.js`), engineServers(sshd), ['--require', preload]));
  const forward = { type: 'local' as const, targetPort: echoPort };
  const opened: [string, Open][] = [['engine', await new EngineSide(host, () => Promise.reject(new Error('no fresh host in this probe'))).open(forward)], ['ssh', await new OpenSshSide(sshd).open(forward)]];
  for (const [i, base] of bases.entries()) opened.push([baseRoots[i], await new EngineSide(base, () => Promise.reject(new Error('no fresh host in this probe'))).open(forward)]);
  const samples: Sample[] = [];
  const results: Record<string, { p50: number[]; p99: number[]; cps: number[]; cpuMs: number[]; sysr: number[]; sysw: number[]; vol: number[]; pre: number[]; waitMs: number[]; threadsMs: number[] }> = {};
  for (const [, open] of opened) renice(open.pid);
  try {
    for (const [name, open] of opened) {
      results[name] = { p50: [], p99: [], cps: [], cpuMs: [], sysr: [], sysw: [], vol: [], pre: [], waitMs: [], threadsMs: [] };
      await connectionsPerSecond(open.port, warm, 50);
    }
    for (let r = 0; r < rounds; r++) {
      const order = opened.map((_, i) => opened[(i + r) % opened.length]);
      for (const [name, open] of order) {
        const sw0 = switches(open.pid);
        const threads0 = otherThreadsCpu(open.pid);
        const lat = await latencySamples(open.port, latCount, open.pid);
        const sw1 = switches(open.pid);
        results[name].vol.push((sw1.voluntary - sw0.voluntary) / latCount);
        results[name].pre.push((sw1.preempted - sw0.preempted) / latCount);
        results[name].threadsMs.push(((otherThreadsCpu(open.pid) - threads0) / latCount) * 1000);
        results[name].waitMs.push(lat.reduce((a, s) => a + s.tunnelWait, 0) / latCount);
        for (const s of lat) samples.push({ side: name, round: r, ...s });
        const sorted = lat.map((s) => s.ms).sort((a, b) => a - b);
        results[name].p50.push(percentile(sorted, 50));
        results[name].p99.push(percentile(sorted, 99));
        const cpu0 = cpuSecondsOf(open.pid);
        const io0 = syscalls(open.pid);
        const cps = await connectionsPerSecond(open.port, cpsTotal, 50);
        const io1 = syscalls(open.pid);
        results[name].sysr.push((io1.r - io0.r) / cpsTotal);
        results[name].sysw.push((io1.w - io0.w) / cpsTotal);
        results[name].cps.push(cps);
        results[name].cpuMs.push(((cpuSecondsOf(open.pid) - cpu0) / cpsTotal) * 1000);
      }
    }
  } finally {
    for (const [, open] of opened) await open.close();
    await host.stop();
    for (const base of bases) await base.stop();
    services.kill();
    await sshd.stop();
  }
  const e = results.engine;
  const o = results.ssh;
  const fmt = (xs: number[], d = 3) => xs.map((x) => x.toFixed(d)).join(' ');
  console.log(`steady state after ${warm} untimed connections each; ${rounds} rounds; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`p50 ms      engine ${fmt(e.p50)} | ssh ${fmt(o.p50)} | ratio of medians ${(median(e.p50) / median(o.p50)).toFixed(2)}`);
  console.log(`p99 ms      engine ${fmt(e.p99)} | ssh ${fmt(o.p99)} | ratio of medians ${(median(e.p99) / median(o.p99)).toFixed(2)}`);
  console.log(`conn/s      engine ${fmt(e.cps, 0)} | ssh ${fmt(o.cps, 0)} | ratio of medians ${(median(e.cps) / median(o.cps)).toFixed(2)}`);
  console.log(`CPU ms/conn engine ${fmt(e.cpuMs)} | ssh ${fmt(o.cpuMs)}`);
  console.log(`latency rounds, per connection: main thread slept ${fmt(e.vol, 2)}, preempted ${fmt(e.pre, 2)}, waited on a run queue ${fmt(e.waitMs)} ms, other threads' CPU ${fmt(e.threadsMs)} ms` +
    ` | ssh slept ${fmt(o.vol, 2)}, preempted ${fmt(o.pre, 2)}, waited ${fmt(o.waitMs)} ms, other threads ${fmt(o.threadsMs)} ms`);
  console.log(`syscalls/conn (read, write) engine ${fmt(e.sysr, 2)}, ${fmt(e.sysw, 2)} | ssh ${fmt(o.sysr, 2)}, ${fmt(o.sysw, 2)}`);
  for (const baseRoot of baseRoots) {
    const b = results[baseRoot];
    console.log(`${baseRoot}: p50 ${fmt(b.p50)} (ratio ${(median(b.p50) / median(o.p50)).toFixed(2)}), p99 ${fmt(b.p99)} (${(median(b.p99) / median(o.p99)).toFixed(2)}), ` +
      `conn/s ${fmt(b.cps, 0)} (${(median(b.cps) / median(o.cps)).toFixed(2)}), CPU ms/conn ${fmt(b.cpuMs)}, syscalls/conn ${fmt(b.sysr, 2)}, ${fmt(b.sysw, 2)}`);
  }
  const gcsOf = (pid: number) => JSON.parse(fs.readFileSync(`${engineGcFile}.${pid}`, 'utf8')) as Gc[];
  const engineGc = gcsOf(host.pid);
  // Every engine served the same connections: scavenges per connection follow what each allocates per connection.
  const served = warm + rounds * (latCount + cpsTotal);
  const scavenges = (gcs: Gc[]) => ((gcs.filter((g) => g.kind === 1).length / served) * 1000).toFixed(2);
  console.log(`scavenges per 1,000 connections (${served} served): engine ${scavenges(engineGc)}${bases.map((b, i) => `, ${baseRoots[i]} ${scavenges(gcsOf(b.pid))}`).join('')}`);
  attributeTail(samples, engineGc, probeGc);
  if (traceFile) {
    fs.writeFileSync(traceFile, JSON.stringify({ samples, engineGc, probeGc }));
    console.log(`trace: ${traceFile}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
