/**
 * What the registry answers from: the `sshTunnels.servers` setting merged over the config's
 * hosts (field by field), with their tunnels, problems and broken names, as of one moment.
 */
import type { ServerConfig, TunnelSpec } from '../engine';
import { validateServerSettings } from './serverSettings';
import type { LoadedSshConfig, ResolvedHost } from './sshConfig';

export type ServerOrigin = 'settings' | 'sshConfig' | 'both';

export interface Snapshot {
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

/** A config host resolved on demand, with the settings entry of the same name over it. */
export function withSettings(name: string, fromFile: ServerConfig, settingsRaw: unknown): ServerConfig {
  const entry = validateServerSettings(settingsRaw).servers.find((s) => s.alias === name);
  return entry ? merge(fromFile, entry) : fromFile;
}

/**
 * The snapshot of the config's hosts resolved so far (`resolved`; the others are listed by
 * name only) and the settings; `complete` says whether every host was resolved.
 */
export function buildSnapshot(
  loaded: LoadedSshConfig | undefined,
  resolved: (alias: string) => ResolvedHost | undefined,
  settingsRaw: unknown,
  complete: boolean,
): Snapshot {
  const problems: string[] = [];
  const byName = new Map<string, ServerConfig>();
  const origins = new Map<string, ServerOrigin>();
  const broken = new Map<string, string>();
  const tunnels: TunnelSpec[] = [];
  if (loaded) {
    problems.push(...loaded.warnings);
    for (const alias of loaded.aliases) {
      const r = resolved(alias);
      if (r?.error) {
        broken.set(alias, r.error);
        problems.push(r.error);
        continue;
      }
      // Not resolved yet: listed by name; get() resolves it on demand.
      byName.set(alias, r?.server ?? { alias });
      origins.set(alias, 'sshConfig');
      if (r) {
        tunnels.push(...r.tunnels);
        problems.push(...r.warnings);
      }
    }
  }
  const settings = validateServerSettings(settingsRaw);
  problems.push(...settings.errors, ...settings.warnings);
  for (const { name, problem } of settings.broken) {
    // A broken entry hides the config host it would have overridden: its tunnels fail with its problem.
    broken.set(name, problem);
    byName.delete(name);
    origins.delete(name);
  }
  for (const entry of settings.servers) {
    const fromFile = byName.get(entry.alias);
    broken.delete(entry.alias);
    byName.set(entry.alias, fromFile ? merge(fromFile, entry) : entry);
    origins.set(entry.alias, fromFile ? 'both' : 'settings');
  }
  // Settings first (in their order), then the config's hosts in file order.
  const order = [...settings.servers.map((s) => s.alias), ...byName.keys()];
  const servers = [...new Set(order)].map((name) => byName.get(name)!);
  return { servers, byName, origins, tunnels, problems: [...new Set(problems)], broken, complete };
}

/** The tunnels of one server; the tree asks once per server, so an index keeps thousands of servers linear. */
export function tunnelsOf(snapshot: Snapshot, server: string): TunnelSpec[] {
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
