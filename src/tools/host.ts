// What the tools are given by the process that offers them (VS Code, `ssh-tunnels mcp`), and what
// every tool reads of it: the servers, the tunnels open here and at the peers.
import { type ServerConfig, type ServerSource, type TunnelInfo, type TunnelManager } from '../engine';
import type { TunnelDoor } from '../catalogue';
import { describePeer, type PeerTunnel, type PeerTunnels } from '../peers';
import { ToolError } from './input';
import { peerTunnelId } from './peerTunnels';
import { LIST_LIMIT, type CloseResult, type CreateResult, type ListResult, type PortsResult, type StatusResult } from './results';

/** Text for the model, and the same facts as structured JSON (the tool's outputSchema). */
export interface ToolResult {
  text: string;
  data: CreateResult | ListResult | CloseResult | StatusResult | PortsResult;
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

export function unknownServer(host: ToolHost, name: string): ToolError {
  const err = host.servers.unknownServerError?.(name);
  if (err) return new ToolError(`${err.message} Call ssh_connection_status for the servers and their addresses.`, 'UNKNOWN_SERVER');
  const known = host.servers.list().map((s) => s.alias);
  const similar = known.find((k) => k.toLowerCase() === name.toLowerCase());
  return new ToolError(
    `Unknown server ${JSON.stringify(name)}${similar ? ` (did you mean ${JSON.stringify(similar)}?)` : ''}. ` +
      (known.length ? `Known servers: ${known.join(', ')}. Call ssh_connection_status for the servers and their addresses.` : 'No servers are configured: the user must add one (sshTunnels.servers or ~/.ssh/config).'),
    'UNKNOWN_SERVER',
  );
}

/** The configured server of that name; a ToolError that lists the known ones otherwise. */
export function serverOf(host: ToolHost, name: string): ServerConfig {
  const config = host.servers.get(name);
  if (!config) throw unknownServer(host, name);
  return config;
}

export function peerTunnelsOf(host: ToolHost, server?: string): PeerTunnel[] {
  return host.peers?.list(server) ?? [];
}

/** A server filter names a configured server, or one that has tunnels here or at a peer. */
export function checkServerFilter(host: ToolHost, server: string | undefined): void {
  if (server === undefined) return;
  if (host.servers.get(server) || host.manager.listTunnels(server).length > 0 || peerTunnelsOf(host, server).length > 0) return;
  throw unknownServer(host, server);
}

/** Every open id, here and at the peers. */
export function openIds(host: ToolHost): string[] {
  return [...host.manager.listTunnels().map((t) => t.id), ...peerTunnelsOf(host).map(peerTunnelId)];
}

/** The open tunnels in a sentence, for an answer that closed nothing. */
export function openIdsText(open: TunnelInfo[], others: PeerTunnel[] = []): string {
  if (open.length + others.length === 0) return 'No tunnels are open.';
  const all = [
    ...open.map((t) => `${t.id} "${t.name}" (${t.server})`),
    ...others.map((t) => `${peerTunnelId(t)} "${t.info.name}" (${t.info.server}, served by ${describePeer(t.peer)})`),
  ];
  const shown = all.slice(0, LIST_LIMIT);
  return `Open tunnels: ${shown.join(', ')}${all.length > shown.length ? ` and ${all.length - shown.length} more (ssh_tunnel_list shows them)` : ''}.`;
}
