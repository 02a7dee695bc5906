// Runs inside VS Code's extension host, loaded as the test module by bench/editorLoop.ts: opens a
// -L tunnel through the extension's own engine (the API activate() returns) and measures the
// host's event-loop delay while idle, while an iperf3 client (its own process) pushes data
// through the tunnel at full speed, and while a churn client (bench/editorChurn.ts, its own
// process) makes short connections through a second tunnel, with the tunnels view hidden and visible.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../src/extension';
import type { EditorLoopParams, EditorLoopSample, Stall } from './editorLoopTypes';
import { STALL_MS } from './editorLoopTypes';
import { iperf, percentile } from './load';

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

/**
 * Records stalls, and each timer's lateness less the time its thread waited for a CPU (the part
 * of the delay the machine's other processes cannot explain): a timer at the histogram's
 * interval that compares each gap with the scheduler's counters.
 */
function stallRecorder(resolutionMs: number, gcs: Array<{ start: number; end: number }>): { stop(): { stalls: Stall[]; own: number[] } } {
  const stalls: Stall[] = [];
  const own: number[] = [];
  let prev = performance.now();
  let prevSched = schedstat();
  const timer = setInterval(() => {
    const now = performance.now();
    const sched = schedstat();
    const delayMs = Math.max(0, now - prev - resolutionMs);
    const [runMs, waitMs] = sched && prevSched ? [(sched[0] - prevSched[0]) / 1e6, (sched[1] - prevSched[1]) / 1e6] : [NaN, NaN];
    if (sched && prevSched) own.push(Math.max(0, delayMs - waitMs));
    if (delayMs > STALL_MS) {
      const gcMs = gcs.reduce((sum, g) => sum + Math.max(0, Math.min(g.end, now) - Math.max(g.start, prev)), 0);
      stalls.push({ delayMs, runMs, waitMs, gcMs });
    }
    prev = now;
    prevSched = sched;
  }, resolutionMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { stalls, own };
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
  let tunnelEvents = 0;
  const counting = api.manager.onDidChangeTunnel(() => tunnelEvents++);
  const histogram = monitorEventLoopDelay({ resolution: params.resolutionMs });
  const t0 = performance.now();
  histogram.enable();
  const recorder = stallRecorder(params.resolutionMs, gcs);
  let extra: Partial<EditorLoopSample>;
  let recorded: { stalls: Stall[]; own: number[] };
  try {
    extra = params.profileDir ? await profiled(path.join(params.profileDir, `${name}.cpuprofile`), work) : await work();
  } finally {
    recorded = recorder.stop();
    counting.dispose();
    histogram.disable();
    observer.disconnect();
  }
  // The histogram holds the time between its timer's runs: the delay is what exceeds the interval.
  const ms = (ns: number) => Math.max(0, ns / 1e6 - params.resolutionMs);
  const pauses = gcs.map((g) => g.end - g.start);
  const own = recorded.own.sort((a, b) => a - b);
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
    tunnelEvents,
    stalls: recorded.stalls.sort((a, b) => b.delayMs - a.delayMs).slice(0, 5),
    stallCount: recorded.stalls.length,
    ownP99: own.length ? percentile(own, 99) : NaN,
    ownMax: own.length ? own[own.length - 1] : NaN,
    ...extra,
  };
}

/** Runs the churn client (its own process) through `port`; resolves with what it made. */
function churn(params: EditorLoopParams, port: number): Promise<{ total: number; perSecond: number }> {
  return new Promise((resolve, reject) => {
    const args = [params.churnScript, String(port), String(params.churnSeconds), '50'];
    execFile(process.execPath, args, { timeout: (params.churnSeconds + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`the churn client failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as { total: number; perSecond: number });
    });
  });
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
  const echo = await api.manager.createTunnel({ server: params.server, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: params.echoPort });
  console.log(`editor loop: tunnel ${info.id} listens on ${info.localPort} → iperf3 on ${params.iperfPort}, ${echo.id} on ${echo.localPort} → echo on ${params.echoPort}`);
  const samples: EditorLoopSample[] = [];
  try {
    // One short untimed transfer: the first packets compile the data path.
    await iperf(info.localPort, 1, false);
    await churn({ ...params, churnSeconds: 1 }, echo.localPort);
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
        const many = await measure(params, api, `churn-${round + 1}-${view}`, async () => {
          const cpu0 = process.cpuUsage();
          const made = await churn(params, echo.localPort);
          const cpu = process.cpuUsage(cpu0);
          return { connPerSecond: made.perSecond, cpuMsPerConnection: (cpu.user + cpu.system) / 1e3 / made.total };
        });
        samples.push({ round, view, phase: 'churn', ...many });
        console.log(`editor loop: round ${round + 1}, view ${view}: idle p99 ${idle.p99.toFixed(1)} max ${idle.max.toFixed(1)} ms; ` +
          `bulk p99 ${bulk.p99.toFixed(1)} max ${bulk.max.toFixed(1)} ms, ${bulk.mbps!.toFixed(0)} Mbit/s; ` +
          `churn p99 ${many.p99.toFixed(1)} max ${many.max.toFixed(1)} ms, ${many.connPerSecond!.toFixed(0)} conn/s`);
      }
    }
  } finally {
    await api.manager.closeTunnel(info.id);
    await api.manager.closeTunnel(echo.id);
  }
  fs.writeFileSync(params.out, JSON.stringify(samples, null, 2) + '\n');
}
