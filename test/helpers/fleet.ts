import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClientsState, CloseResult, CloseWay, EchoCount, FleetRequest, OpenResult } from './fleetChild';
import { stopProcess } from './openssh';

/** The soft and hard RLIMIT_NOFILE of `pid`, from /proc (Infinity for unlimited). */
function fdLimits(pid: number | 'self'): { soft: number; hard: number } {
  const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const [, soft, hard] = line?.split(/\s{2,}/) ?? [];
  const value = (v: string | undefined) => (v === undefined || v === 'unlimited' ? Infinity : Number(v));
  return { soft: value(soft), hard: value(hard) };
}

/** The most file descriptors `pid` may hold (its soft RLIMIT_NOFILE). */
export function fdLimit(pid: number | 'self' = 'self'): number {
  return fdLimits(pid).soft;
}

/**
 * Raises `pid`'s soft file limit to its hard one (with util-linux's `prlimit`), as far as this
 * process may; returns the soft limit then. Node already does so for itself when it starts, and
 * what it starts inherits that, so here this only matters for a process that began lower.
 */
export function raiseFdLimit(pid: number | 'self' = 'self'): number {
  const { soft, hard } = fdLimits(pid);
  if (soft < hard) {
    const target = pid === 'self' ? process.pid : pid;
    const limit = hard === Infinity ? 'unlimited' : String(hard);
    spawnSync('prlimit', ['--pid', String(target), `--nofile=${limit}:${limit}`], { stdio: 'ignore' });
  }
  return fdLimit(pid);
}

/**
 * One side of many connections in a child process (test/helpers/fleetChild.ts): an echo that
 * counts its open connections, or clients that open, check, hold and close connections. Every
 * call is bounded and a stall is an error naming the step.
 */
export class Fleet {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited: string | undefined;

  private constructor(private readonly child: ChildProcess, readonly role: 'echo' | 'clients', readonly port: number) {
    child.on('message', (msg: { seq?: number; result?: unknown; error?: string }) => {
      if (msg.seq === undefined) return;
      const p = this.pending.get(msg.seq);
      this.pending.delete(msg.seq);
      if (msg.error !== undefined) p?.reject(new Error(`${role}: ${msg.error}`));
      else p?.resolve(msg.result);
    });
    child.on('exit', (code, signal) => {
      this.exited = `the ${role} process exited (${signal ?? code})`;
      for (const p of this.pending.values()) p.reject(new Error(this.exited));
      this.pending.clear();
    });
  }

  /** Starts the child; for `echo`, resolves once it listens (`port`). */
  static async start(role: 'echo' | 'clients'): Promise<Fleet> {
    const root = path.join(__dirname, '..', '..');
    const child = fork(path.join(__dirname, 'fleetChild.ts'), [role], { cwd: root, execArgv: ['-r', 'tsx/cjs'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let timer: NodeJS.Timeout | undefined;
    try {
      const ready = await new Promise<{ port?: number }>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`the ${role} process was not ready within 30 s`)), 30_000);
        child.once('message', (m: { ready: { port?: number } }) => resolve(m.ready));
        child.once('exit', (code) => reject(new Error(`the ${role} process exited with ${code} before it was ready`)));
      });
      return new Fleet(child, role, ready.port ?? 0);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends `req`; rejects with "`step`: no answer within N s" if the child does not answer in `timeoutMs`. */
  call<T>(req: FleetRequest, timeoutMs: number, step: string): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${step}: ${this.exited}`));
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`${step}: the ${this.role} process gave no answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(seq, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(new Error(`${step}: ${e.message}`));
        },
      });
      this.child.send({ seq, req });
    });
  }

  /**
   * Clients: opens `count` connections to `port`, `concurrency` at a time, each echoing `size`
   * random bytes checked by SHA-256, and holds them. One connection may take `connectionMs`
   * (10 s unless given), all of them `timeoutMs`.
   */
  open(port: number, count: number, options: { concurrency: number; size: number; timeoutMs: number; connectionMs?: number }): Promise<OpenResult> {
    const req: FleetRequest = { op: 'open', port, count, concurrency: options.concurrency, size: options.size, timeoutMs: options.connectionMs ?? 10_000 };
    return this.call<OpenResult>(req, options.timeoutMs, `opening ${count} connections`);
  }

  /** Clients: closes every held connection, the i-th the way `ways[i % ways.length]`, and waits until each has closed. */
  close(ways: CloseWay[], timeoutMs: number): Promise<CloseResult> {
    return this.call<CloseResult>({ op: 'close', ways }, timeoutMs, 'closing the connections');
  }

  /** Clients: their file descriptors and held connections. */
  state(): Promise<ClientsState> {
    return this.call<ClientsState>({ op: 'fds' }, 10_000, 'reading the clients\' state');
  }

  /** Echo: connections open now and accepted so far. */
  count(): Promise<EchoCount> {
    return this.call<EchoCount>({ op: 'count' }, 10_000, 'counting the echo\'s connections');
  }

  stop(): Promise<void> {
    return stopProcess(this.child);
  }
}
