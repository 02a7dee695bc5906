// What a server listens on, as a person picks from it: one row per TCP port (its addresses
// together) and one per Unix socket file, each with the processes the server named, where a
// forward to it should lead, and whether a tunnel already reaches it.
import { isIP } from 'node:net';
import type { TunnelInfo } from '../base/types';

/** Where a TCP listener accepts connections from: the server itself only, every interface, or one address of the server. */
export type ListenScope = 'loopback' | 'all' | 'address';

/** A process the server named as the listener's owner. */
export interface ListenerProcess {
  name: string;
  pid?: number;
}

/** One listening socket as a tool printed it: a TCP address and port, or a Unix socket file. */
export interface RawListener {
  /** TCP: the address as printed, without brackets or `%interface` ('0.0.0.0', '::', '*' for a dual-stack wildcard, '127.0.0.1'). */
  host?: string;
  port?: number;
  /** Unix: the socket file. */
  path?: string;
  /** Bound to one interface (ss's `127.0.0.53%lo`). */
  device?: string;
  processes: ListenerProcess[];
}

/** A TCP port the server listens on, on one or more of its addresses. */
export interface ListeningPort {
  port: number;
  /** Its addresses as the server reports them ('0.0.0.0', '::', '127.0.0.1', '::1'; '*' is any, IPv4 and IPv6). */
  addresses: string[];
  scope: ListenScope;
  /** What a forward should ask the server to connect to: `localhost` for loopback and all interfaces, else the address. */
  target: string;
  processes: ListenerProcess[];
}

/** A Unix socket file the server listens on (a forward reaches it as remotePath). */
export interface ListeningSocket {
  path: string;
  processes: ListenerProcess[];
}

/** Which tool told, as the listing says it: what a person reads to judge the list. */
export type PortSource = 'ss' | 'netstat' | '/proc' | 'netstat (BSD)' | 'lsof';

/** What a server listens on. */
export interface ServerPorts {
  server: string;
  source: PortSource;
  /** The operating system the server reported (`uname -s`). */
  system?: string;
  tcp: ListeningPort[];
  unix: ListeningSocket[];
  /** Some listeners came without a process: the server names only the login user's own processes (not root). */
  processesHidden: boolean;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '*', '']);

/** Whether an address is this host's loopback: 127.0.0.0/8, ::1, or an IPv4-mapped loopback. */
export function isLoopbackAddress(host: string): boolean {
  const h = host.toLowerCase().replace(/^::ffff:/, '');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

function scopeOf(host: string): ListenScope {
  if (WILDCARDS.has(host)) return 'all';
  return isLoopbackAddress(host) ? 'loopback' : 'address';
}

/**
 * Where a forward to these addresses should lead. `localhost` reaches a wildcard and 127.0.0.1
 * (sshd tries each address of the name); an IPv6-only one is reached at ::1, another address at itself.
 */
function targetOf(addresses: readonly string[]): string {
  if (addresses.some((a) => a === '0.0.0.0' || a === '*' || a === '127.0.0.1')) return 'localhost';
  if (addresses.some((a) => a === '::' || a === '::1')) return '::1';
  return addresses.find((a) => isLoopbackAddress(a)) ?? addresses[0];
}

function mergeProcesses(into: ListenerProcess[], more: readonly ListenerProcess[]): void {
  for (const p of more) if (!into.some((q) => q.name === p.name && q.pid === p.pid)) into.push(p);
}

/** Rows a person picks from: TCP listeners grouped by port (sorted), Unix sockets by path; abstract and unnamed sockets left out. */
export function groupListeners(raw: readonly RawListener[]): { tcp: ListeningPort[]; unix: ListeningSocket[] } {
  const ports = new Map<number, ListeningPort>();
  const sockets = new Map<string, ListeningSocket>();
  for (const l of raw) {
    if (l.path !== undefined) {
      // An abstract socket (@name) or an unnamed one has no file that direct-streamlocal could open.
      if (!l.path.startsWith('/')) continue;
      const s = sockets.get(l.path) ?? { path: l.path, processes: [] };
      mergeProcesses(s.processes, l.processes);
      sockets.set(l.path, s);
      continue;
    }
    if (l.port === undefined || l.host === undefined) continue;
    const row = ports.get(l.port) ?? { port: l.port, addresses: [], scope: 'address' as ListenScope, target: '', processes: [] };
    if (!row.addresses.includes(l.host)) row.addresses.push(l.host);
    mergeProcesses(row.processes, l.processes);
    ports.set(l.port, row);
  }
  const order: Record<ListenScope, number> = { all: 0, loopback: 1, address: 2 };
  const tcp = [...ports.values()].sort((a, b) => a.port - b.port).map((row) => {
    const scopes = row.addresses.map(scopeOf).sort((a, b) => order[a] - order[b]);
    return { ...row, scope: scopes[0], target: targetOf(row.addresses) };
  });
  const unix = [...sockets.values()].sort((a, b) => a.path.localeCompare(b.path));
  return { tcp, unix };
}

/** Where a listener accepts connections from, in words: `all interfaces`, `loopback`, `10.0.0.5`. */
export function describeScope(row: Pick<ListeningPort, 'scope' | 'addresses'>): string {
  if (row.scope === 'all') return 'all interfaces';
  if (row.scope === 'loopback') return row.addresses.length === 1 && row.addresses[0] !== '127.0.0.1' && row.addresses[0] !== '::1' ? `loopback (${row.addresses[0]})` : 'loopback';
  return row.addresses.join(', ');
}

/** `postgres (pid 812)`, `nginx (pids 10, 11)`, or undefined when the server named none. */
export function describeProcesses(processes: readonly ListenerProcess[]): string | undefined {
  if (processes.length === 0) return undefined;
  const names = [...new Set(processes.map((p) => p.name))];
  const pids = processes.map((p) => p.pid).filter((p): p is number => p !== undefined);
  const pidText = pids.length === 0 ? '' : pids.length === 1 ? ` (pid ${pids[0]})` : ` (pids ${pids.join(', ')})`;
  return `${names.join(', ')}${pidText}`;
}

/** The open -L tunnels of a server that lead to this listener: the same port at one of its addresses (or the same socket file). */
export function tunnelsReaching(listener: ListeningPort | ListeningSocket, tunnels: readonly TunnelInfo[]): TunnelInfo[] {
  return tunnels.filter((t) => {
    if (t.type !== 'local' || t.state === 'closed') return false;
    if ('path' in listener) return t.remotePath === listener.path;
    if (t.remotePath !== undefined || t.remotePort !== listener.port || t.remoteHost === undefined) return false;
    const host = t.remoteHost.replace(/^\[(.*)\]$/, '$1');
    // A loopback target reaches a listener on loopback or on every interface; another address, itself or a wildcard.
    if (isLoopbackAddress(host)) return listener.scope !== 'address' || listener.addresses.includes(host);
    return listener.addresses.includes(host) || listener.scope === 'all';
  });
}
