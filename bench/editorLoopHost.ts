// Runs inside VS Code's extension host, loaded as the test module by bench/editorLoop.ts: opens a
// -L tunnel through the extension's own engine (the API activate() returns) and measures the
// host's event-loop delay while idle and while an iperf3 client (its own process) pushes data
// through the tunnel at full speed, with the tunnels view hidden and visible.
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../src/extension';
import type { EditorLoopParams, EditorLoopSample, Stall } from './editorLoopTypes';
import { STALL_MS } from './editorLoopTypes';
import { iperf } from './load';

const EXTENSION_ID = 'tunnelworks.ssh-tunnels';
/** perf_hooks' gc entry kinds (constants.NODE_PERFORMANCE_GC_*). */
const GC_KINDS: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' };
const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

/** The main thread's nanoseconds on a CPU and waiting for one, or undefined where /proc has no schedstat. */
function schedstat(): [number, number] | undefined {
  try {
    const [run, wait] = fs.readFileSync(SCHEDSTAT, 'utf8').split(' ').map(Number);
    return [run, wait];
  } catch {
    return undefined;
  }
}

/** Records stalls: a timer at the histogram's interval that compares each gap with the scheduler's counters. */
function stallRecorder(resolutionMs: number, gcs: Array<{ start: number; end: number }>): { stop(): Stall[] } {
  const stalls: Stall[] = [];
  let prev = performance.now();
  let prevSched = schedstat();
  const timer = setInterval(() => {
    const now = performance.now();
    const sched = schedstat();
    const delayMs = now - prev - resolutionMs;
    if (delayMs > STALL_MS) {
      const gcMs = gcs.reduce((sum, g) => sum + Math.max(0, Math.min(g.end, now) - Math.max(g.start, prev)), 0);
      const [runMs, waitMs] = sched && prevSched ? [(sched[0] - prevSched[0]) / 1e6, (sched[1] - prevSched[1]) / 1e6] : [NaN, NaN];
      stalls.push({ delayMs, runMs, waitMs, gcMs });
    }
    prev = now;
    prevSched = sched;
  }, resolutionMs);
  return {
    stop: () => {
      clearInterval(timer);
      return stalls;
    },
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Shows or hides the tunnels view (hidden: the Explorer takes the side bar). */
async function showView(api: SshTunnelsApi, visible: boolean): Promise<void> {
  await vscode.commands.executeCommand(visible ? 'sshTunnels.focus' : 'workbench.view.explorer');
  await until(`the tunnels view to be ${visible ? 'visible' : 'hidden'}`, () => api.treeView.visible === visible);
}

/** Samples the event loop while `work` runs; `work` returns what the phase adds to the sample. */
async function measure(params: EditorLoopParams, api: SshTunnelsApi, name: string, work: () => Promise<Partial<EditorLoopSample>>): Promise<Omit<EditorLoopSample, 'round' | 'view' | 'phase'>> {
  const gcs: Array<{ start: number; end: number; kind: string }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
      gcs.push({ start: e.startTime, end: e.startTime + e.duration, kind });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const refreshes0 = api.tree.refreshes.tunnel;
  const histogram = monitorEventLoopDelay({ resolution: params.resolutionMs });
  const t0 = performance.now();
  histogram.enable();
  const recorder = stallRecorder(params.resolutionMs, gcs);
  let extra: Partial<EditorLoopSample>;
  let stalls: Stall[];
  try {
    extra = params.profileDir ? await profiled(path.join(params.profileDir, `${name}.cpuprofile`), work) : await work();
  } finally {
    stalls = recorder.stop();
    histogram.disable();
    observer.disconnect();
  }
  // The histogram holds the time between its timer's runs: the delay is what exceeds the interval.
  const ms = (ns: number) => Math.max(0, ns / 1e6 - params.resolutionMs);
  const pauses = gcs.map((g) => g.end - g.start);
  const gcByKind: EditorLoopSample['gcByKind'] = {};
  for (const g of gcs) {
    const k = (gcByKind[g.kind] ??= { count: 0, maxMs: 0, totalMs: 0 });
    k.count++;
    k.maxMs = Math.max(k.maxMs, g.end - g.start);
    k.totalMs += g.end - g.start;
  }
  return {
    treeVisible: api.treeView.visible,
    seconds: (performance.now() - t0) / 1000,
    p50: ms(histogram.percentile(50)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
    gcMaxMs: Math.max(0, ...pauses),
    gcTotalMs: pauses.reduce((a, b) => a + b, 0),
    gcByKind,
    heapMB: process.memoryUsage().heapUsed / 1e6,
    treeRefreshes: api.tree.refreshes.tunnel - refreshes0,
    stalls: stalls.sort((a, b) => b.delayMs - a.delayMs).slice(0, 5),
    stallCount: stalls.length,
    ...extra,
  };
}

/** Runs `work` under the V8 sampling profiler of this thread and writes the profile to `file`. */
async function profiled<T>(file: string, work: () => Promise<T>): Promise<T> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}

export async function run(): Promise<void> {
  const params = JSON.parse(process.env.SSH_TUNNELS_EDITOR_LOOP ?? 'null') as EditorLoopParams | null;
  if (!params) throw new Error('SSH_TUNNELS_EDITOR_LOOP is not set: run this through npm run bench -- --only editor');
  const ext = vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not loaded`);
  const api = await ext.activate();
  await api.ready;
  const info = await api.manager.createTunnel({ server: params.server, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: params.iperfPort });
  console.log(`editor loop: tunnel ${info.id} listens on ${info.localPort} → iperf3 on ${params.iperfPort}`);
  const samples: EditorLoopSample[] = [];
  try {
    // One short untimed transfer: the first packets compile the data path.
    await iperf(info.localPort, 1, false);
    // Let the start-up settle (other extensions, the first GC after activation).
    await sleep(3000);
    for (let round = 0; round < params.rounds; round++) {
      const views: Array<'hidden' | 'visible'> = round % 2 === 0 ? ['hidden', 'visible'] : ['visible', 'hidden'];
      for (const view of views) {
        await showView(api, view === 'visible');
        await sleep(500);
        const idle = await measure(params, api, `idle-${round + 1}-${view}`, async () => {
          await sleep(params.idleSeconds * 1000);
          return {};
        });
        samples.push({ round, view, phase: 'idle', ...idle });
        const bulk = await measure(params, api, `bulk-${round + 1}-${view}`, async () => {
          const bytes0 = api.manager.getTunnel(info.id)!.stats.bytesOut;
          const cpu0 = process.cpuUsage();
          const mbps = await iperf(info.localPort, params.bulkSeconds, false);
          const cpu = process.cpuUsage(cpu0);
          const gb = (api.manager.getTunnel(info.id)!.stats.bytesOut - bytes0) / 1e9;
          return { mbps, cpuSecondsPerGB: (cpu.user + cpu.system) / 1e6 / gb };
        });
        samples.push({ round, view, phase: 'bulk', ...bulk });
        const s = samples.at(-1)!;
        console.log(`editor loop: round ${round + 1}, view ${view}: idle p99 ${idle.p99.toFixed(1)} max ${idle.max.toFixed(1)} ms; bulk p99 ${s.p99.toFixed(1)} max ${s.max.toFixed(1)} ms, ${s.mbps!.toFixed(0)} Mbit/s`);
      }
    }
  } finally {
    await api.manager.closeTunnel(info.id);
  }
  fs.writeFileSync(params.out, JSON.stringify(samples, null, 2) + '\n');
}
