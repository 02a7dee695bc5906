/**
 * Reads a config and resolves its hosts off the caller's stack: a large config is read and
 * resolved in slices with a time budget (each host on demand meanwhile), so thousands of hosts
 * never hold the extension host for long. `Match exec` commands run asynchronously: a host that
 * needs one waits (listed by name) until its result is in.
 */
import { performance } from 'node:perf_hooks';
import type { ServerConfig } from '../engine';
import { resolveHost, type LoadedSshConfig, type ResolvedHost, type SshConfigEnv } from './sshConfig';
import { ExecPending, ExecRunner } from './sshConfigExec';
import { loadSteps } from './sshConfigLoad';

/** What the resolution tells its registry, and asks it. */
export interface ResolutionHooks {
  /** The config is read (its names are known). */
  loaded(config: LoadedSshConfig): void;
  /** The names or the resolved hosts changed (a slice read the config, or every host is resolved). */
  changed(): void;
  /** The registry's server of this name (for its ProxyJump hops). */
  server(name: string): ServerConfig | undefined;
  /** Whether the registry lists this name (a config host or a settings entry). */
  listed(name: string): boolean;
}

export class HostResolution {
  private loaded: LoadedSshConfig | undefined;
  /** A config being read in steps (a large one); `loaded` is set when it is done. */
  private loading: Generator<void, LoadedSshConfig> | undefined;
  /** Hosts of `loaded` resolved so far. */
  private resolved = new Map<string, ResolvedHost>();
  /** `Match exec` answers over one reading of the config (a command is not run again for every host), and the runs under way. */
  private runner: ExecRunner | undefined;
  /** Hosts whose resolution waits for a `Match exec` command under way, and the hosts each command holds. */
  private waiting = new Set<string>();
  private waitingOn = new Map<string, string[]>();
  private sliceTimer: NodeJS.Immediate | undefined;
  private resolving: Promise<void> | undefined;
  private finishResolving: (() => void) | undefined;
  private disposed = false;

  constructor(
    private readonly sliceMs: number,
    private readonly hooks: ResolutionHooks,
  ) {}

  /** The config read, once it is (its names are known). */
  get config(): LoadedSshConfig | undefined {
    return this.loaded;
  }

  /** Whether a config is still being read in slices. */
  get isLoading(): boolean {
    return this.loading !== undefined;
  }

  /** A host as far as it is resolved, or undefined while it is listed by name only. */
  resolvedSoFar(alias: string): ResolvedHost | undefined {
    return this.resolved.get(alias);
  }

  /** Reads a config: a small one at once (within budgetMs), a large one goes on in slices. True when it is read. */
  load(configPath: string, env: SshConfigEnv | undefined, budgetMs: number): boolean {
    this.loading = loadSteps(configPath, env);
    const done = this.advanceLoad(budgetMs);
    if (this.loading) this.startSlices();
    return done;
  }

  /** A caller that needs one host now (a tunnel starting) does not wait for the slices. */
  finishLoading(): void {
    if (this.loading) this.advanceLoad(Infinity);
  }

  /** Resolves hosts on the caller's stack within budgetMs; true when every host is, else the rest goes on in slices. */
  resolveNow(budgetMs: number): boolean {
    const complete = !this.loading && this.resolveFor(budgetMs) === 'done';
    if (!complete) this.startSlices();
    return complete;
  }

  /** Resolves when every host of the config has been resolved (at once for small configs). */
  whenResolved(): Promise<void> {
    return this.resolving ?? Promise.resolve();
  }

  /** Undefined when `name` resolves without running a command, else a promise that settles once its `Match exec` commands (and its hops') have run. */
  whenReady(name: string): Promise<void> | undefined {
    if (!this.loading && !this.execPendingFor(name) && !this.hooks.server(name)?.proxyJump) return undefined;
    return this.prepare(name, 0);
  }

  /** Forgets the config read and its results; what still runs for it is stopped. */
  reset(): void {
    this.loaded = undefined;
    this.loading = undefined;
    this.resolved = new Map();
    // A new reading asks its commands again; what still runs for the old one is stopped.
    this.runner?.dispose();
    this.runner = undefined;
    this.waiting = new Set();
    this.waitingOn = new Map();
    this.stopSlices();
  }

  dispose(): void {
    this.disposed = true;
    this.stopSlices();
    this.runner?.dispose();
  }

  /**
   * A host resolved now, whatever it takes. A `Match exec` result not in yet is run here,
   * synchronously: the rare path of a host needed at once (a tunnel starting in the first
   * second, from a caller that did not await whenReady()); the slices never take it.
   */
  resolveAlias(alias: string): ResolvedHost {
    let r = this.resolved.get(alias);
    if (!r) this.resolved.set(alias, (r = resolveHost(this.loaded!, alias, { execCache: this.execRunner().results })));
    return r;
  }

  /** What the config says for a host name that is not one of its aliases (a ProxyJump hop given by name). */
  resolveHostName(hostName: string): ServerConfig {
    return resolveHost(this.loaded!, hostName, { execCache: this.execRunner().results }).server;
  }

