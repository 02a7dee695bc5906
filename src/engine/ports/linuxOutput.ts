// Listening sockets as Linux tools print them: iproute2's `ss -ltnp` / `ss -lxp`, net-tools'
// `netstat -ltnp` / `netstat -lxp`, and the kernel's own /proc/net/tcp, tcp6 and unix (with the
// socket inodes of /proc/PID/fd and the names of /proc/PID/comm, for the processes). Pure.
import type { ListenerProcess, RawListener } from './listeners';

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}

/** `127.0.0.1:8080`, `[::1]:6379`, `*:9000`, `127.0.0.53%lo:53`, `:::9000` as host, port and interface. */
export function splitAddress(text: string): { host: string; port: number; device?: string } | undefined {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return undefined;
  const port = Number(text.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  let host = text.slice(0, colon);
  let device: string | undefined;
  const percent = host.lastIndexOf('%');
  if (percent >= 0) {
    device = host.slice(percent + 1);
    host = host.slice(0, percent);
  }
  host = host.replace(/^\[(.*)\]$/, '$1');
  return { host, port, ...(device ? { device } : {}) };
}

/** The processes of ss's `users:(("nginx",pid=10,fd=6),("nginx",pid=11,fd=6))`. */
function ssProcesses(text: string | undefined): ListenerProcess[] {
  const out: ListenerProcess[] = [];
  for (const m of (text ?? '').matchAll(/\("((?:[^"\\]|\\.)*)",pid=(\d+)/g)) out.push({ name: m[1], pid: Number(m[2]) });
  return out;
}

/** `ss -ltnp` (with -H or with its header line): LISTEN, queues, local address, peer, users:(…). */
export function parseSsTcp(text: string): RawListener[] {
  const out: RawListener[] = [];
  for (const line of lines(text)) {
    const m = /^(?:tcp\s+)?LISTEN\s+\d+\s+\d+\s+(\S+)\s+\S+(?:\s+(users:.*))?\s*$/.exec(line.trim());
    const address = m && splitAddress(m[1]);
    if (!address) continue;
    out.push({ ...address, processes: ssProcesses(m[2]) });
  }
  return out;
}

/** `ss -lxp`: stream sockets (u_str) only, the kind direct-streamlocal connects to. */
export function parseSsUnix(text: string): RawListener[] {
  const out: RawListener[] = [];
  for (const line of lines(text)) {
    const m = /^u_str\s+LISTEN\s+\d+\s+\d+\s+(.+?)\s+\d+\s+\*\s+\d+(?:\s+(users:.*))?\s*$/.exec(line.trim());
    if (!m) continue;
    out.push({ path: m[1], processes: ssProcesses(m[2]) });
  }
  return out;
}

/** net-tools' PID/Program name column: `812/postgres`, or `-` when the process is not the login user's. */
function netstatProcess(field: string): ListenerProcess[] {
  const m = /^(\d+)\/(.+)$/.exec(field.trim());
  return m ? [{ name: m[2].trim(), pid: Number(m[1]) }] : [];
}

/** `netstat -ltnp` (net-tools, busybox): tcp/tcp6 lines in LISTEN, the program last (it may hold spaces). */
export function parseNetstatTcp(text: string): RawListener[] {
  const out: RawListener[] = [];
  for (const line of lines(text)) {
    const m = /^tcp6?\s+\d+\s+\d+\s+(\S+)\s+\S+\s+LISTEN(?:\s+(.*))?$/.exec(line.trim());
    const address = m && splitAddress(m[1]);
    if (!address) continue;
    out.push({ ...address, processes: netstatProcess(m[2] ?? '') });
  }
  return out;
}

/** Width of net-tools' PID/Program name column (PROGNAME_WIDTH): the socket's path follows it. */
const PROGRAM_WIDTH = 20;

/** `netstat -lxp`: listening stream sockets; the program column is fixed-width (its name may hold spaces), the path last. */
export function parseNetstatUnix(text: string): RawListener[] {
  const out: RawListener[] = [];
  for (const line of lines(text)) {
    const m = /^unix\s+\d+\s+\[[^\]]*\]\s+STREAM\s+LISTENING\s+\d+\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const rest = m[1];
    const program = rest.startsWith('-') ? '-' : rest.slice(0, PROGRAM_WIDTH);
    const file = (rest.startsWith('-') ? rest.slice(1) : rest.slice(PROGRAM_WIDTH)).trim();
    if (!file) continue;
    out.push({ path: file, processes: netstatProcess(program) });
  }
  return out;
}

