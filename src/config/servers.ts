/**
 * The servers the engine can reach: those in the `sshTunnels.servers` setting merged with
 * the hosts of `~/.ssh/config`. A setting with the same `host` as a config entry overrides
 * that entry field by field. The config file (and its includes) is re-read when it changes.
 * A large config is resolved in slices off the caller's stack (each host on demand meanwhile),
 * so thousands of hosts never hold the extension host for long. `Match exec` commands run
 * asynchronously: a host that needs one waits (listed by name) until its result is in.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { TunnelError } from '../engine/errors';
import { Emitter, type Disposable } from '../engine/events';
import type { ServerConfig, ServerSource, TunnelSpec } from '../engine/types';
import { validateServerSettings } from './serverSettings';
import { resolveHost, type LoadedSshConfig, type ResolvedHost, type SshConfigEnv } from './sshConfig';
import { ExecPending, ExecRunner } from './sshConfigExec';
import { loadSteps } from './sshConfigLoad';

export { validateServerSettings, type SettingsValidation } from './serverSettings';

export function defaultSshConfigPath(home = os.homedir()): string {
  return path.join(home, '.ssh', 'config');
}

export type ServerOrigin = 'settings' | 'sshConfig' | 'both';

/**
 * A settings entry over the config's host, field by field. ssh takes only one of ProxyJump and
 * ProxyCommand, so either one in settings replaces the other from the file.
 */
function merge(fromFile: ServerConfig, entry: ServerConfig): ServerConfig {
  const merged = { ...fromFile, ...entry };
  if (entry.proxyJump !== undefined && entry.proxyCommand === undefined) delete merged.proxyCommand;
  if (entry.proxyCommand !== undefined && entry.proxyJump === undefined) delete merged.proxyJump;
  return merged;
}

export interface ServerRegistryOptions {
  /** Path of the OpenSSH client config; `null` reads none. Default ~/.ssh/config. */
  configPath?: string | null;
  /** The raw `sshTunnels.servers` setting. */
  settings?: unknown;
  /** `~`, `%d`, the local user and whether `Match exec` may run; defaults: this process's user, no exec. */
  env?: SshConfigEnv;
  /** At most this often list()/get() look at the files' modification times; default 1000 ms. */
  checkIntervalMs?: number;
  /** Work a call such as list() may do at once before the rest goes to slices; default 25 ms (a small config is done by then). */
  syncMs?: number;
  /** Length of each later slice; default 8 ms. */
  sliceMs?: number;
}

interface Snapshot {
  servers: ServerConfig[];
  byName: Map<string, ServerConfig>;
  origins: Map<string, ServerOrigin>;
  tunnels: TunnelSpec[];
  problems: string[];
  /** Names that exist but cannot be used, with why. */
  broken: Map<string, string>;
  /** Whether every config host was resolved for this snapshot (else some entries are names only). */
  complete: boolean;
  tunnelsByServer?: Map<string, TunnelSpec[]>;
}

/** A ServerSource over settings + ssh config, re-read when the config files change. */
export class ServerRegistry implements ServerSource, Disposable {
  private configPath: string | null;
  private settingsRaw: unknown;
  private env: SshConfigEnv | undefined;
  private readonly checkIntervalMs: number;
  private readonly sliceMs: number;
  private readonly syncMs: number;
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
  private signature = '';
  private lastCheck = 0;
  private snapshot: Snapshot | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private sliceTimer: NodeJS.Immediate | undefined;
  private resolving: Promise<void> | undefined;
  private finishResolving: (() => void) | undefined;
  private disposed = false;
  private readonly _onDidChange = new Emitter<void>();
  /** Fires when the list of servers or tunnels may have changed (file edited, settings set, slices done). */
  readonly onDidChange = this._onDidChange.event;

  constructor(options: ServerRegistryOptions = {}) {
    this.env = options.env;
    this.configPath = options.configPath === undefined ? defaultSshConfigPath(options.env?.home) : this.expand(options.configPath);
    this.settingsRaw = options.settings;
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
    this.sliceMs = options.sliceMs ?? 8;
    this.syncMs = options.syncMs ?? 25;
  }

