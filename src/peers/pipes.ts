// The Windows way: each process listens on a named pipe whose name carries the person's user name
// and a random part, and leaves a file `<pid>.pipe` in the runtime folder (in the person's
// profile) with the pipe's name and a key. Only someone who can read that file can prove to the
// listener that they are this person, and only the listener can prove it back (pipeAuth.ts):
// Windows lists every pipe to every user and lets them open it for reading.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { errorMessage } from '../engine';
import { checkDialler, proveToListener } from './pipeAuth';
import { connectTo, entryPath, type Endpoint, type Transport } from './transport';

/** `<pid>.pipe`, or `<pid>-<n>.pipe` for a further instance in one process. */
export const PIPE_ENTRY = /^(\d+)(?:-\d+)?\.pipe$/;

/** The folder of Windows' named pipes. */
export const PIPE_DIR = '\\\\.\\pipe\\';

export interface PipePlace {
  /** The folder of named pipes: a test points it at a folder of Unix sockets standing in for them. */
  pipeDir?: string;
  /** The user the pipe is named for. */
  user?: string;
}

interface EntryFile {
  pipe: string;
  key: Buffer;
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USERNAME ?? 'user';
  }
}

/** What a `<pid>.pipe` file says, or why it is not one to follow. */
function readEntry(file: string, pipeDir: string): EntryFile | { gone: true } | { problem: string } {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return { gone: true };
  }
  if (!stat.isFile()) return { problem: 'is not a file' };
  let value: { pipe?: unknown; key?: unknown };
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof value;
  } catch (err) {
    // Being written by its process this very moment, or garbage: either way not one to dial now.
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { gone: true } : { problem: 'does not name a pipe' };
  }
  const pipe = value?.pipe;
  const key = value?.key;
  // Only a pipe of ours in the pipe folder: the file must not lead a connection elsewhere.
  if (typeof pipe !== 'string' || !pipe.startsWith(pipeDir) || !/^ssh-tunnels\.[^\\/]+\.[0-9a-f]{32}$/.test(pipe.slice(pipeDir.length))) return { problem: 'does not name a pipe of ssh-tunnels' };
  if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key)) return { problem: 'has no key' };
  return { pipe, key: Buffer.from(key, 'hex') };
}

function removeEntry(file: string, pid: number, log: (message: string) => void, pipe?: string): void {
  try {
    // Never a link; and only the file as it was found (a new process under that pid may have written its own).
    if (!fs.lstatSync(file).isFile()) return;
    if (pipe !== undefined && (JSON.parse(fs.readFileSync(file, 'utf8')) as { pipe?: unknown }).pipe !== pipe) return;
  } catch {
    return;
  }
  try {
    fs.unlinkSync(file);
    log(`Removed the stale entry ${file}: its process (pid ${pid}) has ended.`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log(`Could not remove the stale entry ${file}: ${errorMessage(err)}`);
  }
}

/** Named pipes found through files in the runtime folder, each connection proved both ways. */
export function pipeTransport(place: PipePlace = {}): Transport {
  const pipeDir = place.pipeDir ?? PIPE_DIR;
  // Pipe names take most characters; these keep the name plain to read in a list of pipes.
  const user = (place.user ?? currentUser()).replace(/[^A-Za-z0-9_.-]/g, '_') || 'user';
  return {
    entryName: PIPE_ENTRY,
    ownEntry: (dir) => entryPath(dir, 'pipe'),
    entryProblem: () => undefined,
    async listen(server, file, log): Promise<Endpoint> {
      const pipe = `${pipeDir}ssh-tunnels.${user}.${randomBytes(16).toString('hex')}`;
      const key = randomBytes(32);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(pipe, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => log(`listening on ${pipe}: ${errorMessage(err)}`));
      // A file under our pid was left by an earlier process with the same pid: it is gone. Then
      // created anew, never written through: whatever was at that name is not followed.
      fs.rmSync(file, { force: true });
      fs.writeFileSync(file, JSON.stringify({ pipe, key: key.toString('hex') }) + '\n', { flag: 'wx', mode: 0o600 });
      let listed = true;
      return {
        address: pipe,
        async accept(socket) {
          try {
            await checkDialler(socket, pipe, key);
            return true;
          } catch (err) {
            log(`A connection to ${pipe} did not prove it is yours (${errorMessage(err)}): disconnected.`);
            socket.destroy();
            return false;
          }
        },
        remove() {
          if (!listed) return;
          listed = false;
          removeEntry(file, process.pid, () => undefined, pipe);
        },
      };
    },
    async others(dir, own) {
      const names = await fs.promises.readdir(dir);
      return names.filter((n) => PIPE_ENTRY.test(n) && n !== path.basename(own)).map((n) => path.join(dir, n));
    },
    async dial(file, log, stopped) {
      const entry = readEntry(file, pipeDir);
      if ('gone' in entry) return undefined;
      if ('problem' in entry) {
        log(`${file} ${entry.problem}: ignored, not connected to.`);
        return undefined;
      }
      const pid = Number(PIPE_ENTRY.exec(path.basename(file))![1]);
      const socket = await connectTo(entry.pipe, stopped);
      if (socket === undefined) return undefined;
      if (!(socket instanceof net.Socket)) {
        // A pipe goes with its listener, and the file is written only once it listens: its process has ended.
        if (socket.code === 'ENOENT') removeEntry(file, pid, log, entry.pipe);
        else log(`${entry.pipe}: ${socket.code ?? socket.message}; ignored.`);
        return undefined;
      }
      socket.on('error', () => undefined);
      try {
        await proveToListener(socket, entry.pipe, entry.key);
      } catch (err) {
        log(`${entry.pipe} (named in ${file}) did not prove it is yours (${errorMessage(err)}): disconnected.`);
        socket.destroy();
        return undefined;
      }
      return stopped() ? (socket.destroy(), undefined) : socket;
    },
    removeStale: (file, pid, log) => removeEntry(file, pid, log),
  };
}
