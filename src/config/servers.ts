/**
 * The servers the engine can reach: those in the `sshTunnels.servers` setting merged with
 * the hosts of `~/.ssh/config`. The registry composes the parts: the merge and its snapshot
 * (serverSnapshot.ts), the watch on the config's files (configWatch.ts), and the sliced,
 * asynchronous resolution of the config's hosts with their `Match exec` commands (hostResolution.ts).
 */
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { type Disposable, Emitter, parseSshTarget, type ServerConfig, type ServerSource, TunnelError, type TunnelSpec, expandUserPath, pathsOf, userSshDir } from '../engine';
import { ConfigWatch } from './configWatch';
import { HostResolution } from './hostResolution';
import { buildSnapshot, tunnelsOf, withSettings, type ServerOrigin, type Snapshot } from './serverSnapshot';
import type { SshConfigEnv } from './sshConfig';
import { defaultSystemSshConfigPath } from './sshConfigLoad';

export { validateServerSettings, type SettingsValidation } from './serverSettings';
export type { ServerOrigin } from './serverSnapshot';

/** The user's ssh config: `~/.ssh/config`, which on Windows is `%USERPROFILE%\\.ssh\\config`. */
export function defaultSshConfigPath(home = os.homedir(), platform: NodeJS.Platform = process.platform): string {
  return pathsOf(platform).join(userSshDir(home, platform), 'config');
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
  /** The system-wide file read after ~/.ssh/config (not after another file, as with ssh -F); default /etc/ssh/ssh_config, `null` none. */
  systemConfigPath?: string | null;
}

/** A ServerSource over settings + ssh config, re-read when the config files change. */
export class ServerRegistry implements ServerSource, Disposable {
  private configPath: string | null;
  private readonly systemConfigPath: string | null;
  private settingsRaw: unknown;
  private env: SshConfigEnv | undefined;
  private readonly syncMs: number;
  private readonly files: ConfigWatch;
  private readonly hosts: HostResolution;
  private snapshot: Snapshot | undefined;
  /** Servers given as ssh takes them on a command line (addTarget), by the text given. */
  private readonly targets = new Map<string, ServerConfig>();
  private disposed = false;
  private readonly _onDidChange = new Emitter<void>();
  /** Fires when the list of servers or tunnels may have changed (file edited, settings set, slices done). */
  readonly onDidChange = this._onDidChange.event;

  constructor(options: ServerRegistryOptions = {}) {
    this.env = options.env;
    this.configPath = options.configPath === undefined ? defaultSshConfigPath(options.env?.home, options.env?.platform) : this.expand(options.configPath);
    this.settingsRaw = options.settings;
    this.systemConfigPath = options.systemConfigPath === undefined ? defaultSystemSshConfigPath({ platform: options.env?.platform, env: options.env?.vars }) : options.systemConfigPath;
    this.syncMs = options.syncMs ?? 25;
    this.files = new ConfigWatch(options.checkIntervalMs ?? 1000);
    this.hosts = new HostResolution(options.sliceMs ?? 8, {
      loaded: (config) => {
        this.files.remember(config);
        this.snapshot = undefined;
      },
      changed: () => {
        this.snapshot = undefined;
        this._onDidChange.fire();
      },
      server: (name) => this.get(name),
      listed: (name) => this.current().byName.has(name),
    });
  }

  /** Every usable server; while a large config is still being resolved, its hosts not yet done appear by name only. */
  list(): ServerConfig[] {
    return this.current().servers;
  }

  /** The server with exactly this name (`host`), or undefined (also when its entry is broken: see problemFor). */
  get(name: string): ServerConfig | undefined {
    // What a command line added (a host, or a listed one with its -i) stands for that name.
    const typed = this.targets.get(name);
    if (typed) return typed;
    this.hosts.finishLoading();
    const snapshot = this.current();
    if (!snapshot.complete && snapshot.byName.has(name) && snapshot.origins.get(name) !== 'settings') return this.withFile(name);
    return snapshot.byName.get(name) ?? this.targets.get(name);
  }

  /**
   * A server given as ssh takes it (`[user@]host[:port]`, or a host that is no alias): a listed
   * one, or what the ssh config says for its host part (`Host *`, matching patterns), with the
   * user and port given overriding, and `identityFiles` (ssh -i) first. Kept under `target`, so
   * get(target) finds it from now on.
   */
  addTarget(target: string, identityFiles: readonly string[] = []): ServerConfig | { error: string } {
    const listed = this.get(target);
    if (listed && identityFiles.length === 0) return listed;
    let server: ServerConfig;
    if (listed) server = { ...listed };
    else {
      const parsed = parseSshTarget(target);
      if ('error' in parsed) return parsed;
      const problem = this.problemFor(parsed.host);
      if (problem) return { error: problem };
      const base = this.resolveHost(parsed.host) ?? { alias: parsed.host };
      server = { ...base, alias: target, hostName: base.hostName ?? parsed.host };
      if (parsed.user !== undefined) server.user = parsed.user;
      if (parsed.port !== undefined) server.port = parsed.port;
    }
    // As ssh -i: tried before the config's identities.
    if (identityFiles.length) server.identityFile = [...identityFiles, ...[server.identityFile ?? []].flat()];
    this.targets.set(target, server);
    return server;
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
    if (!this.hosts.config || hostName === '' || /[\s*?!,]/.test(hostName) || this.problemFor(hostName)) return undefined;
    return this.hosts.resolveHostName(hostName);
  }

