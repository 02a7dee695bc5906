// ssh_tunnel_create: checks the input, says in plain words what will open, and opens it through
// the front door (a peer that serves the same tunnel answers with its own).
import { errorMessage, makeAddress, TunnelError, type ServerConfig } from '../engine';
import type { Opened, TunnelDoor } from '../catalogue';
import { describePeer, type PeerTunnel } from '../peers';
import { serverTarget, tunnelData, usage } from './format';
import { DEFAULT_NON_LOOPBACK_SWITCH, serverOf, type ToolHost, type ToolResult } from './host';
import { checkLoopback, parseCreate, ToolError, type CreateInput } from './input';
import { peerTunnelData, peerTunnelId } from './peerTunnels';

/** The input checked (throws ToolError): a configured server, loopback addresses unless allowed. */
export function checkCreate(host: ToolHost, input: unknown): CreateInput {
  const spec = parseCreate(input);
  serverOf(host, spec.server);
  checkLoopback(spec, host.allowNonLoopback?.() ?? false, host.nonLoopbackSwitch ?? DEFAULT_NON_LOOPBACK_SWITCH);
  return spec;
}

/** A tunnel to be opened, as a confirmation describes it. */
export type ForwardRequest = Omit<CreateInput, 'name'>;

/** The direction and addresses in plain words, as a confirmation says them. */
export function forwardInWords(f: ForwardRequest): string {
  const { type, server } = f;
  const local = f.localPath !== undefined ? `the socket file ${f.localPath}` : f.localPort === 0 ? `${f.localHost}, on a free port` : makeAddress(f.localHost, f.localPort);
  if (type === 'local') {
    const target = f.remotePath !== undefined ? `the socket ${f.remotePath} on ${server}` : `${makeAddress(f.remoteHost, f.remotePort)} (as ${server} sees it)`;
    return `listen on ${local} on this machine and forward each connection through ${server} to ${target}`;
  }
  if (type === 'dynamic') return `open a SOCKS5 proxy on ${local} on this machine; programs that use it reach any address ${server} can reach`;
  const remote = f.remotePath !== undefined ? `the socket ${f.remotePath}` : f.remotePort === 0 ? `${f.remoteHost}, on a port the server picks` : makeAddress(f.remoteHost, f.remotePort);
  if (f.socks) return `make ${server} listen on ${remote} as a SOCKS proxy whose connections this machine makes, to any address it names`;
  const here = f.localPath !== undefined ? `the socket file ${f.localPath}` : makeAddress(f.localHost, f.localPort);
  return `make ${server} listen on ${remote} and forward each connection to ${here} on this machine`;
}

/**
 * What opening a tunnel does, in plain words, as `who` asks for it ("An agent", "The extension X",
 * "This link"): the kind of forward, through which server to where, and what a remote one exposes.
 */
export function openInWords(config: ServerConfig, spec: ForwardRequest, who: string): string {
  const what = spec.type === 'local' ? 'a local forward (-L)' : spec.type === 'dynamic' ? 'a SOCKS proxy (-D)' : spec.socks ? 'a reverse SOCKS proxy (-R)' : 'a remote forward (-R)';
  let message = `${who} asks to open ${what} through ${spec.server} (${serverTarget(config)}): ${forwardInWords(spec)}.`;
  const entry = spec.remotePath !== undefined ? `open the socket ${spec.remotePath}` : `connect to ${makeAddress(spec.remoteHost, spec.remotePort)}`;
  if (spec.type === 'remote' && spec.socks) {
    message += ` This lets ${spec.server}, and whoever can ${entry} on it, reach whatever this machine can reach: its own services and every network it is on.`;
  } else if (spec.type === 'remote') {
    message += ` This exposes a service of this machine on the server: whoever can ${entry} on ${spec.server} reaches it.`;
  }
  return message;
}

export function createConfirmation(host: ToolHost, input: unknown): { title: string; message: string } {
  const spec = checkCreate(host, input);
  return { title: `Open an SSH tunnel through ${spec.server}?`, message: openInWords(serverOf(host, spec.server), spec, 'An agent') };
}

export async function create(host: ToolHost, door: TunnelDoor<'agent'>, input: unknown, signal?: AbortSignal): Promise<ToolResult> {
  const spec = checkCreate(host, input);
  const localHost = spec.localHost === '*' ? '0.0.0.0' : spec.localHost;
  let opened: Opened;
  try {
    // A peer that serves this very tunnel (or wins its port meanwhile) answers instead.
    opened = await door.open({ ...spec, localHost }, 'agent', { signal });
  } catch (err) {
    throw createError(err, spec);
  }
  if (opened.peer) return servedAnswer(opened.peer);
  const info = opened.here;
  const config = host.servers.get(info.server);
  const via = config ? ` (${serverTarget(config)})` : '';
  const text = `Opened tunnel ${info.id} "${info.name}" through ${info.server}${via}: ${info.type}, ${info.state}. ${usage(info)} Close it with ssh_tunnel_close { "tunnelId": "${info.id}" } when it is no longer needed.`;
  return { text, data: { tunnel: tunnelData(info) } };
}

/** A create answered with the tunnel a peer already serves there. */
function servedAnswer(t: PeerTunnel): ToolResult {
  const id = peerTunnelId(t);
  const text =
    `Tunnel ${id} "${t.info.name}" through ${t.info.server} is already served by ${describePeer(t.peer)}: ${t.info.type}, ${t.info.state}. ${usage(t.info)} ` +
    `Use it as it is; it stays open while that process serves it (ssh_tunnel_close { "tunnelId": "${id}" } would ask it to close it).`;
  return { text, data: { tunnel: peerTunnelData(t) } };
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
