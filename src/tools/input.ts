import { isIP } from 'node:net';
import { TUNNEL_TYPES, type TunnelSpec, type TunnelType } from '../engine';

/** A refusal whose message tells the agent what to do instead. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly code: 'INVALID_INPUT' | 'UNKNOWN_SERVER' | 'NOT_ALLOWED' | 'PORT_IN_USE' | 'CANCELLED' | 'FAILED' = 'INVALID_INPUT',
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

const TYPE_HELP = 'local (ssh -L: a service the server reaches, here), remote (ssh -R: a service of this machine, on the server), dynamic (ssh -D: a SOCKS5 proxy)';

/** A create call's input once checked: a TunnelSpec whose localHost is decided. */
export type CreateInput = Omit<TunnelSpec, 'localHost' | 'openedBy'> & { localHost: string };

const CREATE_FIELDS = ['server', 'type', 'localHost', 'localPort', 'remoteHost', 'remotePort', 'localPath', 'remotePath', 'socks', 'name'] as const;

function record(tool: string, input: unknown, fields: readonly string[]): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new ToolError(`${tool} takes an object with the fields ${fields.join(', ')}; got ${JSON.stringify(input)}.`);
  }
  const obj = input as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !fields.includes(k) && obj[k] !== undefined);
  if (unknown.length) {
    throw new ToolError(`${tool} has no field ${unknown.map((k) => JSON.stringify(k)).join(', ')}. Its fields are: ${fields.join(', ')}.`);
  }
  return obj;
}