  /** Every usable server; while a large config is still being resolved, its hosts not yet done appear by name only. */
  list(): ServerConfig[] {
    return this.current().servers;
  }

  /** The server with exactly this name (`host`), or undefined (also when its entry is broken: see problemFor). */
  get(name: string): ServerConfig | undefined {
    this.finishLoading();
    const snapshot = this.current();
    if (!snapshot.complete && snapshot.byName.has(name) && snapshot.origins.get(name) !== 'settings') return this.withFile(name);
    return snapshot.byName.get(name);
  }

  /** What the list holds for this name now, without resolving it on demand (for showing thousands of hosts). */
  peek(name: string): ServerConfig | undefined {
    return this.current().byName.get(name);
  }

  /**
   * A listed server, or else what ~/.ssh/config says for this host name (its `Host` patterns,
   * `Host *` defaults), as ssh computes it for a ProxyJump hop it was given by name.
   */
  resolveHost(hostName: string): ServerConfig | undefined {
    const listed = this.get(hostName);
    if (listed) return listed;
    if (!this.loaded || hostName === '' || /[\s*?!,]/.test(hostName) || this.problemFor(hostName)) return undefined;
    return resolveHost(this.loaded, hostName, { execCache: this.execRunner().results }).server;
  }

  /** Like get(), but an unknown or ambiguous name throws an error listing what exists. */
  require(name: string): ServerConfig {
    const server = this.get(name);
    if (server) return server;
    throw this.unknownServerError(name);
  }

  /** Why a server of this name exists but cannot be used (a bad settings value, a bad Port in the config), or undefined. */
  problemFor(name: string): string | undefined {
    this.finishLoading();
    const snapshot = this.current();
    const known = snapshot.broken.get(name);
    if (known !== undefined || snapshot.complete || !this.loaded?.aliases.includes(name)) return known;
    return this.resolveAlias(name).error;
  }

  /** Servers that are named but unusable, with their problem, for the tree. */
  brokenServers(): { name: string; problem: string }[] {
    return [...this.current().broken].map(([name, problem]) => ({ name, problem }));
  }

  /** The error for a name that is not a usable server: its entry's own problem, or what exists and what was probably meant. */
  unknownServerError(name: string): TunnelError {
    const known = this.list().map((s) => s.host);
    const problem = this.problemFor(name);
    if (problem) return new TunnelError('UNKNOWN_SERVER', problem, { known, problem });
    const similar = known.filter((k) => k.toLowerCase() === String(name).toLowerCase());
    const listing = known.length ? `Known servers: ${known.join(', ')}.` : `No servers are configured: add one to sshTunnels.servers${this.configPath ? ` or a Host to ${this.configPath}` : ''}.`;
    const message =
      similar.length > 1
        ? `Server name ${JSON.stringify(name)} is ambiguous: it could be ${similar.join(' or ')} (names are case-sensitive). ${listing}`
        : `Unknown server ${JSON.stringify(name)}${similar.length === 1 ? ` (did you mean ${JSON.stringify(similar[0])}?)` : ''}. ${listing}`;
    return new TunnelError('UNKNOWN_SERVER', message, { known });
  }

  /** Where a server comes from, for the tree's description. */
  origin(name: string): ServerOrigin | undefined {
    return this.current().origins.get(name);
  }

  /** LocalForward / RemoteForward / DynamicForward entries of the config, ready to start (complete once resolution is). */
  tunnels(server?: string): TunnelSpec[] {
    const snapshot = this.current();
    if (server === undefined) return snapshot.tunnels;
    // The tree asks once per server: an index keeps thousands of servers linear.
    if (!snapshot.tunnelsByServer) {
      snapshot.tunnelsByServer = new Map();
      for (const t of snapshot.tunnels) {
        const list = snapshot.tunnelsByServer.get(t.server);
        if (list) list.push(t);
        else snapshot.tunnelsByServer.set(t.server, [t]);
      }
    }
    return snapshot.tunnelsByServer.get(server) ?? [];
  }

  /** Settings errors and config warnings, to show once in the log or a notification. */
  problems(): string[] {
    return this.current().problems;
  }

