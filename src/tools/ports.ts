// ssh_server_ports: what a server listens on (TCP ports and Unix sockets, with their processes when
// it names them), each marked with the tunnels that already forward it, here or at a peer. Read-only;
// it connects the server if needed and runs one command there. `ssh-tunnels ports` prints the same rows.
import { describeProcesses, describeScope, plural, TunnelError, tunnelsReaching, type ServerPorts, type TunnelInfo } from '../engine';
import { peerTunnelId } from './peerTunnels';
import { peerTunnelsOf, serverOf, type ToolHost, type ToolResult } from './host';
import { ToolError } from './input';
import { LIST_LIMIT, type PortsResult } from './results';
import type { PeerTunnel } from '../peers';

/** One listener as the tool and the command show it. */
export interface PortRow {
  /** `8080`, or the socket file. */
  what: string;
  port?: number;
  path?: string;
  /** `all interfaces`, `loopback`, `10.0.0.5`, `Unix socket`. */
  where: string;
  /** What a forward to it asks the server to reach (remoteHost). */
  remoteHost?: string;
  process?: string;
  /** The tunnels that already forward it: `t3 at 127.0.0.1:8080`. */
  forwardedBy: { id: string; local: string; by?: string }[];
}

/** The rows of a listing, each with the tunnels (here and at the peers) that reach it. */
export function portRows(ports: ServerPorts, here: readonly TunnelInfo[], atPeers: readonly PeerTunnel[] = []): PortRow[] {
  const marks = (listener: Parameters<typeof tunnelsReaching>[0]) => [
    ...tunnelsReaching(listener, here).map((t) => ({ id: t.id, local: t.localPath ?? `${t.localHost}:${t.localPort}` })),
    ...atPeers.filter((p) => tunnelsReaching(listener, [p.info]).length > 0).map((p) => ({ id: peerTunnelId(p), local: p.info.localPath ?? `${p.info.localHost}:${p.info.localPort}`, by: `${p.peer.kind} ${p.peer.pid}` })),
  ];
  return [
    ...ports.tcp.map((r) => ({ what: String(r.port), port: r.port, where: describeScope(r), remoteHost: r.target, process: describeProcesses(r.processes), forwardedBy: marks(r) })),
    ...ports.unix.map((s) => ({ what: s.path, path: s.path, where: 'Unix socket', process: describeProcesses(s.processes), forwardedBy: marks(s) })),
  ];
}

/** What a listing leaves unsaid: processes of other users when the login is not root. */
export function hiddenNote(ports: ServerPorts): string {
  return ports.processesHidden ? ' Some have no process: the server names only the login user\'s own processes.' : '';
}

function line(r: PortRow): string {
  const forwarded = r.forwardedBy.length ? `; already forwarded by ${r.forwardedBy.map((f) => `${f.id} at ${f.local}`).join(', ')}` : '';
  const target = r.path !== undefined ? `remotePath "${r.path}"` : `remoteHost "${r.remoteHost}", remotePort ${r.port}`;
  return `- ${r.what} (${r.where}${r.process ? `, ${r.process}` : ''}): forward with ${target}${forwarded}`;
}

export async function ports(host: ToolHost, input: unknown): Promise<ToolResult> {
  const tool = 'ssh_server_ports';
  if (!input || typeof input !== 'object' || typeof (input as { server?: unknown }).server !== 'string' || !(input as { server: string }).server.trim()) {
    throw new ToolError(`${tool} needs server: the alias of a server (ssh_connection_status lists them).`);
  }
  const extra = Object.keys(input).filter((k) => k !== 'server');
  if (extra.length) throw new ToolError(`${tool} has no field ${extra.map((k) => JSON.stringify(k)).join(', ')}. Its only field is server.`);
  const server = serverOf(host, (input as { server: string }).server.trim()).alias;
  let listed: ServerPorts;
  try {
    listed = await host.manager.listServerPorts(server);
  } catch (err) {
    if (err instanceof TunnelError) throw new ToolError(err.message, 'FAILED');
    throw err;
  }
  const rows = portRows(listed, host.manager.listTunnels(server), peerTunnelsOf(host, server));
  const shown = rows.slice(0, LIST_LIMIT);
  const omitted = rows.length - shown.length;
  const counts = `${plural(listed.tcp.length, 'TCP port')} and ${plural(listed.unix.length, 'Unix socket')}`;
  let text = `${server} listens on ${counts} (as ${listed.source} says${listed.system ? ` on ${listed.system}` : ''}).${hiddenNote(listed)}`;
  if (rows.length) {
    text += ' To forward one here, call ssh_tunnel_create with type "local", that remoteHost and remotePort (or remotePath), and localPort 0 for any free port:\n' + shown.map(line).join('\n');
  }
  if (omitted > 0) text += `\n…and ${omitted} more not shown (at most ${LIST_LIMIT} are listed).`;
  const data: PortsResult = {
    server,
    source: listed.source,
    total: rows.length,
    omitted,
    listeners: shown.map((r) => ({
      ...(r.port !== undefined ? { port: r.port, remoteHost: r.remoteHost! } : { path: r.path! }),
      where: r.where,
      ...(r.process ? { process: r.process } : {}),
      forwardedBy: r.forwardedBy.map((f) => f.id),
    })),
  };
  return { text, data };
}