function optionalString(tool: string, obj: Record<string, unknown>, field: string): string | undefined {
  const value = obj[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new ToolError(`${tool}: ${field} must be a non-empty string; got ${JSON.stringify(value)}.`);
  return value.trim();
}

function optionalPort(tool: string, obj: Record<string, unknown>, field: string, example: string): number | undefined {
  let value = obj[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) value = Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ToolError(`${tool}: ${field} must be a whole number from 0 to 65535, e.g. ${example}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

function optionalBoolean(tool: string, obj: Record<string, unknown>, field: string): boolean | undefined {
  let value = obj[field];
  if (value === undefined || value === null) return undefined;
  if (value === 'true' || value === 'false') value = value === 'true';
  if (typeof value !== 'boolean') throw new ToolError(`${tool}: ${field} must be true or false; got ${JSON.stringify(value)}.`);
  return value;
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and the name localhost. */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const mapped = h.replace(/^::ffff:/, '');
  if (isIP(mapped) === 4) return mapped.startsWith('127.');
  if (isIP(h) === 6) return /^(0{0,4}:){2,7}0{0,3}1$/.test(h) || h === '::1';
  return false;
}

/**
 * A create call's input checked, each refusal saying what to write instead. `tool` names the
 * caller in those messages (the agent tool, or the extension API) and `serversHint` where the
 * server names are listed.
 */
export function parseCreate(input: unknown, tool = 'ssh_tunnel_create', serversHint = 'ssh_connection_status lists them'): CreateInput {
  const obj = record(tool, input, CREATE_FIELDS);
  const server = optionalString(tool, obj, 'server');
  if (server === undefined) throw new ToolError(`${tool} needs server: the alias of a configured server (${serversHint}).`);
  const type = obj.type;
  if (typeof type !== 'string' || !TUNNEL_TYPES.includes(type as TunnelType)) {
    throw new ToolError(`${tool}: type ${type === undefined ? 'is missing' : `${JSON.stringify(type)} is not a tunnel type`}. Use one of: ${TYPE_HELP}.`);
  }
  const t = type as TunnelType;
  const localHost = optionalString(tool, obj, 'localHost') ?? '127.0.0.1';
  const localPort = optionalPort(tool, obj, 'localPort', '5432, or 0 for any free port');
  const remoteHost = optionalString(tool, obj, 'remoteHost');
  const remotePort = optionalPort(tool, obj, 'remotePort', '5432');
  const name = optionalString(tool, obj, 'name');
  const localPath = optionalString(tool, obj, 'localPath');
  const remotePath = optionalString(tool, obj, 'remotePath');
  const socks = optionalBoolean(tool, obj, 'socks');
  // A socket path replaces the host and port on its side; giving both is a mistake to point out, not to guess at.
  if (localPath !== undefined && (obj.localHost !== undefined || localPort)) {
    throw new ToolError(`${tool}: localPath replaces localHost and localPort; give one or the other.`);
  }
  if (remotePath !== undefined && (remoteHost !== undefined || remotePort)) {
    throw new ToolError(`${tool}: remotePath replaces remoteHost and remotePort; give one or the other, e.g. { "server": "${server}", "type": "local", "localPort": 0, "remotePath": "/var/run/docker.sock" } for the server's Docker socket on a local port.`);
  }
  if (socks && t !== 'remote') {
    throw new ToolError(`${tool}: socks is for a remote tunnel (a SOCKS proxy on the server, e.g. { "server": "${server}", "type": "remote", "remotePort": 1080, "socks": true }); for a SOCKS proxy on this machine use type "dynamic".`);
  }
  if (t === 'dynamic') {
    if (remoteHost !== undefined || remotePort !== undefined || remotePath !== undefined) {
      throw new ToolError(`${tool}: a dynamic (SOCKS) tunnel takes no remoteHost or remotePort, because each SOCKS client names its own target. Leave them out, e.g. { "server": "${server}", "type": "dynamic", "localPort": 1080 }.`);
    }
    if (localPath !== undefined) throw new ToolError(`${tool}: a dynamic (SOCKS) tunnel listens on a port, not a socket file: give localPort (0 for any free port) instead of localPath.`);
    return { server, type: t, localHost, localPort: localPort ?? 0, name };
  }
  const paths = { ...(localPath !== undefined && { localPath }), ...(remotePath !== undefined && { remotePath }) };
  if (t === 'local') {
    if (remotePath !== undefined) return { server, type: t, localHost, localPort: localPort ?? 0, ...paths, name };
    if (remotePort === undefined || remotePort === 0) {
      throw new ToolError(`${tool}: a local tunnel needs remotePort, the port of the service to reach from the server, e.g. { "server": "${server}", "type": "local", "localPort": 0, "remoteHost": "localhost", "remotePort": 5432 } for a PostgreSQL on the server itself (or remotePath for a Unix socket on the server).`);
    }
    return { server, type: t, localHost, localPort: localPort ?? 0, remoteHost: remoteHost ?? 'localhost', remotePort, ...paths, name };
  }
  if (socks) {
    if (localPath !== undefined || remotePath !== undefined || obj.localHost !== undefined || localPort) {
      throw new ToolError(`${tool}: a reverse SOCKS tunnel (socks: true) listens on a server port and each SOCKS client names its own target on this machine's side, so it takes no localHost, localPort, localPath or remotePath, e.g. { "server": "${server}", "type": "remote", "remotePort": 1080, "socks": true }.`);
    }
    if (remotePort === undefined) {
      throw new ToolError(`${tool}: a reverse SOCKS tunnel needs remotePort, the port the server listens on (0 lets the server pick), e.g. { "server": "${server}", "type": "remote", "remotePort": 1080, "socks": true }.`);
    }
    return { server, type: t, localHost, localPort: 0, remoteHost: remoteHost ?? '127.0.0.1', remotePort, socks: true, name };
  }
  if (remotePath === undefined && remotePort === undefined) {
    throw new ToolError(`${tool}: a remote tunnel needs remotePort, the port the server listens on (0 lets the server pick), e.g. { "server": "${server}", "type": "remote", "remotePort": 9000, "localHost": "127.0.0.1", "localPort": 3000 } to reach this machine's port 3000 at port 9000 on the server.`);
  }
  if (localPath === undefined && (localPort === undefined || localPort === 0)) {
    throw new ToolError(`${tool}: a remote tunnel needs localPort, the port of the service on this machine that the server's connections reach, e.g. { "server": "${server}", "type": "remote", "remotePort": 9000, "localPort": 3000 } (or localPath for a Unix socket on this machine).`);
  }
  const remote = remotePath === undefined ? { remoteHost: remoteHost ?? '127.0.0.1', remotePort } : {};
  return { server, type: t, localHost, localPort: localPort ?? 0, ...remote, ...paths, name };
}

/**
 * Agents (and other extensions) listen on loopback only, unless the person allowed more.
 * `allowedBy` names what lets the user allow more, e.g. "the setting sshTunnels.agentTools.allowNonLoopback"; `who` whom the rule binds.
 */
export function checkLoopback(input: CreateInput, allowed: boolean, allowedBy: string, who = 'agents'): void {
  if (allowed) return;
  const refuse = (what: string, host: string) =>
    new ToolError(
      `${what} ${JSON.stringify(host)} is not a loopback address, and ${who} may only use loopback addresses (127.0.0.1, ::1, localhost). ` +
        `Use 127.0.0.1 instead; only the user can allow other addresses, with ${allowedBy}.`,
      'NOT_ALLOWED',
    );
  // A socket file is on this machine by nature; a reverse SOCKS proxy has no local address of its own.
  if (input.localPath === undefined && !input.socks && !isLoopback(input.localHost)) {
    throw refuse(input.type === 'remote' ? 'localHost (where the server\'s connections arrive on this machine)' : 'localHost (where the tunnel listens)', input.localHost);
  }
  // A socket on the server is not a network address: only a listening host:port is.
  if (input.type === 'remote' && input.remotePath === undefined && !isLoopback(input.remoteHost ?? '')) {
    throw refuse('remoteHost (the address the server would listen on)', input.remoteHost ?? '');
  }
}

export function parseServerFilter(tool: string, input: unknown): { server?: string } {
  const obj = record(tool, input, ['server']);
  return { server: optionalString(tool, obj, 'server') };
}

export function parseClose(input: unknown): { tunnelId?: string; server?: string } {
  const tool = 'ssh_tunnel_close';
  const obj = record(tool, input, ['tunnelId', 'server']);
  const tunnelId = optionalString(tool, obj, 'tunnelId');
  const server = optionalString(tool, obj, 'server');
  return { tunnelId, server };
}
