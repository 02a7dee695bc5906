// The facts each tool returns as JSON (MCP's structuredContent), as schemas that also type the code
// building them (format.ts, and the tools' create.ts, list.ts, close.ts, status.ts): a field added
// there without its schema does not compile.
import type { ServerState, TunnelOrigin, TunnelState, TunnelType } from '../engine';
import { array, choice, dateTime, either, integer, literalTrue, object, string, type Infer } from './schema';

/** Longest list returned in one answer; the rest is counted. */
export const LIST_LIMIT = 50;

/** Every value of a union, listed once; the compiler says when the engine adds one. */
const values = <T extends string>(all: Record<T, true>): T[] => Object.keys(all) as T[];

const TUNNEL_TYPES = values<TunnelType>({ local: true, remote: true, dynamic: true });
const TUNNEL_STATES = values<TunnelState>({ connecting: true, active: true, reconnecting: true, failed: true, closed: true });
const ORIGINS = values<TunnelOrigin>({ settings: true, sshConfig: true, person: true, agent: true, extension: true });
const SERVER_STATES = values<ServerState>({ disconnected: true, connecting: true, connected: true, reconnecting: true, failed: true });

const endpoint = (description: string) =>
  either(object({ host: string(), port: integer(undefined, 0, 65535) }), object({ path: string('a Unix socket') }), description);

export const TUNNEL_SCHEMA = object(
  {
    id: string('pass it to ssh_tunnel_close as tunnelId ("t3"; "<process>/t3" for a tunnel another process serves)'),
    name: string(),
    server: string(),
    type: choice(TUNNEL_TYPES),
    state: choice(TUNNEL_STATES),
    openedBy: choice(ORIGINS),
    local: endpoint('this machine\'s end: where a local or dynamic tunnel listens, where a remote one delivers (absent for a reverse SOCKS proxy)'),
    remote: endpoint('the server\'s end: what a local tunnel reaches, where a remote one listens (absent for dynamic)'),
    socks: literalTrue('a remote tunnel whose server port is a SOCKS proxy'),
    usage: string('how to use it, in one sentence'),
    bytesIn: integer(),
    bytesOut: integer(),
    connectionsActive: integer(),
    connectionsTotal: integer(),
    errors: integer(),
    lastError: string(),
    targetError: string('why the last connection could not reach where the tunnel leads ("nothing listens on 8080 on db"), until one does'),
    createdAt: dateTime(),
    lastActivity: dateTime(),
    servedBy: string('set for a tunnel another process serves (another VS Code window, ssh-tunnels up, an agent through MCP): which one. It is in use as it is; closing it asks that process'),
  },
  ['local', 'remote', 'socks', 'lastError', 'targetError', 'servedBy'],
);
export type TunnelData = Infer<typeof TUNNEL_SCHEMA>;

export const SERVER_SCHEMA = object(
  {
    server: string('the alias to pass as "server"'),
    target: string('user@host:port'),
    definedIn: string(),
    state: choice(SERVER_STATES),
    tunnels: integer(),
    lastError: string(),
  },
  ['definedIn', 'lastError'],
);
export type ServerData = Infer<typeof SERVER_SCHEMA>;

export const CREATE_RESULT = object({ tunnel: TUNNEL_SCHEMA });
export const LIST_RESULT = object({ total: integer(), omitted: integer(`tunnels not listed (at most ${LIST_LIMIT} are)`), tunnels: array(TUNNEL_SCHEMA) });
export const CLOSE_RESULT = object({
  closed: array(string(), 'the ids closed'),
  connectionsCut: integer(),
  failures: array(string(), 'ids that could not be closed, with why'),
  open: array(string(), 'the ids still open'),
});
export const STATUS_RESULT = object({ total: integer(), omitted: integer(`servers not listed (at most ${LIST_LIMIT} are)`), servers: array(SERVER_SCHEMA) });

const LISTENER_SCHEMA = either(
  object({
    port: integer(undefined, 1, 65535),
    remoteHost: string('what ssh_tunnel_create\'s remoteHost should be to reach it'),
    where: string('all interfaces, loopback, or an address of the server'),
    process: string('the program and its pid, when the server names it'),
    forwardedBy: array(string(), 'ids of the tunnels that already forward it'),
  }, ['process']),
  object({
    path: string('a Unix socket on the server: ssh_tunnel_create\'s remotePath'),
    where: string(),
    process: string(),
    forwardedBy: array(string()),
  }, ['process']),
);
export const PORTS_RESULT = object({
  server: string(),
  source: string('the tool on the server that told: ss, netstat, /proc, netstat (BSD), lsof'),
  total: integer(),
  omitted: integer(`listeners not listed (at most ${LIST_LIMIT} are)`),
  listeners: array(LISTENER_SCHEMA),
});

export type CreateResult = Infer<typeof CREATE_RESULT>;
export type ListResult = Infer<typeof LIST_RESULT>;
export type CloseResult = Infer<typeof CLOSE_RESULT>;
export type StatusResult = Infer<typeof STATUS_RESULT>;
export type PortsResult = Infer<typeof PORTS_RESULT>;
