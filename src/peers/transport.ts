// How the processes of one person find and reach each other on a platform: Unix sockets in the
// runtime folder (Linux, macOS), or named pipes named by files in it (Windows). One module per
// way (sockets.ts, pipes.ts); Peers picks by platform, which tests inject.
import * as net from 'node:net';
import * as path from 'node:path';

/** Where this process listens, once it does. */
export interface Endpoint {
  /** What the others dial: the socket's path, or the pipe's name. */
  readonly address: string;
  /** Resolves true once an accepted connection may be talked to (on Windows: it proved it is this person's), false when it was dropped. */
  accept(socket: net.Socket): Promise<boolean>;
  /** Takes the entry out of the folder, if it is still this process's. */
  remove(): void;
}

export interface Transport {
  /** The entries of processes in the folder: group 1 is the pid. */
  readonly entryName: RegExp;
  /** This instance's entry in `dir`. */
  ownEntry(dir: string): string;
  /** Why no process can listen at `entry` here (a Unix socket path too long), or undefined. */
  entryProblem(entry: string): string | undefined;
  /** Listens on `server`, then makes the entry findable. */
  listen(server: net.Server, entry: string, log: (message: string) => void): Promise<Endpoint>;
  /** The other processes' entries in `dir` (all but `own`). */
  others(dir: string, own: string): Promise<string[]>;
  /**
   * Connects to the process of an entry. Resolves with a socket ready for messages, or undefined
   * when it is not one to talk to (not this person's, its process dead: then removed) or `stopped()` says so.
   */
  dial(entry: string, log: (message: string) => void, stopped: () => boolean): Promise<net.Socket | undefined>;
  /** Removes the entry of a process that has ended. */
  removeStale(entry: string, pid: number, log: (message: string) => void): void;
}

/** Instances started in this process. */
let instances = 0;

/** `<pid>.<ext>`, or `<pid>-<n>.<ext>` for a further instance in one process (tests). */
export function entryPath(dir: string, ext: string): string {
  return path.join(dir, instances++ === 0 ? `${process.pid}.${ext}` : `${process.pid}-${instances}.${ext}`);
}

/**
 * Dials `address`: the connected socket, or why not (the socket destroyed). Undefined, the socket
 * destroyed, once `stopped()` says this process is shutting down.
 */
export async function connectTo(address: string, stopped: () => boolean): Promise<net.Socket | NodeJS.ErrnoException | undefined> {
  const socket = net.connect(address);
  const outcome = await new Promise<'connected' | NodeJS.ErrnoException>((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('error', (err) => resolve(err));
  });
  if (outcome === 'connected' && !stopped()) return socket;
  socket.destroy();
  return stopped() ? undefined : (outcome as NodeJS.ErrnoException);
}
