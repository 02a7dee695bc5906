/**
 * Runs `Match exec` commands as ssh does: through the user's shell (cmd.exe on Windows, as ssh.exe's system()), exit status 0 means the
 * criterion holds. Each run has a timeout. The registry runs them asynchronously and in
 * parallel (a bounded number at once) so a slow command never blocks the extension host.
 */
import { spawn, spawnSync } from 'node:child_process';
import { endCommandTree, shellCommand } from '../engine';

export interface ExecResult {
  ok: boolean;
  /** Why the command counts as failed when it did not finish by itself: "did not finish within 3000 ms". */
  problem?: string;
}

/** Thrown by an evaluation told to defer (`deferExec`) when it needs a command's result that is not in yet. */
export class ExecPending {
  constructor(readonly command: string) {}
}

/** Runs a command and waits for it: for a resolution outside the registry (the CLI, a lone resolveHost). */
export function runExecSync(command: string, timeoutMs: number): ExecResult {
  const shell = shellCommand(command);
  const run = spawnSync(shell.file, shell.args, { stdio: 'ignore', timeout: timeoutMs, windowsHide: true, windowsVerbatimArguments: shell.windowsVerbatimArguments });
  if (run.signal) return { ok: false, problem: `did not finish within ${timeoutMs} ms` };
  if (run.error) return { ok: false, problem: `failed: ${run.error.message}` };
  return { ok: run.status === 0 };
}

/** Starts a command; `done` settles (never rejects) when it exits or is killed at the timeout. */
export function runExec(command: string, timeoutMs: number): { done: Promise<ExecResult>; kill(): void } {
  // Its own process group (not on Windows), so a timeout also ends what the shell started (`sleep 5; …`).
  const group = process.platform !== 'win32';
  const shell = shellCommand(command);
  const child = spawn(shell.file, shell.args, { stdio: 'ignore', detached: group, windowsHide: true, windowsVerbatimArguments: shell.windowsVerbatimArguments });
  let timedOut = false;
  const kill = () => {
    try {
      if (endCommandTree(child)) return;
      if (group && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      // Gone already.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutMs);
  const done = new Promise<ExecResult>((resolve) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, problem: `failed: ${err.message}` });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(timedOut ? { ok: false, problem: `did not finish within ${timeoutMs} ms` } : { ok: code === 0 });
    });
  });
  return { done, kill };
}

/**
 * The `Match exec` results of one reading of the config, and the commands under way. A command
 * runs once per reading, however many hosts ask for it; at most `concurrency` run at once.
 */
export class ExecRunner {
  /** Expanded command → result; evaluations read (and a synchronous fallback writes) it. */
  readonly results = new Map<string, ExecResult>();
  private readonly started = new Map<string, Promise<void>>();
  private readonly queue: { command: string; finish: () => void }[] = [];
  private readonly kills = new Set<() => void>();
  private active = 0;
  private disposed = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly concurrency = 8,
  ) {}

  /** Resolves once the command's result is in `results` (at once if it is), or the runner is disposed. */
  run(command: string): Promise<void> {
    if (this.results.has(command) || this.disposed) return Promise.resolve();
    let started = this.started.get(command);
    if (!started) {
      started = new Promise<void>((finish) => this.queue.push({ command, finish }));
      this.started.set(command, started);
      this.pump();
    }
    return started;
  }

  private pump(): void {
    while (!this.disposed && this.active < this.concurrency && this.queue.length) {
      const { command, finish } = this.queue.shift()!;
      this.active++;
      const { done, kill } = runExec(command, this.timeoutMs);
      this.kills.add(kill);
      void done.then((result) => {
        this.kills.delete(kill);
        this.active--;
        // A synchronous fallback may have answered meanwhile; the first answer stays.
        if (!this.disposed && !this.results.has(command)) this.results.set(command, result);
        finish();
        this.pump();
      });
    }
  }

  /** Kills what runs (the config changed, or the extension stops); whoever waits is released. */
  dispose(): void {
    this.disposed = true;
    for (const kill of this.kills) kill();
    this.kills.clear();
    for (const { finish } of this.queue.splice(0)) finish();
  }
}
