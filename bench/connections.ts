// New-connection figures, steady and cold. Steady: each side's process kept across rounds and
// warmed up with untimed connections first (a tunnel that has served a while, as in an editor
// that runs all day). Cold: the first connections of a process that has served nothing yet.
import { alternate, withOpen, type BenchContext, type Measurement } from './context';
import { figure, logFigure, record, type Figure } from './figures';
import { connectionsPerSecond, cpuSecondsOf, latency } from './load';
import type { Forward, Open, Side } from './sides';
import { step } from './watchdog';

const CONCURRENCY = 50;
/** Untimed connections on each side before the steady figures (as in issue 20's measurements). */
export const WARMUP_CONNECTIONS = 3000;
/** Then a pause, for V8's optimizing compiler, which runs on background threads the loaded machine starves. */
const SETTLE_MS = 1000;
const LATENCY_COUNT = 500;
const CPS_TOTAL = 2000;
/** Cold: how many first connections of a fresh process are timed. */
const COLD_LATENCY_COUNT = 300;
const COLD_CPS_TOTAL = 1000;

interface ConnectionFigures {
  p50: Figure;
  p99: Figure;
  cps: Figure;
  cpu: Figure;
}

function connectionFigures(prefix: string, latencyCount: number, cpsTotal: number, steady: boolean): ConnectionFigures {
  // The targets are for a tunnel that has served a while; cold figures are reported only.
  const t = (target: Figure['target']) => (steady ? target : undefined);
  return {
    p50: figure(`${prefix}: new connection + 1-byte echo, p50 (${latencyCount} one at a time)`, 'ms', 'lower', t({ ratio: 1.2 })),
    p99: figure(`${prefix}: new connection + 1-byte echo, p99 (${latencyCount} one at a time)`, 'ms', 'lower', t({ ratio: 1.5 })),
    cps: figure(`${prefix}: connections per second (${cpsTotal}, ${CONCURRENCY} concurrent)`, 'conn/s', 'higher', t({ ratio: 0.95 })),
    cpu: figure(`${prefix}: client CPU per connection (${cpsTotal}, ${CONCURRENCY} concurrent)`, 'ms', 'lower', t({ absolute: 0.15 })),
  };
}

function wantedAny(ctx: BenchContext, figures: ConnectionFigures): boolean {
  return Object.values(figures).some((f) => ctx.wanted(f.name));
}

async function measureLatency(f: ConnectionFigures, side: Side, open: Open, count: number): Promise<void> {
  const l = await step(`${f.p50.name}, ${side.name}`, () => latency(open.port, count));
  record(f.p50, side.name, l.p50);
  record(f.p99, side.name, l.p99);
}

async function measureRate(f: ConnectionFigures, side: Side, open: Open, total: number): Promise<void> {
  const cpu0 = cpuSecondsOf(open.pid);
  const rate = await step(`${f.cps.name}, ${side.name}`, () => connectionsPerSecond(open.port, total, CONCURRENCY));
  record(f.cps, side.name, rate);
  record(f.cpu, side.name, ((cpuSecondsOf(open.pid) - cpu0) / total) * 1000);
}

export const steadyConnections: Measurement = async (ctx) => {
  const f = connectionFigures('steady', LATENCY_COUNT, CPS_TOTAL, true);
  if (!wantedAny(ctx, f)) return;
  const forward: Forward = { type: 'local', targetPort: ctx.services.echoPort };
  const sides = ctx.sides.filter((s) => s.carries(forward));
  const opened = new Map<Side, Open>();
  try {
    for (const side of sides) {
      const open = await step(`steady connections, opening the tunnel of ${side.name}`, () => side.open(forward));
      opened.set(side, open);
      await step(`steady connections, warming up ${side.name}`, () => connectionsPerSecond(open.port, WARMUP_CONNECTIONS, CONCURRENCY));
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    }
    await alternate(sides, ctx.connectionRounds, async (side) => {
      const open = opened.get(side)!;
      await measureLatency(f, side, open, LATENCY_COUNT);
      await measureRate(f, side, open, CPS_TOTAL);
    });
  } finally {
    for (const open of opened.values()) await open.close();
  }
  for (const fig of Object.values(f)) logFigure(ctx.add(fig));
};

export const coldConnections: Measurement = async (ctx) => {
  const f = connectionFigures('cold', COLD_LATENCY_COUNT, COLD_CPS_TOTAL, false);
  if (!wantedAny(ctx, f)) return;
  const forward: Forward = { type: 'local', targetPort: ctx.services.echoPort };
  const sides = ctx.sides.filter((s) => s.carries(forward));
  // A fresh process for each measurement, so neither figure has code the other warmed up.
  await alternate(sides, ctx.coldRounds, async (side) => {
    await withOpen(side, forward, (open) => measureLatency(f, side, open, COLD_LATENCY_COUNT), true);
    await withOpen(side, forward, (open) => measureRate(f, side, open, COLD_CPS_TOTAL), true);
  });
  for (const fig of Object.values(f)) logFigure(ctx.add(fig));
};
