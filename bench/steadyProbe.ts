// `npx tsx bench/steadyProbe.ts [--warm N] [--rounds R] [--lat N] [--cps N] [--profile DIR] [--trace FILE]`
// The per-connection figures in steady state: one engine process and one `ssh -N -L`, each
// kept for the whole run and warmed with N untimed connections, then measured in alternating
// rounds (new connection + 1-byte echo p50/p99; connections per second at 50 concurrent and
// each client's CPU per connection). --trace writes every latency sample with its wall-clock
// times and the GC pauses of the engine and of this process, to attribute the tail.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import * as net from 'node:net';
import * as esbuild from 'esbuild';
import { SshdFixture } from '../test/fixtures/sshd';
import { connectionsPerSecond, cpuSecondsOf, percentile } from './load';
import { EngineHost, EngineSide, engineServers, OpenSshSide, type Open } from './sides';
import { fork } from 'node:child_process';

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
process.on('exit', () => fs.writeFileSync(process.env.PROBE_GC_FILE, JSON.stringify(gcs)));
`;

interface Sample {
  side: string;
  round: number;
  start: number;
  ms: number;
}

/** Sequential new connection + 1-byte echo, each sample with its wall-clock start. */
async function latencySamples(port: number, count: number): Promise<{ start: number; ms: number }[]> {
  const out: { start: number; ms: number }[] = [];
  for (let i = 0; i < count; i++) {
    out.push(
      await new Promise((resolve, reject) => {
        const start = wallNow();
        const s = net.connect({ host: '127.0.0.1', port });
        s.setNoDelay(true);
        s.once('error', reject);
        s.once('connect', () => s.write('x'));
        s.once('data', () => {
          const ms = wallNow() - start;
          s.destroy();
          resolve({ start, ms });
        });
      }),
    );
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
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
  const servicesScript = path.join(dir, 'services.js');
  const common: esbuild.BuildOptions = { bundle: true, format: 'cjs', platform: 'node', target: 'node20', external: ['cpu-features', '*.node'], logLevel: 'warning' };
  await esbuild.build({ ...common, entryPoints: [path.join(root, 'bench', 'engineHost.ts')], outfile: hostScript, minify: !profileDir });
  await esbuild.build({ ...common, entryPoints: [path.join(root, 'bench', 'services.ts')], outfile: servicesScript });
  const preload = path.join(dir, 'gc-preload.js');
  fs.writeFileSync(preload, GC_PRELOAD);
  const engineGcFile = path.join(dir, 'engine-gc.json');
  process.env.PROBE_GC_FILE = engineGcFile;

  const probeGc: Gc[] = [];
  observeGc(probeGc);
  const sshd = await SshdFixture.start({ extraConfig: ['MaxStartups 1000:30:2000'] });
  const services = fork(servicesScript, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { echoPort } = await new Promise<{ echoPort: number }>((resolve) => services.once('message', resolve));
  const execArgv = ['--require', preload, ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])];
  const host = await EngineHost.start(hostScript, engineServers(sshd), execArgv);
  const forward = { type: 'local' as const, targetPort: echoPort };
  const opened: [string, Open][] = [['engine', await new EngineSide(host).open(forward)], ['ssh', await new OpenSshSide(sshd).open(forward)]];
  const samples: Sample[] = [];
  const results: Record<string, { p50: number[]; p99: number[]; cps: number[]; cpuMs: number[] }> = {};
  try {
    for (const [name, open] of opened) {
      results[name] = { p50: [], p99: [], cps: [], cpuMs: [] };
      await connectionsPerSecond(open.port, warm, 50);
    }
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? opened : [...opened].reverse();
      for (const [name, open] of order) {
        const lat = await latencySamples(open.port, latCount);
        for (const s of lat) samples.push({ side: name, round: r, ...s });
        const sorted = lat.map((s) => s.ms).sort((a, b) => a - b);
        results[name].p50.push(percentile(sorted, 50));
        results[name].p99.push(percentile(sorted, 99));
        const cpu0 = cpuSecondsOf(open.pid);
        const cps = await connectionsPerSecond(open.port, cpsTotal, 50);
        results[name].cps.push(cps);
        results[name].cpuMs.push(((cpuSecondsOf(open.pid) - cpu0) / cpsTotal) * 1000);
      }
    }
  } finally {
    await opened[1][1].close();
    await opened[0][1].close();
    await host.stop();
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
  if (traceFile) {
    const engineGc = fs.existsSync(engineGcFile) ? (JSON.parse(fs.readFileSync(engineGcFile, 'utf8')) as Gc[]) : [];
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