  /** Resolves when every host of the current config has been resolved (at once for small configs). */
  whenResolved(): Promise<void> {
    this.current();
    return this.resolving ?? Promise.resolve();
  }

  /**
   * For a caller that can wait (a tunnel starting): undefined when get(name) answers without
   * running a command, else a promise that settles once the `Match exec` commands of this host
   * (and of its ProxyJump hops) have run asynchronously. get() stays correct without it.
   */
  whenReady(name: string): Promise<void> | undefined {
    if (this.configPath === null || this.disposed || !this.env?.allowExec) return undefined;
    this.current();
    if (!this.loading && !this.execPendingFor(name) && !this.get(name)?.proxyJump) return undefined;
    return this.prepare(name, 0);
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
    const jump = depth < 8 ? this.get(name)?.proxyJump : undefined;
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
    if (name === '' || /[\s*?!,]/.test(name) || this.current().byName.has(name)) return undefined;
    // A hop named by host name only (`ProxyJump bastion.corp`): resolved as resolveHost() will, without keeping it.
    try {
      resolveHost(this.loaded, name, { execCache: this.execRunner().results, deferExec: true });
      return undefined;
    } catch (err) {
      if (err instanceof ExecPending) return err.command;
      throw err;
    }
  }

  /** Takes a new `sshTunnels.servers` value (from onDidChangeConfiguration). */
  setSettings(raw: unknown): void {
    this.settingsRaw = raw;
    this.snapshot = undefined;
    this._onDidChange.fire();
  }

  /** Takes a new config path setting; `null` stops reading a file. */
  setConfigPath(configPath: string | null): void {
    this.configPath = this.expand(configPath);
    this.reset();
    this._onDidChange.fire();
  }

  /** Whether `Match exec` commands may run (a trusted workspace); re-resolves the config. */
  setAllowExec(allowExec: boolean): void {
    if ((this.env?.allowExec ?? false) === allowExec) return;
    this.env = { ...this.env, allowExec };
    this.reset();
    this._onDidChange.fire();
  }

  /** Re-reads the config now if any of its files changed; returns whether anything changed. */
  refresh(): boolean {
    this.lastCheck = Date.now();
    if (this.configPath === null || this.loading) return false;
    if (this.loaded && this.fileSignature(this.loaded) === this.signature) return false;
    const hadLoaded = this.loaded !== undefined;
    this.reset();
    this.loading = loadSteps(this.configPath, this.env);
    // A small config is read at once; a large one goes on in slices (see startSlices).
    if (this.advanceLoad(this.syncMs) && hadLoaded) this._onDidChange.fire();
    if (this.loading) this.startSlices();
    return true;
  }