/** An address of /proc/net/tcp{,6}: 32-bit words in the host's (little-endian) byte order, the port in hex. */
function procAddress(text: string): { host: string; port: number } | undefined {
  const [hex, portHex] = text.split(':');
  if (!hex || !portHex) return undefined;
  const bytes = (word: string) => [6, 4, 2, 0].map((i) => parseInt(word.slice(i, i + 2), 16));
  let host: string;
  if (hex.length === 8) host = bytes(hex).join('.');
  else if (hex.length === 32) {
    const b = [0, 8, 16, 24].flatMap((i) => bytes(hex.slice(i, i + 8)));
    const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16));
    host = compressIpv6(groups);
  } else return undefined;
  return { host, port: parseInt(portHex, 16) };
}

/** Eight hex groups as IPv6 is written: the longest run of zero groups as `::`. */
function compressIpv6(groups: string[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

/** A socket of /proc/net/* in LISTEN state, with the inode that ties it to a process and the owner's uid. */
export interface ProcSocket extends RawListener {
  inode: number;
  uid?: number;
}

/** /proc/net/tcp or tcp6: the sockets in state 0A (LISTEN). */
export function parseProcTcp(text: string): ProcSocket[] {
  const out: ProcSocket[] = [];
  for (const line of lines(text)) {
    const f = line.trim().split(/\s+/);
    if (!/^\d+:$/.test(f[0]) || f[3] !== '0A') continue;
    const address = procAddress(f[1]);
    if (!address) continue;
    out.push({ ...address, processes: [], uid: Number(f[7]), inode: Number(f[9]) });
  }
  return out;
}

/** Flags of a listening socket in /proc/net/unix (__SO_ACCEPTCON), and the type of a stream one. */
const ACCEPTING = 0x10000;
const SOCK_STREAM = 1;

/** /proc/net/unix: listening stream sockets with a path (the path may hold spaces). */
export function parseProcUnix(text: string): ProcSocket[] {
  const out: ProcSocket[] = [];
  for (const line of lines(text)) {
    const m = /^[0-9a-f]+:\s+[0-9A-F]+\s+[0-9A-F]+\s+([0-9A-F]+)\s+([0-9A-F]+)\s+[0-9A-F]+\s+(\d+)(?:\s(.*))?$/i.exec(line.trim());
    if (!m || !m[4]) continue;
    if ((parseInt(m[1], 16) & ACCEPTING) === 0 || parseInt(m[2], 16) !== SOCK_STREAM) continue;
    out.push({ path: m[4], processes: [], inode: Number(m[3]) });
  }
  return out;
}

/** Socket inodes to the pids holding them, from `ls -l /proc/[0-9]*\/fd` (the `/proc/PID/fd:` headings and `N -> socket:[INODE]` lines). */
export function parseProcFds(text: string): Map<number, number[]> {
  const byInode = new Map<number, number[]>();
  let pid: number | undefined;
  for (const line of lines(text)) {
    const heading = /^\/proc\/(\d+)\/fd\/?:$/.exec(line.trim());
    if (heading) {
      pid = Number(heading[1]);
      continue;
    }
    const socket = /socket:\[(\d+)\]/.exec(line);
    if (!socket || pid === undefined) continue;
    const inode = Number(socket[1]);
    const pids = byInode.get(inode) ?? [];
    if (!pids.includes(pid)) pids.push(pid);
    byInode.set(inode, pids);
  }
  return byInode;
}

/** Process names by pid, from `head -n 1 /proc/[0-9]*\/comm` (`==> /proc/PID/comm <==` before each). */
export function parseProcComms(text: string): Map<number, string> {
  const names = new Map<number, string>();
  let pid: number | undefined;
  for (const line of text.split(/\r?\n/)) {
    const heading = /^==> \/proc\/(\d+)\/comm <==$/.exec(line.trim());
    if (heading) {
      pid = Number(heading[1]);
      continue;
    }
    if (pid !== undefined && line.trim() !== '') {
      names.set(pid, line.trim());
      pid = undefined;
    }
  }
  return names;
}

/** The sockets of /proc with their processes, where the fd listing named them. */
export function withProcesses(sockets: readonly ProcSocket[], fds: Map<number, number[]>, comms: Map<number, string>): RawListener[] {
  return sockets.map(({ inode, uid: _uid, ...socket }) => ({
    ...socket,
    processes: (fds.get(inode) ?? []).map((pid) => ({ name: comms.get(pid) ?? '?', pid })),
  }));
}
