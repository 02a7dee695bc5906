/**
 * The servers the engine can reach: those in the `sshTunnels.servers` setting merged with
 * the hosts of `~/.ssh/config`. A setting with the same `host` as a config entry overrides
 * that entry field by field. The config file (and its includes) is re-read when it changes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelError } from '../engine/errors';
import { Emitter, type Disposable } from '../engine/events';
import type { ServerConfig, ServerSource, TunnelSpec } from '../engine/types';
import { loadSshConfig, resolveHost, sshConfigServers, type LoadedSshConfig, type SshConfigEnv } from './sshConfig';

export function defaultSshConfigPath(home = os.homedir()): string {
  return path.join(home, '.ssh', 'config');
}

// ---- settings validation ----------------------------------------------------------------

/** Every field a settings entry may have, with what it must be. */
const FIELDS: Record<string, string> = {
  host: 'a name without spaces or wildcards',
  hostName: 'a host name or address',
  port: 'a whole number from 1 to 65535',
  user: 'a user name',
  identityFile: 'a path or a list of paths',
  identitiesOnly: 'true or false',
  identityAgent: 'a socket path, or false to not use an agent',
  proxyJump: 'a comma-separated list of [user@]host[:port] or server names',
  userKnownHostsFile: 'a path or a list of paths',
  globalKnownHostsFile: 'a path or a list of paths',
  strictHostKeyChecking: '"yes", "accept-new", "no" or "ask"',
  serverAliveInterval: 'a whole number of seconds, 0 to turn keepalives off',
  serverAliveCountMax: 'a whole number from 1 up',
  ciphers: 'a list of cipher names, e.g. ["aes128-gcm@openssh.com"]',
  connectTimeout: 'a whole number of seconds from 1 up',
};
const SECRETS = new Set(['password', 'passphrase', 'privateKey']);

export interface SettingsValidation {
  /** The entries that are valid, normalized (strictHostKeyChecking "ask" becomes unset). */
  servers: ServerConfig[];
  /** One message per problem; an entry with a problem is left out, the others still load. */
  errors: string[];
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const keep = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = keep;
    }
  }
  return row[b.length];
}

