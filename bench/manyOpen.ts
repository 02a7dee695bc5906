// Engine against ssh with many connections open at once through one -L tunnel: the memory each
// one holds in the tunnel's process, the time to open them all (each echoing a few bytes, checked
// by SHA-256) and the time to close them all until the far end holds none. The clients and the far
// echo are processes of their own (test/helpers/fleet.ts), so that no process holds more file
// descriptors than its limit (each end of a connection is one).
import { Fleet, raiseFdLimit } from '../test/helpers/fleet';
import { alternate, type BenchContext, type Measurement } from './context';
import { figure, logFigure, record } from './figures';
import { rssOf } from './load';
import { EngineSide, type Forward, type Open, type Side } from './sides';
import { step } from './watchdog';

/** ssh's work per new connection grows with the connections it holds (10 s of CPU to open 5,000 here, 150 s of wall time for 10,000 under load), so the full bench opens 5,000. */
export const MANY_DEFAULT = 5_000;
export const MANY_MAX = 15_000;
const CONCURRENCY = 100;
const SIZE = 64;
/** Connections opened and closed first, untimed: the first ones load code and fill pools. */
const WARM_UP = 200;
/** File descriptors a process needs beyond its connections. */
const HEADROOM = 500;
/** Bounds: ssh's time to open grows with the square of the count (150 s for 10,000 on this machine under load); one connection waits its turn in that queue. */
const openBoundMs = (count: number) => 60_000 + 3_000 * (count / 1000) ** 2;
const CONNECTION_BOUND_MS = 60_000;
const CLOSE_BOUND_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once the far echo holds no connection; rejects after `ms`, naming `step` and what is left. */
async function farEmpty(echo: Fleet, ms: number, step: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { open } = await echo.count();
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${step}: the far end still held ${open} connections ${ms / 1000} s after the clients closed`);
    await sleep(10);
  }
}

/** The side's tunnel with its RSS: the engine in a fresh host that allows N channels (its default is 8192), ssh as it is. */
async function openSide(ctx: BenchContext, side: Side, forward: Forward): Promise<{ open: Open; rss(): Promise<number>; close(): Promise<void> }> {
  if (side.name !== 'engine') {
    const open = await side.open(forward);
    return { open, rss: async () => rssOf(open.pid), close: () => open.close() };
  }
  const host = await ctx.engine.start();
  try {
    await host.call({ op: 'configure', maxChannelsPerConnection: ctx.many + 2_000 });
    const open = await new EngineSide(host, ctx.engine.start).open(forward);
    return { open, rss: async () => (await host.call<{ rss: number }>({ op: 'rss' })).rss, close: async () => {
      await open.close();
      await host.stop();
    } };
  } catch (err) {
    await host.stop();
    throw err;
  }
}

export const manyOpen: Measurement = async (ctx) => {
  const many = ctx.many;
  const memory = figure(`memory per open connection (${many} open at once)`, 'KiB', 'lower');
  const opening = figure(`time to open ${many} connections (${CONCURRENCY} at a time, ${SIZE} B echoed each)`, 's', 'lower');
  const closing = figure(`time to close ${many} connections until the far end holds none`, 's', 'lower');
  if (![memory, opening, closing].some((f) => ctx.wanted(f.name))) return;
  const sides = ctx.sides.filter((s) => s.name === 'engine' || s.name === 'openssh');
  const [echo, clients] = await Promise.all([Fleet.start('echo'), Fleet.start('clients')]);
  try {
    for (const [name, pid] of [['the bench', 'self'], ['sshd', ctx.sshd.pid!], ['the far echo', echo.pid], ['the clients', clients.pid]] as const) {
      const limit = raiseFdLimit(pid);
      if (limit < many + HEADROOM) throw new Error(`${memory.name}: ${name} may open ${limit} files, fewer than ${many + HEADROOM}`);
    }
    const forward: Forward = { type: 'local', targetPort: echo.port };
    const rounds = ctx.quick ? 1 : Math.min(ctx.rounds, 2);
    await alternate(sides, rounds, (side) => step(`${many} open at once, ${side.name}`, async () => {
      const tunnel = await openSide(ctx, side, forward);
      try {
        const warm = await clients.open(tunnel.open.port, WARM_UP, { concurrency: CONCURRENCY, size: SIZE, timeoutMs: 30_000 });
        if (warm.failed) throw new Error(`${warm.failed} of the warm-up connections failed: ${warm.failures.join('; ')}`);
        await clients.close(['end'], CLOSE_BOUND_MS);
        await farEmpty(echo, CLOSE_BOUND_MS, 'warm-up');
        await sleep(200);
        const before = await tunnel.rss();
        const opened = await clients.open(tunnel.open.port, many, { concurrency: CONCURRENCY, size: SIZE, timeoutMs: openBoundMs(many), connectionMs: CONNECTION_BOUND_MS });
        if (opened.failed) throw new Error(`${opened.failed} of ${many} connections failed: ${opened.failures.join('; ')}`);
        await sleep(500);
        const after = await tunnel.rss();
        const t0 = Date.now();
        await Promise.all([clients.close(['end', 'destroy', 'reset'], CLOSE_BOUND_MS), farEmpty(echo, CLOSE_BOUND_MS, 'closing')]);
        record(closing, side.name, (Date.now() - t0) / 1000);
        record(opening, side.name, opened.ms / 1000);
        record(memory, side.name, (after - before) / many / 1024);
      } finally {
        await tunnel.close();
      }
    }));
  } finally {
    await clients.stop();
    await echo.stop();
  }
  for (const f of [memory, opening, closing]) logFigure(ctx.add(f));
};
