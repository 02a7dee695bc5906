import { CLOSE_RESULT, CREATE_RESULT, LIST_RESULT, PORTS_RESULT, STATUS_RESULT } from './results';
import type { JsonSchema } from './schema';

/** What an agent sees of each tool: names and inputs as the SSH manager's tools had them. */
export type ToolName = 'ssh_tunnel_create' | 'ssh_tunnel_list' | 'ssh_tunnel_close' | 'ssh_connection_status' | 'ssh_server_ports';

export interface ToolDefinition {
  name: ToolName;
  displayName: string;
  /** The name after `#` in a VS Code chat prompt. */
  toolReferenceName: string;
  /** A codicon, as VS Code shows it next to the tool. */
  icon: string;
  userDescription: string;
  /** For the model, as VS Code gives it (VS Code asks the person before create and close). */
  modelDescription: string;
  /** The same without what the host does before the tool acts (see modelDescription()). */
  description: string;
  /** A JSON schema object. VS Code does not check inputs against it: the core does. */
  inputSchema: Record<string, unknown>;
  /** The JSON schema of the result's structured data (src/tools/results.ts). */
  outputSchema: JsonSchema;
  tags: string[];
  /** List and status: nothing changes, nothing to confirm. */
  readOnly: boolean;
  /** Close: cuts live connections. */
  destructive: boolean;
  /** Create and close ask the person first, where the host can ask. */
  needsConfirmation: boolean;
}

/** The model description as a host gives it: whether the person is asked before the tool acts. */
export function modelDescription(d: Pick<ToolDefinition, 'name' | 'description'>, personConfirms: boolean): string {
  const note = CONFIRM_NOTES[d.name];
  return note ? `${d.description} ${personConfirms ? note.asks : note.doesNot}` : d.description;
}

const CONFIRM_NOTES: Partial<Record<ToolName, { asks: string; doesNot: string }>> = {
  ssh_tunnel_create: {
    asks: 'The user is asked to confirm every tunnel; if they decline, nothing is opened.',
    doesNot: 'This server opens it without asking the user itself (the MCP client may ask before the call).',
  },
  ssh_tunnel_close: {
    asks: 'The user is asked to confirm.',
    doesNot: 'This server closes without asking the user itself (the MCP client may ask before the call).',
  },
};

const port = (description: string) => ({ type: 'integer', minimum: 0, maximum: 65535, description });
const serverInput = (description: string) => ({ type: 'string', description });

