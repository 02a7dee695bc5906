import { errorMessage, makeAddress, plural, TunnelError, type ServerConfig, type ServerSource, type TunnelInfo, type TunnelManager } from '../engine';
import { describePeer, type PeerTunnel, type PeerTunnels } from '../peers';
import { FrontDoor, type Opened, type TunnelDoor } from '../catalogue';
import { toolDefinition, TOOL_DEFINITIONS } from './definitions';
import { peerTunnelId, parsePeerTunnelId, peerTunnelData, peerTunnelDetailLine, peerTunnelLine } from './peerTunnels';
import { describeForward, originWords, serverData, serverTarget, tunnelData, tunnelDetailLine, tunnelLine, usage } from './format';
import { checkLoopback, parseClose, parseCreate, parseServerFilter, ToolError, type CreateInput } from './input';
import { LIST_LIMIT, type CloseResult, type CreateResult, type ListResult, type StatusResult } from './results';

/** Text for the model, and the same facts as structured JSON (the tool's outputSchema). */
export interface ToolResult {
  text: string;
  data: CreateResult | ListResult | CloseResult | StatusResult;
}

export interface ToolHost {
  manager: TunnelManager;
  servers: ServerSource & {
    origin?(name: string): 'settings' | 'sshConfig' | 'both' | undefined;
  };
  /** sshTunnels.agentTools.allowNonLoopback, or a command-line flag. */
  allowNonLoopback?: () => boolean;
  /** How refusals name what allows non-loopback addresses, e.g. "the flag --allow-non-loopback of ssh-tunnels mcp". */
  nonLoopbackSwitch?: string;
  /** Told before a tunnel is closed, e.g. so that a tunnel from settings stays stopped as after a person's close. */
  willClose?(tunnel: TunnelInfo): void;
  /** The tunnels the user's peers (other processes) serve: listed, reused instead of opened twice, closed by asking their owner. */
  peers?: PeerTunnels;
  /** The front door creates open through (the catalogue in VS Code, which keeps them as the agent's); by default one over the manager and the peers. */
  door?: TunnelDoor<'agent'>;
}

export const DEFAULT_NON_LOOPBACK_SWITCH = 'the setting sshTunnels.agentTools.allowNonLoopback';

/**
 * The agent tools over the engine: input checks, confirmations in plain words, results.
 * Both VS Code's language-model tools and the MCP server call this.
 */
export class TunnelTools {
  private readonly door: TunnelDoor<'agent'>;

  constructor(private readonly host: ToolHost) {
    this.door = host.door ?? new FrontDoor(host.manager, host.peers);
  }

  /** Checks the input (throws ToolError) and says in plain words what will happen; undefined for read-only tools. */
  confirmation(name: string, input: unknown): { title: string; message: string } | undefined {
    const definition = this.definition(name);
    if (!definition.needsConfirmation) return undefined;
    if (name === 'ssh_tunnel_create') {
      const spec = this.checkCreate(input);
      const config = this.server(spec.server);
      const what = spec.type === 'local' ? 'a local forward (-L)' : spec.type === 'dynamic' ? 'a SOCKS proxy (-D)' : spec.socks ? 'a reverse SOCKS proxy (-R)' : 'a remote forward (-R)';
      let message = `An agent asks to open ${what} through ${spec.server} (${serverTarget(config)}): ${describeForward(spec)}.`;
      const entry = spec.remotePath !== undefined ? `open the socket ${spec.remotePath}` : `connect to ${makeAddress(spec.remoteHost, spec.remotePort)}`;
      if (spec.type === 'remote' && spec.socks) {
        message += ` This lets ${spec.server}, and whoever can ${entry} on it, reach whatever this machine can reach: its own services and every network it is on.`;
      } else if (spec.type === 'remote') {
        message += ` This exposes a service of this machine on the server: whoever can ${entry} on ${spec.server} reaches it.`;
      }
      return { title: `Open an SSH tunnel through ${spec.server}?`, message };
    }
    const targets = this.closeTargets(input);
    if (targets.atPeer) {
      const t = targets.atPeer;
      const cut = t.info.stats.connectionsActive;
      return {
        title: `Close SSH tunnel ${peerTunnelId(t)}?`,
        message: `An agent asks to close ${peerTunnelLine(t)}, opened by ${originWords(t.info.openedBy)}; ${describePeer(t.peer)} will close it. ${cut === 0 ? 'No live connections will be cut.' : `${plural(cut, 'live connection')} will be cut.`}`,
      };
    }
    if (targets.tunnels.length === 0) return undefined; // nothing will change
    const cut = targets.tunnels.reduce((n, t) => n + t.stats.connectionsActive, 0);
    const listing = targets.tunnels.map((t) => `${tunnelLine(t)}, opened by ${originWords(t.openedBy)}`).join('; ');
    const message =
      (targets.tunnels.length === 1 ? `An agent asks to close ${listing}.` : `An agent asks to close all ${targets.tunnels.length} tunnels of ${targets.server}: ${listing}.`) +
      ` ${cut === 0 ? 'No live connections will be cut.' : `${plural(cut, 'live connection')} will be cut.`}`;
    return { title: targets.tunnels.length === 1 ? `Close SSH tunnel ${targets.tunnels[0].id}?` : `Close ${targets.tunnels.length} SSH tunnels of ${targets.server}?`, message };
  }