  /** A caller that needs one host now (a tunnel starting) does not wait for the slices. */
  private finishLoading(): void {
    if (this.loading && this.advanceLoad(Infinity)) this.snapshot = undefined;
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
        this.signature = this.fileSignature(step.value);
        this.snapshot = undefined;
        return true;
      }
      if (performance.now() >= deadline) return false;
    }
  }

  /** Polls the config files every `intervalMs` and fires onDidChange when they change. */
  watch(intervalMs = 2000): Disposable {
    clearInterval(this.watchTimer);
    this.watchTimer = setInterval(() => this.refresh(), intervalMs);
    this.watchTimer.unref();
    return { dispose: () => clearInterval(this.watchTimer) };
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.watchTimer);
    this.stopSlices();
    this.runner?.dispose();
    this._onDidChange.dispose();
  }

  /** A setting may say `~/.ssh/work_config`. */
  private expand(configPath: string | null): string | null {
    if (configPath === null) return null;
    const home = this.env?.home ?? os.homedir();
    return configPath === '~' ? home : configPath.startsWith('~/') ? path.join(home, configPath.slice(2)) : configPath;
  }

  private fileSignature(loaded: LoadedSshConfig): string {
    const stamp = (p: string) => {
      try {
        const st = fs.statSync(p);
        return `${st.mtimeMs}:${st.size}:${st.ino}`;
      } catch {
        return 'missing';
      }
    };
    return [loaded.path, ...loaded.files, ...loaded.globDirs].map((p) => `${p}=${stamp(p)}`).join('\n');
  }

  private reset(): void {
    this.loaded = undefined;
    this.loading = undefined;
    this.resolved = new Map();
    // A new reading asks its commands again; what still runs for the old one is stopped.
    this.runner?.dispose();
    this.runner = undefined;
    this.waiting = new Set();
    this.waitingOn = new Map();
    this.snapshot = undefined;
    this.stopSlices();
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

  /**
   * A host resolved now, whatever it takes. A `Match exec` result not in yet is run here,
   * synchronously: the rare path of a host needed at once (a tunnel starting in the first
   * second, from a caller that did not await whenReady()); the slices never take it.
   */
  private resolveAlias(alias: string): ResolvedHost {
    let r = this.resolved.get(alias);
    if (!r) this.resolved.set(alias, (r = resolveHost(this.loaded!, alias, { execCache: this.execRunner().results })));
    return r;
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

  /** A config host resolved now (on demand), merged with its settings entry. */
  private withFile(name: string): ServerConfig | undefined {
    const r = this.resolveAlias(name);
    if (r.error) return undefined;
    const entry = validateServerSettings(this.settingsRaw).servers.find((s) => s.host === name);
    return entry ? merge(r.server, entry) : r.server;
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

  /** Loads and resolves the rest in slices of sliceMs, yielding to the event loop between them; fires when names, then every host, are in. */
  private startSlices(): void {
    if (this.resolving || this.disposed) return;
    this.resolving = new Promise<void>((resolve) => (this.finishResolving = resolve));
    this.sliceTimer = setImmediate(this.step);
  }

  private readonly step = (): void => {
    this.sliceTimer = undefined;
    if (this.loading) {
      if (this.advanceLoad(this.sliceMs)) this._onDidChange.fire();
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
    this.snapshot = undefined;
    this._onDidChange.fire();
    finish?.();
  };

  private current(): Snapshot {
    const started = performance.now();
    if (this.configPath !== null && (!this.loaded || Date.now() - this.lastCheck >= this.checkIntervalMs)) this.refresh();
    if (this.snapshot) return this.snapshot;
    const complete = !this.loading && this.resolveFor(Math.max(1, this.syncMs - (performance.now() - started))) === 'done';
    if (!complete) this.startSlices();
    const problems: string[] = [];
    const byName = new Map<string, ServerConfig>();
    const origins = new Map<string, ServerOrigin>();
    const broken = new Map<string, string>();
    const tunnels: TunnelSpec[] = [];
    if (this.loaded) {
      problems.push(...this.loaded.warnings);
      for (const alias of this.loaded.aliases) {
        const r = this.resolved.get(alias);
        if (r?.error) {
          broken.set(alias, r.error);
          problems.push(r.error);
          continue;
        }
        // Not resolved yet: listed by name; get() resolves it on demand.
        byName.set(alias, r?.server ?? { host: alias });
        origins.set(alias, 'sshConfig');
        if (r) {
          tunnels.push(...r.tunnels);
          problems.push(...r.warnings);
        }
      }
    }
    const settings = validateServerSettings(this.settingsRaw);
    problems.push(...settings.errors, ...settings.warnings);
    for (const { name, problem } of settings.broken) {
      // A broken entry hides the config host it would have overridden: its tunnels fail with its problem.
      broken.set(name, problem);
      byName.delete(name);
      origins.delete(name);
    }
    for (const entry of settings.servers) {
      const fromFile = byName.get(entry.host);
      broken.delete(entry.host);
      byName.set(entry.host, fromFile ? merge(fromFile, entry) : entry);
      origins.set(entry.host, fromFile ? 'both' : 'settings');
    }
    // Settings first (in their order), then the config's hosts in file order.
    const order = [...settings.servers.map((s) => s.host), ...byName.keys()];
    const servers = [...new Set(order)].map((name) => byName.get(name)!);
    this.snapshot = { servers, byName, origins, tunnels, problems: [...new Set(problems)], broken, complete };
    return this.snapshot;
  }
}
