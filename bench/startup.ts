// Engine against ssh on what a tunnel costs before traffic: the time to listen, in a process
// that has just started, and the memory each idle connection holds.
import { withOpen, type Measurement } from './context';
import { figure, logFigure, record } from './figures';
import { accepts, openIdle, rssOf } from './load';
import { freePort } from '../test/fixtures/sshd';
import { spawnSsh, stopProcess } from '../test/helpers/openssh';
import { EngineSide, engineSpec, sshForward, sshOptions, type Forward } from './sides';
import { step } from './watchdog';

const IDLE_COUNT = 1000;

export const timeToListen: Measurement = async (ctx) => {
  const f = figure('time to listen (cold)', 'ms', 'lower', { ratio: 1.2 });
  if (!ctx.wanted(f.name)) return;
  const forward: Forward = { type: 'local', targetPort: ctx.services.echoPort };
  for (let r = 0; r < (ctx.quick ? 3 : 5); r++) {
    // Engine: a fresh process that has loaded the bundle; timed from new TunnelManager to createTunnel resolving.
    await step(`${f.name}, engine`, async () => {
      const fresh = await ctx.engine.start();
      try {
        record(f, 'engine', (await fresh.call<{ ms: number }>({ op: 'cold', spec: engineSpec(forward) })).ms);
      } finally {
        await fresh.stop();
      }
    });
    // OpenSSH: spawn `ssh -N -o ExitOnForwardFailure=yes` until its port accepts a connection.
    const port = await freePort();
    const t0 = process.hrtime.bigint();
    const { proc, stderr } = spawnSsh(ctx.sshd, [sshForward(forward, port)], sshOptions(forward));
    for (;;) {
      const ok = await accepts(port);
      if (ok) break;
      if (proc.exitCode !== null) throw new Error(`${f.name}, ssh: ssh exited: ${stderr()}`);
      if (Number(process.hrtime.bigint() - t0) > 10e9) {
        proc.kill('SIGKILL');
        throw new Error(`${f.name}, ssh: ssh did not listen within 10 s`);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    record(f, 'openssh', Number(process.hrtime.bigint() - t0) / 1e6);
    await stopProcess(proc);
  }
  logFigure(ctx.add(f));
};

export const idleMemory: Measurement = async (ctx) => {
  const f = figure(`memory per idle connection (${IDLE_COUNT} open)`, 'KiB', 'lower', { absolute: 32 });
  if (!ctx.wanted(f.name)) return;
  const forward: Forward = { type: 'local', targetPort: ctx.services.echoPort };
  const openssh = ctx.sides.find((s) => s.name === 'openssh');
  for (let r = 0; r < Math.max(1, Math.min(ctx.rounds, 2)); r++) {
    // The engine in a fresh process, so its RSS is only this tunnel's.
    const fresh = await ctx.engine.start();
    const freshSide = new EngineSide(fresh, ctx.engine.start);
    for (const side of openssh ? [freshSide, openssh] : [freshSide]) {
      await step(`${f.name}, ${side.name}`, () => withOpen(side, forward, async (open) => {
        (await openIdle(open.port, 1)).forEach((s) => s.destroy());
        await new Promise((r) => setTimeout(r, 200));
        const rss = async () => (side === freshSide ? (await fresh.call<{ rss: number }>({ op: 'rss' })).rss : rssOf(open.pid));
        const before = await rss();
        const sockets = await openIdle(open.port, IDLE_COUNT);
        await new Promise((r) => setTimeout(r, 500));
        const after = await rss();
        for (const s of sockets) s.destroy();
        record(f, side.name, (after - before) / IDLE_COUNT / 1024);
      }));
    }
    await fresh.stop();
  }
  logFigure(ctx.add(f));
};