  /**
   * Waits for background work of the ssh config (a `Match exec` still running) on the server an
   * input names, so the checks read its final settings without running it synchronously.
   */
  async ready(input: unknown): Promise<void> {
    const server = input && typeof input === 'object' ? (input as { server?: unknown }).server : undefined;
    if (typeof server === 'string') await this.host.servers.whenReady?.(server);
  }

  async invoke(name: string, input: unknown, signal?: AbortSignal): Promise<ToolResult> {
    this.definition(name);
    // The other processes found at start have told their tunnels (a few hundred ms at most).
    await this.host.peers?.ready();
    switch (name) {
      case 'ssh_tunnel_create':
        return this.create(input, signal);
      case 'ssh_tunnel_list':
        return this.list(input);
      case 'ssh_tunnel_close':
        return this.close(input);
      default:
        return this.status(input);
    }
  }

  private definition(name: string) {
    const definition = toolDefinition(name);
    if (!definition) throw new ToolError(`There is no tool ${JSON.stringify(name)}. The tools are: ${TOOL_DEFINITIONS.map((d) => d.name).join(', ')}.`);
    return definition;
  }

  private unknownServer(name: string): ToolError {
    const err = this.host.servers.unknownServerError?.(name);
    if (err) return new ToolError(`${err.message} Call ssh_connection_status for the servers and their addresses.`, 'UNKNOWN_SERVER');
    const known = this.host.servers.list().map((s) => s.host);
    const similar = known.find((k) => k.toLowerCase() === name.toLowerCase());
    return new ToolError(
      `Unknown server ${JSON.stringify(name)}${similar ? ` (did you mean ${JSON.stringify(similar)}?)` : ''}. ` +
        (known.length ? `Known servers: ${known.join(', ')}. Call ssh_connection_status for the servers and their addresses.` : 'No servers are configured: the user must add one (sshTunnels.servers or ~/.ssh/config).'),
      'UNKNOWN_SERVER',
    );
  }

  private server(name: string): ServerConfig {
    const config = this.host.servers.get(name);
    if (!config) throw this.unknownServer(name);
    return config;
  }

  private checkCreate(input: unknown): CreateInput {
    const spec = parseCreate(input);
    this.server(spec.server);
    checkLoopback(spec, this.host.allowNonLoopback?.() ?? false, this.host.nonLoopbackSwitch ?? DEFAULT_NON_LOOPBACK_SWITCH);
    return spec;
  }

  private async create(input: unknown, signal?: AbortSignal): Promise<ToolResult> {
    await this.ready(input);
    const spec = this.checkCreate(input);
    const localHost = spec.localHost === '*' ? '0.0.0.0' : spec.localHost;
    let opened: Opened;
    try {
      // A peer that serves this very tunnel (or wins its port meanwhile) answers instead.
      opened = await this.door.open({ ...spec, localHost }, 'agent', { signal });
    } catch (err) {
      throw createError(err, spec);
    }
    if (opened.peer) return this.servedAnswer(opened.peer);
    const info = opened.here;
    const config = this.host.servers.get(info.server);
    const via = config ? ` (${serverTarget(config)})` : '';
    const text = `Opened tunnel ${info.id} "${info.name}" through ${info.server}${via}: ${info.type}, ${info.state}. ${usage(info)} Close it with ssh_tunnel_close { "tunnelId": "${info.id}" } when it is no longer needed.`;
    return { text, data: { tunnel: tunnelData(info) } };
  }

  /** A create answered with the tunnel another process already serves there. */
  private servedAnswer(t: PeerTunnel): ToolResult {
    const id = peerTunnelId(t);
    const text =
      `Tunnel ${id} "${t.info.name}" through ${t.info.server} is already served by ${describePeer(t.peer)}: ${t.info.type}, ${t.info.state}. ${usage(t.info)} ` +
      `Use it as it is; it stays open while that process serves it (ssh_tunnel_close { "tunnelId": "${id}" } would ask it to close it).`;
    return { text, data: { tunnel: peerTunnelData(t) } };
  }

  private peerTunnelsOf(server?: string): PeerTunnel[] {
    return this.host.peers?.list(server) ?? [];
  }

