// The sockets in the runtime folder: this process's own (named, listened on privately, removed at
// exit) and the others' (found, dialled, removed once their process has died).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { errorMessage } from '../engine';
import { checkPeerSocket } from './runtimeDir';

/** `<pid>.sock`, or `<pid>-<n>.sock` for a further instance in one process. */
export const SOCKET_NAME = /^(\d+)(?:-\d+)?\.sock$/;

/** Tries of a socket that refuses while its process lives (it may be between bind and listen). */
const REFUSED_RETRIES = 3;

/** Instances started in this process. */
let instances = 0;

/** This instance's socket in `dir`: a second instance in one process (tests) gets a name of its own. */
export function ownSocketPath(dir: string): string {
  return path.join(dir, instances++ === 0 ? `${process.pid}.sock` : `${process.pid}-${instances}.sock`);
}

interface OwnSocket {
  unlinkOwnSocket(): void;
}

/** The instances whose socket goes when the process exits: one listener for all. */
const listening = new Set<OwnSocket>();
const onExit = () => {
  for (const p of listening) p.unlinkOwnSocket();
};

export function atExit(owner: OwnSocket, on: boolean): void {
  if (on) {
    if (listening.size === 0) process.on('exit', onExit);
    listening.add(owner);
  } else if (listening.delete(owner) && listening.size === 0) process.off('exit', onExit);
}

/** Makes `server` listen on `socketPath`, for this user only; resolves with the socket's inode. */
export async function listenPrivately(server: net.Server, socketPath: string, log: (message: string) => void): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Created 0600 (no window in which another user could connect), chmod'ed again below for platforms that ignore umask here.
    let umask: number | undefined;
    try {
      umask = process.umask(0o177);
    } catch {
      // Not allowed in a worker thread: the folder's 0700 and the chmod below still apply.
    }
    try {
      server.listen(socketPath, () => resolve());
    } finally {
      if (umask !== undefined) process.umask(umask);
    }
  });
  server.on('error', (err) => log(`listening on ${socketPath}: ${errorMessage(err)}`));
  fs.chmodSync(socketPath, 0o600);
  return fs.lstatSync(socketPath).ino;
}

/** The other instances' sockets in `dir` (all but `own`). */
export async function otherSockets(dir: string, own: string): Promise<string[]> {
  const names = await fs.promises.readdir(dir);
  return names.filter((n) => SOCKET_NAME.test(n) && n !== own).map((n) => path.join(dir, n));
}

/**
 * Connects to another process's socket. Resolves with the connected socket, or undefined when it
 * is not one to talk to (not ours, refusing, its process dead: then removed) or `stopped()` says so.
 */
export async function dial(file: string, log: (message: string) => void, stopped: () => boolean, attempt = 1): Promise<net.Socket | undefined> {
  const check = checkPeerSocket(file);
  if (check.gone) return undefined;
  if (check.problem) {
    log(`${file} ${check.problem}: ignored, not connected to.`);
    return undefined;
  }
  const pid = Number(SOCKET_NAME.exec(path.basename(file))![1]);
  const socket = net.connect(file);
  const outcome = await new Promise<'connected' | NodeJS.ErrnoException>((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('error', (err) => resolve(err));
  });
  if (stopped()) {
    socket.destroy();
    return undefined;
  }
  if (outcome === 'connected') return socket;
  socket.destroy();
  const code = outcome.code;
  if ((code === 'ECONNREFUSED' || code === 'ENOENT') && !alive(pid)) {
    removeStale(file, pid, log);
    return undefined;
  }
  if (code === 'ECONNREFUSED' && attempt < REFUSED_RETRIES) {
    await new Promise((r) => setTimeout(r, 50 * attempt));
    return dial(file, log, stopped, attempt + 1);
  }
  log(`${file}: ${code ?? outcome.message}; ignored.`);
  return undefined;
}

/** How long a process whose connection closed may take to be gone. */
const EXIT_WAIT_MS = 1000;

/**
 * Whether every thread of `pid` has ended, so its sockets are closed. Its main thread shows as a
 * zombie while the others (libuv's, V8's) still exit holding the process's sockets: that is not yet it.
 */
function ended(pid: number): boolean {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // Reaped, or no /proc (macOS): whether it still answers signals.
    return !alive(pid);
  }
  const state = /^State:\s+(\S)/m.exec(status)?.[1];
  const threads = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
  return state === 'Z' && threads <= 1;
}

/** Resolves once `pid` has ended, or after EXIT_WAIT_MS (its pid reused, or a connection closed by a live process). */
export async function whenGone(pid: number): Promise<void> {
  const deadline = Date.now() + EXIT_WAIT_MS;
  while (!ended(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process not yet reaped by its parent (a zombie) still answers kill 0 on Linux.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true;
  }
}

export function removeStale(file: string, pid: number, log: (message: string) => void): void {
  // Only a socket of ours: a file that changed meanwhile is left alone.
  if (checkPeerSocket(file).problem !== undefined) return;
  try {
    fs.unlinkSync(file);
    log(`Removed the stale socket ${file}: its process (pid ${pid}) has ended.`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log(`Could not remove the stale socket ${file}: ${errorMessage(err)}`);
  }
}