  /** Like get(), but an unknown or ambiguous name throws an error listing what exists. */
  require(name: string): ServerConfig {
    const server = this.get(name);
    if (server) return server;
    throw this.unknownServerError(name);
  }

  /** Why a server of this name exists but cannot be used (a bad settings value, a bad Port in the config), or undefined. */
  problemFor(name: string): string | undefined {
    this.hosts.finishLoading();
    const snapshot = this.current();
    const known = snapshot.broken.get(name);
    if (known !== undefined || snapshot.complete || !this.hosts.config?.aliases.includes(name)) return known;
    return this.hosts.resolveAlias(name).error;
  }

  /** Servers that are named but unusable, with their problem, for the tree. */
  brokenServers(): { name: string; problem: string }[] {
    return [...this.current().broken].map(([name, problem]) => ({ name, problem }));
  }

  /** The error for a name that is not a usable server: its entry's own problem, or what exists and what was probably meant. */
  unknownServerError(name: string): TunnelError {
    const known = this.list().map((s) => s.alias);
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
    return server === undefined ? snapshot.tunnels : tunnelsOf(snapshot, server);
  }

  /** Settings errors and config warnings, to show once in the log or a notification. */
  problems(): string[] {
    return this.current().problems;
  }

  /** Resolves when every host of the current config has been resolved (at once for small configs). */
  whenResolved(): Promise<void> {
    this.current();
    return this.hosts.whenResolved();
  }

  /**
   * For a caller that can wait (a tunnel starting): undefined when get(name) answers without
   * running a command, else a promise that settles once the `Match exec` commands of this host
   * (and of its ProxyJump hops) have run asynchronously. get() stays correct without it.
   */
  whenReady(name: string): Promise<void> | undefined {
    if (this.configPath === null || this.disposed || !this.env?.allowExec) return undefined;
    this.current();
    return this.hosts.whenReady(name);
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
    this.files.checked();
    if (this.configPath === null || this.hosts.isLoading) return false;
    const previous = this.hosts.config;
    if (previous && this.files.unchanged(previous)) return false;
    this.reset();
    // A small config is read at once; a large one goes on in slices.
    if (this.hosts.load(this.configPath, this.loadEnv(this.configPath), this.syncMs) && previous !== undefined) this._onDidChange.fire();
    return true;
  }

  /** Polls the config files every `intervalMs` and fires onDidChange when they change. */
  watch(intervalMs = 2000): Disposable {
    return this.files.poll(intervalMs, () => this.refresh());
  }

  dispose(): void {
    this.disposed = true;
    this.files.dispose();
    this.hosts.dispose();
    this._onDidChange.dispose();
  }

  /** As ssh: the system-wide file is read after the user's own ~/.ssh/config, not after another file (ssh -F). */
  private loadEnv(configPath: string): SshConfigEnv {
    const own = configPath === defaultSshConfigPath(this.env?.home, this.env?.platform);
    return { ...this.env, systemConfig: own ? this.systemConfigPath : null };
  }

  /** A setting may say `~/.ssh/work_config`. */
  private expand(configPath: string | null): string | null {
    if (configPath === null) return null;
    return expandUserPath(configPath, this.env?.home ?? os.homedir(), { platform: this.env?.platform, env: this.env?.vars });
  }

  private reset(): void {
    this.hosts.reset();
    this.snapshot = undefined;
  }

  /** A config host resolved now (on demand), merged with its settings entry. */
  private withFile(name: string): ServerConfig | undefined {
    const r = this.hosts.resolveAlias(name);
    return r.error ? undefined : withSettings(name, r.server, this.settingsRaw);
  }

  private current(): Snapshot {
    const started = performance.now();
    if (this.configPath !== null && (!this.hosts.config || this.files.due())) this.refresh();
    if (this.snapshot) return this.snapshot;
    const complete = this.hosts.resolveNow(Math.max(1, this.syncMs - (performance.now() - started)));
    this.snapshot = buildSnapshot(this.hosts.config, (alias) => this.hosts.resolvedSoFar(alias), this.settingsRaw, complete);
    return this.snapshot;
  }
}