  private checkServerFilter(server: string | undefined): void {
    if (server === undefined) return;
    if (this.host.servers.get(server) || this.host.manager.listTunnels(server).length > 0 || this.peerTunnelsOf(server).length > 0) return;
    throw this.unknownServer(server);
  }

  private list(input: unknown): ToolResult {
    const { server } = parseServerFilter('ssh_tunnel_list', input);
    this.checkServerFilter(server);
    const own = this.host.manager.listTunnels(server);
    const others = this.peerTunnelsOf(server);
    const total = own.length + others.length;
    const shown = own.slice(0, LIST_LIMIT);
    const shownOthers = others.slice(0, LIST_LIMIT - shown.length);
    const omitted = total - shown.length - shownOthers.length;
    const scope = server === undefined ? '' : ` on ${server}`;
    let text: string;
    if (total === 0) text = `No tunnels are open${scope}. Open one with ssh_tunnel_create.`;
    else {
      const elsewhere = others.length ? ` (${others.length} served by other processes of the user: other VS Code windows, ssh-tunnels up, agents through MCP)` : '';
      text = `${plural(total, 'tunnel')}${scope}${elsewhere}:\n` + [...shown.map(tunnelDetailLine), ...shownOthers.map(peerTunnelDetailLine)].join('\n');
      if (omitted > 0) text += `\n…and ${omitted} more not shown (at most ${LIST_LIMIT} are listed; give server to narrow the list).`;
    }
    return { text, data: { total, omitted, tunnels: [...shown.map(tunnelData), ...shownOthers.map(peerTunnelData)] } };
  }

  /** What a close input names: one tunnel (here or at a peer), a server's tunnels, or nothing that is open. */
  private closeTargets(input: unknown): { tunnels: TunnelInfo[]; atPeer?: PeerTunnel; server?: string; missingId?: string } {
    const { tunnelId, server } = parseClose(input);
    const manager = this.host.manager;
    const other = tunnelId === undefined ? undefined : parsePeerTunnelId(tunnelId);
    if (tunnelId !== undefined && other) {
      const served = this.peerTunnelsOf().find((t) => t.peer.id === other.peerId && t.info.id === other.tunnelId);
      if (!served) return { tunnels: [], missingId: tunnelId };
      if (server !== undefined && served.info.server !== server) {
        throw new ToolError(`Tunnel ${tunnelId} belongs to ${served.info.server}, not ${server}. Give only tunnelId to close it.`);
      }
      return { tunnels: [], atPeer: served };
    }
    if (tunnelId !== undefined) {
      const tunnel = manager.getTunnel(tunnelId);
      if (!tunnel) return { tunnels: [], missingId: tunnelId };
      if (server !== undefined && tunnel.server !== server) {
        throw new ToolError(`Tunnel ${tunnelId} belongs to ${tunnel.server}, not ${server}. Give only tunnelId to close it, or only server to close all of ${server}'s tunnels.`);
      }
      return { tunnels: [tunnel] };
    }
    if (server === undefined) {
      throw new ToolError(`ssh_tunnel_close needs tunnelId (one tunnel) or server (all of a server's tunnels), e.g. { "tunnelId": "t1" }. ${openIds(manager.listTunnels(), this.peerTunnelsOf())}`);
    }
    this.checkServerFilter(server);
    return { tunnels: manager.listTunnels(server), server };
  }

  /** Every open id, here and at the peers. */
  private openIds(): string[] {
    return [...this.host.manager.listTunnels().map((t) => t.id), ...this.peerTunnelsOf().map(peerTunnelId)];
  }

  /** Asks the process that serves the tunnel to close it, as its own person would. */
  private async closeAtPeer(t: PeerTunnel): Promise<ToolResult> {
    const id = peerTunnelId(t);
    const cut = t.info.stats.connectionsActive;
    try {
      await this.host.peers!.close(t.peer.id, t.info.id);
    } catch (err) {
      const text = `Could not close ${peerTunnelLine(t)}: ${errorMessage(err)}`;
      return { text, data: { closed: [], connectionsCut: 0, failures: [`${id}: ${errorMessage(err)}`], open: this.openIds() } };
    }
    const text = `Closed ${peerTunnelLine(t)}: ${describePeer(t.peer)} closed it. ${cut === 0 ? 'No live connections were cut.' : `${plural(cut, 'live connection')} ${cut === 1 ? 'was' : 'were'} cut.`}`;
    return { text, data: { closed: [id], connectionsCut: cut, failures: [], open: this.openIds().filter((o) => o !== id) } };
  }