/** The field a typo most likely meant (case differences, or up to two edits). */
function closest(name: string, candidates: string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** Checks `sshTunnels.servers` entries; every error names the entry, the field and what it must be. */
export function validateServerSettings(raw: unknown): SettingsValidation {
  const errors: string[] = [];
  const servers: ServerConfig[] = [];
  if (raw === undefined || raw === null) return { servers, errors };
  if (!Array.isArray(raw)) {
    return { servers, errors: [`sshTunnels.servers must be a list of server objects; got ${typeof raw}.`] };
  }
  const seen = new Set<string>();
  raw.forEach((entry: unknown, index) => {
    const at = `sshTunnels.servers[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      errors.push(`${at} must be an object like { "host": "db", "hostName": "10.0.0.5", "user": "me" }; got ${JSON.stringify(entry)}.`);
      return;
    }
    const e = entry as Record<string, unknown>;
    const name = typeof e.host === 'string' ? e.host : undefined;
    const label = name ? `${at} (${name})` : at;
    const problems: string[] = [];
    const bad = (field: string) => problems.push(`${label}: ${field} must be ${FIELDS[field]}; got ${JSON.stringify(e[field])}.`);
    for (const key of Object.keys(e)) {
      if (SECRETS.has(key)) {
        problems.push(`${label}: ${key} does not belong in settings (they are shared and synced). Leave it out; you will be asked, and may choose to remember it securely.`);
      } else if (!(key in FIELDS)) {
        const hint = closest(key, Object.keys(FIELDS));
        problems.push(`${label}: unknown field ${JSON.stringify(key)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}.`);
      }
    }
    if (name === undefined || name.trim() === '' || /[\s*?!,]/.test(name)) bad('host');
    else if (seen.has(name)) problems.push(`${label}: another entry already uses host ${JSON.stringify(name)}; names must be unique.`);
    const isString = (v: unknown) => typeof v === 'string' && v.trim() !== '';
    const isStrings = (v: unknown) => isString(v) || (Array.isArray(v) && v.length > 0 && v.every(isString));
    const isInt = (v: unknown, min: number, max = 2 ** 31 - 1) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
    const checks: Record<string, (v: unknown) => boolean> = {
      hostName: (v) => isString(v) && !/\s/.test(v as string),
      port: (v) => isInt(v, 1, 65535),
      user: isString,
      identityFile: isStrings,
      identitiesOnly: (v) => typeof v === 'boolean',
      identityAgent: (v) => v === false || isString(v),
      proxyJump: isString,
      userKnownHostsFile: isStrings,
      globalKnownHostsFile: isStrings,
      strictHostKeyChecking: (v) => v === 'yes' || v === 'accept-new' || v === 'no' || v === 'ask',
      serverAliveInterval: (v) => isInt(v, 0),
      serverAliveCountMax: (v) => isInt(v, 1),
      ciphers: (v) => Array.isArray(v) && v.length > 0 && v.every(isString),
      connectTimeout: (v) => isInt(v, 1),
    };
    for (const [field, ok] of Object.entries(checks)) {
      if (e[field] !== undefined && !ok(e[field])) bad(field);
    }
    if (problems.length) {
      errors.push(...problems);
      return;
    }
    seen.add(name!);
    const server: Record<string, unknown> = {};
    for (const key of Object.keys(FIELDS)) if (e[key] !== undefined) server[key] = e[key];
    // "ask" is the default; kept as an explicit undefined so it overrides a file's value.
    if (server.strictHostKeyChecking === 'ask') server.strictHostKeyChecking = undefined;
    servers.push(server as unknown as ServerConfig);
  });
  return { servers, errors };
}

// ---- the merged source ------------------------------------------------------------------

export type ServerOrigin = 'settings' | 'sshConfig' | 'both';

export interface ServerRegistryOptions {
  /** Path of the OpenSSH client config; `null` reads none. Default ~/.ssh/config. */
  configPath?: string | null;
  /** The raw `sshTunnels.servers` setting. */
  settings?: unknown;
  /** `~`, `%d` and the local user, for tests; defaults to this process's user. */
  env?: SshConfigEnv;
  /** At most this often list()/get() look at the files' modification times; default 1000 ms. */
  checkIntervalMs?: number;
}

interface Snapshot {
  servers: ServerConfig[];
  byName: Map<string, ServerConfig>;
  origins: Map<string, ServerOrigin>;
  tunnels: TunnelSpec[];
  problems: string[];
}

/** A ServerSource over settings + ssh config, re-read when the config files change. */
export class ServerRegistry implements ServerSource, Disposable {
  private configPath: string | null;
  private settingsRaw: unknown;
  private readonly env: SshConfigEnv | undefined;
  private readonly checkIntervalMs: number;
  private loaded: LoadedSshConfig | undefined;
  private signature = '';
  private lastCheck = 0;
  private snapshot: Snapshot | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private readonly _onDidChange = new Emitter<void>();
  /** Fires when the list of servers or tunnels may have changed (file edited, settings set). */
  readonly onDidChange = this._onDidChange.event;

  constructor(options: ServerRegistryOptions = {}) {
    this.env = options.env;
    this.configPath = options.configPath === undefined ? defaultSshConfigPath(options.env?.home) : this.expand(options.configPath);
    this.settingsRaw = options.settings;
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
  }

  list(): ServerConfig[] {
    return this.current().servers;
  }

  /** The server with exactly this name (`host`), or undefined. */
  get(name: string): ServerConfig | undefined {
    return this.current().byName.get(name);
  }

  /**
   * A listed server, or else what ~/.ssh/config says for this host name (its `Host` patterns,
   * `Host *` defaults), as ssh computes it for a ProxyJump hop it was given by name.
   */
  resolveHost(hostName: string): ServerConfig | undefined {
    const listed = this.get(hostName);
    if (listed) return listed;
    if (!this.loaded || hostName === '' || /[\s*?!,]/.test(hostName)) return undefined;
    return resolveHost(this.loaded, hostName).server;
  }

  /** Like get(), but an unknown or ambiguous name throws an error listing what exists. */
  require(name: string): ServerConfig {
    const server = this.get(name);
    if (server) return server;
    throw this.unknownServerError(name);
  }

  /** The error for a name that is not a server: it says what exists, and what was probably meant. */
  unknownServerError(name: string): TunnelError {
    const known = this.list().map((s) => s.host);
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

  /** LocalForward / RemoteForward / DynamicForward entries of the config, ready to start. */
  tunnels(server?: string): TunnelSpec[] {
    const all = this.current().tunnels;
    return server === undefined ? all : all.filter((t) => t.server === server);
  }

  /** Settings errors and config warnings, to show once in the log or a notification. */
  problems(): string[] {
    return this.current().problems;
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
    this.loaded = undefined;
    this.snapshot = undefined;
    this._onDidChange.fire();
  }

  /** Re-reads the config now if any of its files changed; returns whether anything changed. */
  refresh(): boolean {
    this.lastCheck = Date.now();
    if (this.configPath === null) return false;
    if (this.loaded && this.fileSignature(this.loaded) === this.signature) return false;
    const hadLoaded = this.loaded !== undefined;
    this.loaded = loadSshConfig(this.configPath, this.env);
    this.signature = this.fileSignature(this.loaded);
    this.snapshot = undefined;
    if (hadLoaded) this._onDidChange.fire();
    return true;
  }

  /** Polls the config files every `intervalMs` and fires onDidChange when they change. */
  watch(intervalMs = 2000): Disposable {
    clearInterval(this.watchTimer);
    this.watchTimer = setInterval(() => this.refresh(), intervalMs);
    this.watchTimer.unref();
    return { dispose: () => clearInterval(this.watchTimer) };
  }

  dispose(): void {
    clearInterval(this.watchTimer);
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

  private current(): Snapshot {
    if (this.configPath !== null && (!this.loaded || Date.now() - this.lastCheck >= this.checkIntervalMs)) this.refresh();
    if (this.snapshot) return this.snapshot;
    const problems: string[] = [];
    const byName = new Map<string, ServerConfig>();
    const origins = new Map<string, ServerOrigin>();
    const tunnels: TunnelSpec[] = [];
    if (this.loaded) {
      problems.push(...this.loaded.warnings);
      for (const resolved of sshConfigServers(this.loaded)) {
        byName.set(resolved.server.host, resolved.server);
        origins.set(resolved.server.host, 'sshConfig');
        tunnels.push(...resolved.tunnels);
        problems.push(...resolved.warnings);
      }
    }
    const settings = validateServerSettings(this.settingsRaw);
    problems.push(...settings.errors);
    for (const entry of settings.servers) {
      const fromFile = byName.get(entry.host);
      byName.set(entry.host, fromFile ? { ...fromFile, ...entry } : entry);
      origins.set(entry.host, fromFile ? 'both' : 'settings');
    }
    // Settings first (in their order), then the config's hosts in file order.
    const order = [...settings.servers.map((s) => s.host), ...byName.keys()];
    const servers = [...new Set(order)].map((name) => byName.get(name)!);
    this.snapshot = { servers, byName, origins, tunnels, problems: [...new Set(problems)] };
    return this.snapshot;
  }
}