  private async prepare(name: string, depth: number): Promise<void> {
    // The reading goes on in slices; wait for it rather than finishing it on this stack.
    while (this.loading && !this.disposed) await new Promise((resolve) => setTimeout(resolve, this.sliceMs));
    // Each round runs the next command ssh would run for this host (a later one may depend on an earlier result).
    for (let round = 0; round < 64 && !this.disposed; round++) {
      const runner = this.execRunner();
      const command = this.execPendingFor(name);
      if (command === undefined) break;
      await runner.run(command);
    }
    // Hops are resolved by name when the connection is made: let theirs run now too (user@host:port, comma-separated).
    const jump = depth < 8 ? this.hooks.server(name)?.proxyJump : undefined;
    if (!jump || jump.toLowerCase() === 'none') return;
    const hops = jump.split(',').map((hop) => hop.trim().replace(/^.*@/, '').replace(/:\d+$/, '')).filter(Boolean);
    await Promise.all(hops.map((hop) => this.prepare(hop, depth + 1)));
  }

  /** The `Match exec` command resolving `name` waits for, or undefined when it can be resolved now. */
  private execPendingFor(name: string): string | undefined {
    if (!this.loaded || !this.loaded.env.allowExec || this.resolved.has(name)) return undefined;
    if (this.loaded.aliases.includes(name)) {
      const r = this.tryResolveAlias(name);
      return typeof r === 'string' ? r : undefined;
    }
    if (name === '' || /[\s*?!,]/.test(name) || this.hooks.listed(name)) return undefined;
    // A hop named by host name only (`ProxyJump bastion.corp`): resolved as resolveHostName() will, without keeping it.
    try {
      resolveHost(this.loaded, name, { execCache: this.execRunner().results, deferExec: true });
      return undefined;
    } catch (err) {
      if (err instanceof ExecPending) return err.command;
      throw err;
    }
  }

  /** Reads on until the budget is spent; true when the config is loaded. */
  private advanceLoad(budgetMs: number): boolean {
    if (!this.loading) return true;
    const deadline = performance.now() + budgetMs;
    for (;;) {
      const step = this.loading.next();
      if (step.done) {
        this.loading = undefined;
        this.loaded = step.value;
        this.hooks.loaded(step.value);
        return true;
      }
      if (performance.now() >= deadline) return false;
    }
  }

  private stopSlices(): void {
    if (this.sliceTimer) clearImmediate(this.sliceTimer);
    this.sliceTimer = undefined;
    this.finishResolving?.();
    this.finishResolving = undefined;
    this.resolving = undefined;
  }

  private execRunner(): ExecRunner {
    return (this.runner ??= new ExecRunner(this.loaded?.env.execTimeoutMs ?? 3000));
  }

  /** A host resolved with the `Match exec` results in so far; else the command it waits for, which is started. */
  private tryResolveAlias(alias: string): ResolvedHost | string {
    const done = this.resolved.get(alias);
    if (done) return done;
    const runner = this.execRunner();
    try {
      const r = resolveHost(this.loaded!, alias, { execCache: runner.results, deferExec: true });
      this.resolved.set(alias, r);
      return r;
    } catch (err) {
      if (!(err instanceof ExecPending)) throw err;
      this.waiting.add(alias);
      const held = this.waitingOn.get(err.command);
      if (held) held.push(alias);
      else {
        this.waitingOn.set(err.command, [alias]);
        void runner.run(err.command).then(() => this.execDone(runner, err.command));
      }
      return err.command;
    }
  }

  /** A command's result is in: the hosts it held are tried again in the next slice. */
  private execDone(runner: ExecRunner, command: string): void {
    if (runner !== this.runner || this.disposed) return;
    for (const alias of this.waitingOn.get(command) ?? []) this.waiting.delete(alias);
    this.waitingOn.delete(command);
    if (this.resolving && !this.sliceTimer) this.sliceTimer = setImmediate(this.step);
  }

  /** Resolves hosts until the time budget is spent: 'done' when all are, 'waiting' when the rest wait for `Match exec` commands. */
  private resolveFor(budgetMs: number): 'done' | 'more' | 'waiting' {
    const loaded = this.loaded;
    if (!loaded) return 'done';
    const deadline = performance.now() + budgetMs;
    for (const alias of loaded.aliases) {
      if (this.resolved.has(alias) || this.waiting.has(alias)) continue;
      if (performance.now() >= deadline) return 'more';
      this.tryResolveAlias(alias);
    }
    return this.waiting.size ? 'waiting' : 'done';
  }

  /** Loads and resolves the rest in slices of sliceMs, yielding to the event loop between them; tells the registry when names, then every host, are in. */
  private startSlices(): void {
    if (this.resolving || this.disposed) return;
    this.resolving = new Promise<void>((resolve) => (this.finishResolving = resolve));
    this.sliceTimer = setImmediate(this.step);
  }

  private readonly step = (): void => {
    this.sliceTimer = undefined;
    if (this.loading) {
      if (this.advanceLoad(this.sliceMs)) this.hooks.changed();
      this.sliceTimer = setImmediate(this.step);
      return;
    }
    const state = this.resolveFor(this.sliceMs);
    if (state === 'more') {
      this.sliceTimer = setImmediate(this.step);
      return;
    }
    // Waiting: execDone schedules the next slice when a command's result is in.
    if (state === 'waiting') return;
    const finish = this.finishResolving;
    this.finishResolving = undefined;
    this.resolving = undefined;
    this.hooks.changed();
    finish?.();
  };
}