  private async close(input: unknown): Promise<ToolResult> {
    const targets = this.closeTargets(input);
    if (targets.atPeer) return this.closeAtPeer(targets.atPeer);
    const open = this.host.manager.listTunnels();
    if (targets.tunnels.length === 0) {
      const what = targets.missingId !== undefined ? `No open tunnel has id ${JSON.stringify(targets.missingId)} (it may have been closed already)` : `No tunnels are open on ${targets.server}`;
      return { text: `${what}: nothing was closed. ${openIds(open, this.peerTunnelsOf())}`, data: { closed: [], connectionsCut: 0, failures: [], open: this.openIds() } };
    }
    const closed: TunnelInfo[] = [];
    let cut = 0;
    const failures: string[] = [];
    for (const target of targets.tunnels) {
      const before = this.host.manager.getTunnel(target.id);
      if (!before) continue; // closed meanwhile by someone else
      try {
        this.host.willClose?.(before);
        await this.host.manager.closeTunnel(target.id, 'agent');
        closed.push(before);
        cut += before.stats.connectionsActive;
      } catch (err) {
        failures.push(`${target.id}: ${errorMessage(err)}`);
      }
    }
    const list = closed.map(tunnelLine).join('; ');
    let text = closed.length ? `Closed ${list}. ${cut === 0 ? 'No live connections were cut.' : `${plural(cut, 'live connection')} ${cut === 1 ? 'was' : 'were'} cut.`}` : 'Nothing was closed: the tunnels had closed meanwhile.';
    if (failures.length) text += ` Could not close: ${failures.join('; ')}.`;
    return { text, data: { closed: closed.map((t) => t.id), connectionsCut: cut, failures, open: this.openIds() } };
  }

  private status(input: unknown): ToolResult {
    const { server } = parseServerFilter('ssh_connection_status', input);
    let configs: ServerConfig[];
    if (server !== undefined) configs = [this.server(server)];
    else configs = this.host.servers.list();
    const shown = configs.slice(0, LIST_LIMIT);
    const omitted = configs.length - shown.length;
    const rows = shown.map((c) => serverData(c, this.host.manager.serverStatus(c.host), this.host.servers.origin?.(c.host)));
    let text: string;
    if (configs.length === 0) text = 'No servers are configured. The user can add them in the setting sshTunnels.servers or as Host entries in ~/.ssh/config.';
    else {
      text =
        `${plural(configs.length, 'server')} (use the name before the colon as "server"):\n` +
        rows
          .map((r) => `- ${r.server}: ${r.target}, defined in ${r.definedIn ?? 'an unknown place'}; ${r.state}, ${plural(r.tunnels, 'tunnel')}${r.lastError ? `; last error: ${r.lastError}` : ''}`)
          .join('\n');
      if (omitted > 0) text += `\n…and ${omitted} more not shown (at most ${LIST_LIMIT} are listed; give server to ask about one).`;
    }
    return { text, data: { total: configs.length, omitted, servers: rows } };
  }
}

function openIds(open: TunnelInfo[], others: PeerTunnel[] = []): string {
  if (open.length + others.length === 0) return 'No tunnels are open.';
  const all = [
    ...open.map((t) => `${t.id} "${t.name}" (${t.server})`),
    ...others.map((t) => `${peerTunnelId(t)} "${t.info.name}" (${t.info.server}, served by ${describePeer(t.peer)})`),
  ];
  const shown = all.slice(0, LIST_LIMIT);
  return `Open tunnels: ${shown.join(', ')}${all.length > shown.length ? ` and ${all.length - shown.length} more (ssh_tunnel_list shows them)` : ''}.`;
}

/** The engine's refusal, turned into what the agent can do next. */
function createError(err: unknown, spec: CreateInput): ToolError {
  if (err instanceof TunnelError) {
    if (err.code === 'CANCELLED') return new ToolError('Cancelled: the tunnel was not opened, and nothing of it is left open.', 'CANCELLED');
    if (err.code === 'PORT_IN_USE') {
      const suggestion = err.details.suggestion as number | undefined;
      const retry = suggestion ? `Call ssh_tunnel_create again with localPort ${suggestion} (free now), or 0 for any free port.` : 'Call ssh_tunnel_create again with localPort 0 for any free port.';
      return new ToolError(`${err.message} ${retry}`, 'PORT_IN_USE');
    }
    if (err.code === 'UNKNOWN_SERVER') return new ToolError(`${err.message} Call ssh_connection_status for the servers.`, 'UNKNOWN_SERVER');
    if (err.code === 'INVALID_SPEC') return new ToolError(`ssh_tunnel_create: ${err.message}`);
    return new ToolError(`Could not open the ${spec.type} tunnel through ${spec.server}: ${err.message}`, 'FAILED');
  }
  return new ToolError(`Could not open the ${spec.type} tunnel through ${spec.server}: ${errorMessage(err)}`, 'FAILED');
}
