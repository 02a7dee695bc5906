// Bulk figures: throughput through each kind of forward, and the client's CPU per GB moved
// (steadier than throughput on a busy machine). -L also through the plain Node proxy and the
// Node peers; -R, -D and default ciphers engine against ssh only.
import { alternate, withOpen, type BenchContext, type Measurement } from './context';
import { figure, logFigure, record } from './figures';
import { cpuSecondsOf, iperf, socksPush } from './load';
import type { Forward } from './sides';
import { step } from './watchdog';

export type Run = (port: number) => Promise<number>;

/** One throughput figure and its CPU per GB, every side in turn; a tool that fails or stalls ends it with the figure and side named. */
export async function measureThroughput(ctx: BenchContext, name: string, forward: Forward, run: Run): Promise<void> {
  const f = figure(name, 'Mbit/s', 'higher', { ratio: 1.0 });
  const cpu = figure(`${name}, client CPU per GB`, 's/GB', 'lower');
  if (!ctx.wanted(f.name) && !ctx.wanted(cpu.name)) return;
  const sides = ctx.sides.filter((s) => s.carries(forward));
  await alternate(sides, ctx.rounds, (side) => step(`${name}, ${side.name}`, () => withOpen(side, forward, async (open) => {
    const cpu0 = cpuSecondsOf(open.pid);
    const t0 = Date.now();
    const mbits = await run(open.port);
    const cpuPerSecond = (cpuSecondsOf(open.pid) - cpu0) / ((Date.now() - t0) / 1000);
    record(f, side.name, mbits);
    record(cpu, side.name, cpuPerSecond / (mbits / 8000));
  })));
  logFigure(ctx.add(f));
  logFigure(ctx.add(cpu));
}

export const throughputs: Measurement = async (ctx) => {
  // iperf3 leaves the first second out (-O 1).
  const seconds = 4;
  const socksBytes = (ctx.quick ? 256 : 512) * 1024 * 1024;
  const iperfPort = ctx.services.iperfPort;
  const runs: Array<[string, Forward, Run]> = [
    ['throughput -L upload (iperf3)', { type: 'local', targetPort: iperfPort }, (p) => iperf(p, seconds, false)],
    ['throughput -L download (iperf3 -R)', { type: 'local', targetPort: iperfPort }, (p) => iperf(p, seconds, true)],
    ['throughput -R upload (iperf3)', { type: 'remote', targetPort: iperfPort }, (p) => iperf(p, seconds, false)],
    ['throughput -D upload (SOCKS5)', { type: 'dynamic' }, (p) => socksPush(p, ctx.services.sinkPort, socksBytes)],
    ['throughput -L upload, default ciphers', { type: 'local', targetPort: iperfPort, cipher: 'default' }, (p) => iperf(p, seconds, false)],
  ];
  for (const [name, forward, run] of runs) await measureThroughput(ctx, name, forward, run);
};