const DEFINITIONS: Omit<ToolDefinition, 'modelDescription'>[] = [
  {
    name: 'ssh_tunnel_create',
    displayName: 'Create SSH Tunnel',
    toolReferenceName: 'sshTunnelCreate',
    icon: '$(plug)',
    userDescription: 'Open an SSH tunnel (local forward, remote forward or SOCKS proxy) through a configured server, after you confirm.',
    description:
      'Opens an SSH tunnel through one of the configured servers and returns its id, the real bound ports and how to use it. ' +
      'type "local" (ssh -L) makes a service reachable from the server (remoteHost:remotePort, as the server sees it) available on this machine at localHost:localPort; ' +
      '"remote" (ssh -R) makes the server listen on remoteHost:remotePort and forward to localHost:localPort on this machine; ' +
      '"dynamic" (ssh -D) opens a SOCKS5 proxy on localHost:localPort (use socks5h://127.0.0.1:PORT). ' +
      'A Unix socket can stand in for a host and port: remotePath for one on the server (e.g. local with localPort 0 and remotePath /var/run/docker.sock gives a local port to the server\'s Docker), localPath for one on this machine. ' +
      'remote with socks true makes the server\'s remotePort a SOCKS proxy that reaches whatever this machine can (ssh -R 1080). ' +
      'Use it when a task needs to reach a database, web service or host behind an SSH server, or to expose a local dev server on a server. ' +
      'Call ssh_connection_status first to learn the server names; never guess them. localPort 0 picks a free port (the result says which). ' +
      'Do not use it for a tunnel that already exists (check ssh_tunnel_list), for running commands on the server, or to listen on non-loopback addresses (refused unless the user allowed it).',
    inputSchema: {
      type: 'object',
      properties: {
        server: serverInput('Server alias, as listed by ssh_connection_status.'),
        type: { type: 'string', enum: ['local', 'remote', 'dynamic'], description: 'local (-L), remote (-R) or dynamic (-D, SOCKS5).' },
        localHost: { type: 'string', default: '127.0.0.1', description: 'Address on this machine: where a local or dynamic tunnel listens, or where a remote tunnel delivers connections. Loopback only unless the user allowed more.' },
        localPort: port('Port on this machine; 0 = any free port (local and dynamic). For a remote tunnel, the port of the local service (required unless localPath or socks).'),
        remoteHost: { type: 'string', description: 'local: the host to reach, as the server sees it (default localhost). remote: the address the server listens on (default 127.0.0.1).' },
        remotePort: port('local: the port of the service to reach (required unless remotePath). remote: the port the server listens on (0 = the server picks). Not used by dynamic.'),
        localPath: { type: 'string', description: 'A Unix socket file on this machine instead of localHost:localPort: where a local tunnel listens, or where a remote tunnel delivers connections. Absolute or ~/ path.' },
        remotePath: { type: 'string', description: 'A Unix socket on the server instead of remoteHost:remotePort: what a local tunnel reaches (e.g. /var/run/docker.sock), or where a remote tunnel has the server listen.' },
        socks: { type: 'boolean', description: 'remote only: the server listens on remoteHost:remotePort as a SOCKS4/5 proxy whose connections are made from this machine (no localHost, localPort or paths).' },
        name: { type: 'string', description: 'A short name for the tunnel (optional).' },
      },
      required: ['server', 'type'],
      additionalProperties: false,
    },
    outputSchema: CREATE_RESULT.json,
    tags: ['ssh', 'tunnel', 'port-forwarding', 'network'],
    readOnly: false,
    destructive: false,
    needsConfirmation: true,
  },
  {
    name: 'ssh_tunnel_list',
    displayName: 'List SSH Tunnels',
    toolReferenceName: 'sshTunnelList',
    icon: '$(list-unordered)',
    userDescription: 'List the open SSH tunnels with their state, addresses and traffic.',
    description:
      'Lists the SSH tunnels that exist now, whoever opened them (settings, ~/.ssh/config, the user, an agent): id, name, server, type, state, both endpoints, ' +
      'bytes each way, connections active and total, errors, last error, when created, last activity, who opened it. ' +
      'Use it to find a tunnel\'s id and port before using or closing it, or to check whether a tunnel already exists before creating one. ' +
      'Do not use it to learn server names (use ssh_connection_status). At most 50 tunnels are listed; the result says how many more exist (filter by server).',
    inputSchema: {
      type: 'object',
      properties: { server: serverInput('Only the tunnels of this server (optional).') },
      additionalProperties: false,
    },
    outputSchema: LIST_RESULT.json,
    tags: ['ssh', 'tunnel', 'port-forwarding', 'network'],
    readOnly: true,
    destructive: false,
    needsConfirmation: false,
  },
  {
    name: 'ssh_tunnel_close',
    displayName: 'Close SSH Tunnel',
    toolReferenceName: 'sshTunnelClose',
    icon: '$(debug-disconnect)',
    userDescription: 'Close an SSH tunnel, or all tunnels of a server, after you confirm.',
    description:
      'Closes one SSH tunnel (tunnelId, from ssh_tunnel_list or ssh_tunnel_create) or every tunnel of a server (server), and says what was closed and how many live connections were cut. ' +
      'Use it when a tunnel you opened is no longer needed. Do not close tunnels the user opened unless asked to. ' +
      'An id that is not open changes nothing; the answer lists the open ids.',
    inputSchema: {
      type: 'object',
      properties: {
        tunnelId: { type: 'string', description: 'The id of the tunnel to close, e.g. "t3".' },
        server: serverInput('Close every tunnel of this server (when no tunnelId is given).'),
      },
      additionalProperties: false,
    },
    outputSchema: CLOSE_RESULT.json,
    tags: ['ssh', 'tunnel', 'port-forwarding', 'network'],
    readOnly: false,
    destructive: true,
    needsConfirmation: true,
  },
  {
    name: 'ssh_connection_status',
    displayName: 'SSH Connection Status',
    toolReferenceName: 'sshConnectionStatus',
    icon: '$(server)',
    userDescription: 'List the SSH servers that tunnels can use and whether each is connected.',
    description:
      'Lists the SSH servers a tunnel may go through (from the user\'s settings and ~/.ssh/config): alias, user@host:port, where it is defined, ' +
      'connection state (disconnected, connecting, connected, reconnecting, failed), its number of tunnels and last error. ' +
      'Use it before ssh_tunnel_create to learn the exact server names, or to see why a tunnel fails. It does not connect to anything. ' +
      'At most 50 servers are listed; the result says how many more exist.',
    inputSchema: {
      type: 'object',
      properties: { server: serverInput('Only this server (optional).') },
      additionalProperties: false,
    },
    outputSchema: STATUS_RESULT.json,
    tags: ['ssh', 'tunnel', 'port-forwarding', 'network'],
    readOnly: true,
    destructive: false,
    needsConfirmation: false,
  },
  {
    name: 'ssh_server_ports',
    displayName: 'List Server Ports',
    toolReferenceName: 'sshServerPorts',
    icon: '$(radio-tower)',
    userDescription: 'List the ports (and Unix sockets) an SSH server listens on, with their processes, and which are already forwarded.',
    description:
      'Lists what a server listens on: TCP ports with their addresses (loopback only, all interfaces, one address) and Unix sockets, with the process when the server names it, ' +
      'and which are already forwarded by a tunnel (here or in another of the user\'s processes). Each comes with the remoteHost and remotePort (or remotePath) to pass to ssh_tunnel_create. ' +
      'Use it to find the port of a service running on the server (a dev server, a database, a dashboard) before forwarding it. ' +
      'It connects to the server if needed and runs one read-only command there (ss, netstat or /proc). Do not use it to open a tunnel (ssh_tunnel_create does) or to run other commands. ' +
      'Some servers allow no commands (ForceCommand, restricted shells): the answer then says so, and tunnels by port number still work. At most 50 are listed.',
    inputSchema: {
      type: 'object',
      properties: { server: serverInput('Server alias, as listed by ssh_connection_status.') },
      required: ['server'],
      additionalProperties: false,
    },
    outputSchema: PORTS_RESULT.json,
    tags: ['ssh', 'tunnel', 'port-forwarding', 'network'],
    readOnly: true,
    destructive: false,
    needsConfirmation: false,
  },
];

export const TOOL_DEFINITIONS: readonly ToolDefinition[] = DEFINITIONS.map((d) => ({ ...d, modelDescription: modelDescription(d, true) }));

export function toolDefinition(name: string): ToolDefinition | undefined {
  return TOOL_DEFINITIONS.find((d) => d.name === name);
}
