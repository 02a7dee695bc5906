// What a request names (a tunnel of the settings or an open one by name, or a spec with the fields
// of the settings and the agent tools), checked as the agent tools check theirs, put in words for
// the person, and held through the catalogue (shared when something serves it already).
import { specOf, type CatalogueEntry, type Hold, type HoldRequest, type TunnelCatalogue } from '../../catalogue';
import type { ServerConfig, ServerSource, TunnelManager, TunnelSpec } from '../../engine';
import { describePeer, type PeerTunnel, type PeerTunnels } from '../../peers';
import { checkLoopback, openInWords, parseCreate, type CreateInput, type ForwardRequest } from '../../tools';
import { NON_LOOPBACK_SETTING } from '../agentTools';
import { settingValue } from '../settings';
import { apiError, SshTunnelsError } from './errors';

/** What a request names, once checked. */
export type Target =
  /** A tunnel of the settings (`sshTunnels.tunnels`), by its name. */
  | { kind: 'entry'; name: string; key: string; spec: TunnelSpec }
  /** A tunnel open here or at a peer, by its name: held on the ports it has. */
  | { kind: 'open'; name: string; spec: TunnelSpec; peer?: PeerTunnel }
  | { kind: 'spec'; spec: CreateInput };

export interface RequestDeps {
  manager: TunnelManager;
  servers: ServerSource;
  catalogue: TunnelCatalogue;
  peers?: PeerTunnels;
}

const SERVERS_HINT = 'a server of sshTunnels.servers or a Host of ~/.ssh/config';

/** A spec's fields as a confirmation reads them (a settings entry may leave localHost out). */
function forward(spec: TunnelSpec): ForwardRequest {
  return { ...spec, localHost: spec.localHost ?? '127.0.0.1' };
}

export class Requests {
  constructor(private readonly deps: RequestDeps) {}

  /**
   * A request checked (throws SshTunnelsError): a name (a string, `{ name }` or `{ tunnel }`), or
   * a spec (`{ server, type, … }`). `caller` names who asks in the messages (openTunnel, the link);
   * `loopback` applies the agents' rule: a spec listens on loopback only unless the person allowed more.
   */
  parse(input: unknown, caller: string, options: { loopback: boolean }): Target {
    const name = nameOf(input, caller);
    if (name !== undefined) return this.named(name);
    let spec: CreateInput;
    try {
      spec = parseCreate(input, caller, SERVERS_HINT);
    } catch (err) {
      throw apiError(err);
    }
    this.server(spec.server);
    if (options.loopback) {
      try {
        checkLoopback(spec, settingValue<boolean>('agentTools.allowNonLoopback').value === true, `the setting ${NON_LOOPBACK_SETTING}`, 'other extensions');
      } catch (err) {
        throw apiError(err);
      }
    }
    return { kind: 'spec', spec };
  }

  /** The tunnel of this name: of the settings first, then one open here, then one a peer serves. */
  named(name: string): Target {
    const entry = this.settingsEntries().find((e) => e.spec.name === name);
    if (entry) {
      this.server(entry.spec.server);
      return { kind: 'entry', name, key: entry.key, spec: entry.spec };
    }
    const here = this.deps.manager.listTunnels().find((t) => t.name === name && t.state !== 'closed');
    if (here) return { kind: 'open', name, spec: specOf(here) };
    const peer = this.deps.peers?.list().find((t) => t.info.name === name);
    if (peer) return { kind: 'open', name, spec: specOf(peer.info), peer };
    const names = this.names();
    throw new SshTunnelsError('UNKNOWN_TUNNEL', `No tunnel is named ${JSON.stringify(name)}. ${names.length ? `Named tunnels: ${names.join(', ')}.` : 'No tunnel has a name: give one a "name" in sshTunnels.tunnels.'}`);
  }

  /** The names a request can use: the settings' tunnels, then open ones (here and at the peers). */
  names(): string[] {
    const open = [...this.deps.manager.listTunnels().filter((t) => t.nameGiven), ...(this.deps.peers?.list() ?? []).map((t) => t.info).filter((t) => t.nameGiven)];
    return [...new Set([...this.settingsEntries().flatMap((e) => (e.spec.name ? [e.spec.name] : [])), ...open.map((t) => t.name)])];
  }

  private settingsEntries(): CatalogueEntry[] {
    return this.deps.catalogue.entries({ source: 'settings' });
  }

  private server(name: string): ServerConfig {
    const config = this.deps.servers.get(name);
    if (config) return config;
    const err = this.deps.servers.unknownServerError?.(name);
    const known = this.deps.servers.list().map((s) => s.alias);
    throw new SshTunnelsError('UNKNOWN_SERVER', err?.message ?? `Unknown server ${JSON.stringify(name)}. ${known.length ? `Known servers: ${known.join(', ')}.` : 'No servers are configured.'}`);
  }

  /** What opening the target does, in plain words, as `who` asks for it ("The extension X", "This link"). */
  describe(target: Target, who: string): string {
    const words = openInWords(this.server(target.spec.server), forward(target.spec), who);
    if (target.kind === 'entry') return `${words} It is the tunnel "${target.name}" of your settings.`;
    if (target.kind === 'open') return `${words} It is the open tunnel "${target.name}"${target.peer ? `, served by ${describePeer(target.peer.peer)}` : ''}, which would be shared.`;
    return words;
  }

  /** Holds the target for `by` (shared if something serves it already); resolves once it is active. */
  hold(target: Target, by: string, options: Pick<HoldRequest, 'provisional' | 'signal'> = {}): Promise<Hold> {
    if (target.kind === 'entry') return this.deps.catalogue.hold({ key: target.key, by, ...options });
    return this.deps.catalogue.hold({ spec: this.spec(target), by, ...options });
  }

  /** The spec a target opens with (`*`, every address, as the engine listens on it). */
  spec(target: Target): TunnelSpec {
    return target.kind === 'spec' ? { ...target.spec, localHost: target.spec.localHost === '*' ? '0.0.0.0' : target.spec.localHost } : target.spec;
  }
}

/** The name a request gives, if it names a tunnel rather than describing one. */
function nameOf(input: unknown, caller: string): string | undefined {
  if (typeof input === 'string') return checkedName(input, caller);
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new SshTunnelsError('INVALID_SPEC', `${caller} takes { name } (a tunnel of the settings, or an open one) or a spec { server, type, … }; got ${JSON.stringify(input)}.`);
  }
  const obj = input as Record<string, unknown>;
  if ('server' in obj) return undefined;
  const field = 'tunnel' in obj ? 'tunnel' : 'name' in obj ? 'name' : undefined;
  if (!field) throw new SshTunnelsError('INVALID_SPEC', `${caller} takes { name } (a tunnel of the settings, or an open one) or a spec with server and type; got ${JSON.stringify(input)}.`);
  const others = Object.keys(obj).filter((k) => k !== field && obj[k] !== undefined);
  if (others.length) throw new SshTunnelsError('INVALID_SPEC', `${caller}: a request by ${field} takes nothing else (got ${others.join(', ')}); to describe a tunnel, give server and type.`);
  return checkedName(obj[field], caller);
}

function checkedName(value: unknown, caller: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new SshTunnelsError('INVALID_SPEC', `${caller}: the tunnel's name must be a non-empty string; got ${JSON.stringify(value)}.`);
  return value.trim();
}
