// What every group of figures gets from bench/run.ts: the options, the running services, the
// sides under test and where to record. A new group is a `Measurement` added to run.ts's list.
import type { SshdFixture } from '../test/fixtures/sshd';
import type { Figure } from './figures';
import type { EngineHost, Forward, Open, Side } from './sides';

export interface BenchContext {
  quick: boolean;
  /** Rounds of the bulk figures (throughput, memory). */
  rounds: number;
  /** Rounds of the steady connection figures (short, and they move more), and of the cold ones (a fresh process each). */
  connectionRounds: number;
  coldRounds: number;
  /** Connections open at once in the "N open at once" figures (`--many`). */
  many: number;
  /** Whether a figure of this name was asked for (`--only`). */
  wanted(name: string): boolean;
  /** Registers a figure for the closing tables and latest.json; returns it. */
  add(f: Figure): Figure;
  /** The sides chosen (`--sides`), in the tables' order. */
  sides: Side[];
  sshd: SshdFixture;
  services: { echoPort: number; sinkPort: number; iperfPort: number };
  /** The engine host kept for the whole run, and a way to start a fresh one. */
  engine: { host: EngineHost; start(): Promise<EngineHost> };
}

/** A group of figures: measures what `ctx.wanted` asks for, and records through `ctx.add`. */
export type Measurement = (ctx: BenchContext) => Promise<void>;

/** Runs `each` for every side, `rounds` times, the order reversed every other round. */
export async function alternate(sides: Side[], rounds: number, each: (side: Side, round: number) => Promise<void>): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? sides : [...sides].reverse()) await each(side, r);
  }
}

/** Opens `forward` on `side`, runs `use`, and closes it whatever happens. */
export async function withOpen<T>(side: Side, forward: Forward, use: (open: Open) => Promise<T>, fresh = false): Promise<T> {
  const open = await side.open(forward, fresh);
  try {
    return await use(open);
  } finally {
    await open.close();
  }
}
