// Who holds a local port, asked of the operating system as each platform tells it: Linux's /proc
// (the listening socket's inode, the process whose fd holds it, its name; else its owner's uid),
// macOS's lsof, Windows' `netstat -ano` and `tasklist`. The platform and the way commands run are
// parameters, so tests cover all three. Best effort: undefined when nothing says.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseLsofListen } from './bsdOutput';
import { parseProcTcp } from './linuxOutput';

export interface PortHolder {
  pid?: number;
  /** The program's name (postgres, node.exe). */
  name?: string;
  /** The owner, when the process itself could not be seen (another user's, without privileges). */
  user?: string;
}

export interface HolderPlace {
  platform?: NodeJS.Platform;
  /** Runs a program and resolves with its stdout (by default execFile, 3 s at most). */
  run?: (file: string, args: string[]) => Promise<string>;
  /** Linux: where /proc and /etc/passwd are read (tests). */
  root?: string;
}

function runFile(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 3000, windowsHide: true, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => (err && !stdout ? reject(err) : resolve(String(stdout))));
  });
}

/** The addresses a listener on `host` would clash with: the same one, or a wildcard of its family. */
function clashes(listening: string | undefined, host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  if (listening === undefined || listening === h || listening === '*' || h === '0.0.0.0' || h === '::') return true;
  return listening === (h.includes(':') ? '::' : '0.0.0.0') || (h === 'localhost' && (listening === '127.0.0.1' || listening === '::1'));
}

/** Linux: /proc/net/tcp{,6}'s listening socket on the port, then the process whose fd is that socket. */
async function linuxHolder(host: string, port: number, root: string): Promise<PortHolder | undefined> {
  const read = (file: string) => fs.promises.readFile(path.join(root, file), 'utf8').catch(() => '');
  const sockets = [...parseProcTcp(await read('proc/net/tcp')), ...parseProcTcp(await read('proc/net/tcp6'))];
  const socket = sockets.find((s) => s.port === port && clashes(s.host, host)) ?? sockets.find((s) => s.port === port);
  if (!socket) return undefined;
  const target = `socket:[${socket.inode}]`;
  const proc = path.join(root, 'proc');
  for (const entry of await fs.promises.readdir(proc).catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const fdDir = path.join(proc, entry, 'fd');
    const fds = await fs.promises.readdir(fdDir).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await fs.promises.readlink(path.join(fdDir, fd)).catch(() => '');
      if (link !== target) continue;
      const name = (await read(`proc/${entry}/comm`)).trim();
      return { pid: Number(entry), ...(name ? { name } : {}) };
    }
  }
  // Another user's process: its fds are closed to us, but the socket says whose it is.
  const user = socket.uid === undefined ? undefined : userName(await read('etc/passwd'), socket.uid);
  return user ? { user } : undefined;
}

function userName(passwd: string, uid: number): string | undefined {
  return passwd.split('\n').map((l) => l.split(':')).find((f) => Number(f[2]) === uid && f[0])?.[0];
}

/** Windows: `netstat -ano -p TCP` (and TCPv6) gives the pid listening on the port. */
export function parseWindowsNetstat(text: string, host: string, port: number): number | undefined {
  const found: { host: string; pid: number }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*TCP\s+(\S+):(\d+)\s+\S+\s+LISTENING\s+(\d+)\s*$/i.exec(line);
    if (m && Number(m[2]) === port) found.push({ host: m[1].replace(/^\[(.*)\]$/, '$1'), pid: Number(m[3]) });
  }
  return (found.find((f) => clashes(f.host, host)) ?? found[0])?.pid;
}

/** Windows: the image name of `tasklist /FI "PID eq N" /FO CSV /NH` ("postgres.exe","812",…). */
export function parseTasklist(text: string, pid: number): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    const cells = [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]);
    if (cells.length >= 2 && Number(cells[1].replace(/\D/g, '')) === pid) return cells[0];
  }
  return undefined;
}

/** Who holds `port` on `host` here, as this platform tells; undefined when it does not say. */
export async function portHolder(host: string, port: number, place: HolderPlace = {}): Promise<PortHolder | undefined> {
  const platform = place.platform ?? process.platform;
  const run = place.run ?? runFile;
  try {
    if (platform === 'linux') return await linuxHolder(host, port, place.root ?? '/');
    if (platform === 'win32') {
      const pid = parseWindowsNetstat(await run('netstat', ['-ano', '-p', host.includes(':') ? 'TCPv6' : 'TCP']), host, port);
      if (pid === undefined) return undefined;
      const name = parseTasklist(await run('tasklist', ['/FI', `PID eq ${pid}`, '/FO', 'CSV', '/NH']).catch(() => ''), pid);
      return { pid, ...(name ? { name } : {}) };
    }
    // macOS and the BSDs: lsof (as this user, it names this user's processes).
    const listed = parseLsofListen(await run('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-Fpcn']));
    const hit = listed.find((l) => clashes(l.host, host)) ?? listed[0];
    const p = hit?.processes[0];
    return p ? { pid: p.pid, ...(p.name !== '?' ? { name: p.name } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/** `postgres (pid 812)`, `a process of the user postgres`, `this program (pid 4242)`. */
export function describeHolder(holder: PortHolder, self = process.pid): string {
  if (holder.pid === self) return `this program (pid ${self})`;
  if (holder.name && holder.pid !== undefined) return `${holder.name} (pid ${holder.pid})`;
  if (holder.pid !== undefined) return `the process ${holder.pid}`;
  return `a process of the user ${holder.user}`;
}
