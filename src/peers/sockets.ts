// The Unix way (Linux, macOS): each process listens on a socket in the runtime folder, created
// for this user only; the others find it there, dial it, and remove it once its process died.
// The kernel checks who connects (the folder's 0700 and the socket's 0600).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { errorMessage, socketPathProblem } from '../engine';
import { alive } from './processes';
import { checkPeerSocket } from './runtimeDir';
import { connectTo, entryPath, type Endpoint, type Transport } from './transport';

/** `<pid>.sock`, or `<pid>-<n>.sock` for a further instance in one process. */
export const SOCKET_NAME = /^(\d+)(?:-\d+)?\.sock$/;

/** Tries of a socket that refuses while its process lives (it may be between bind and listen). */
const REFUSED_RETRIES = 3;

/** Makes `server` listen on `socketPath`, for this user only; resolves with the socket's inode. */
async function listenPrivately(server: net.Server, socketPath: string, log: (message: string) => void): Promise<number> {
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

async function dial(file: string, log: (message: string) => void, stopped: () => boolean, attempt = 1): Promise<net.Socket | undefined> {
  const check = checkPeerSocket(file);
  if (check.gone) return undefined;
  if (check.problem) {
    log(`${file} ${check.problem}: ignored, not connected to.`);
    return undefined;
  }
  const pid = Number(SOCKET_NAME.exec(path.basename(file))![1]);
  const outcome = await connectTo(file, stopped);
  if (outcome === undefined || outcome instanceof net.Socket) return outcome;
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

function removeStale(file: string, pid: number, log: (message: string) => void): void {
  // Only a socket of ours: a file that changed meanwhile is left alone.
  if (checkPeerSocket(file).problem !== undefined) return;
  try {
    fs.unlinkSync(file);
    log(`Removed the stale socket ${file}: its process (pid ${pid}) has ended.`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log(`Could not remove the stale socket ${file}: ${errorMessage(err)}`);
  }
}

/** Unix sockets; `platform` decides how long a socket path may be. */
export function socketTransport(platform: NodeJS.Platform = process.platform): Transport {
  return {
    entryName: SOCKET_NAME,
    ownEntry: (dir) => entryPath(dir, 'sock'),
    entryProblem: (entry) => socketPathProblem(entry, platform),
    async listen(server, socketPath, log): Promise<Endpoint> {
      // A socket under our pid was left by an earlier process with the same pid: it is gone.
      if (checkPeerSocket(socketPath).problem === undefined) fs.rmSync(socketPath, { force: true });
      let ino: number | undefined = await listenPrivately(server, socketPath, log);
      return {
        address: socketPath,
        accept: () => Promise.resolve(true),
        remove() {
          if (ino === undefined) return;
          try {
            // Only our own socket: never one that replaced it.
            if (fs.lstatSync(socketPath).ino === ino) fs.unlinkSync(socketPath);
          } catch {
            // gone already
          }
          ino = undefined;
        },
      };
    },
    async others(dir, own) {
      const names = await fs.promises.readdir(dir);
      return names.filter((n) => SOCKET_NAME.test(n) && n !== path.basename(own)).map((n) => path.join(dir, n));
    },
    dial: (file, log, stopped) => dial(file, log, stopped),
    removeStale,
  };
}
