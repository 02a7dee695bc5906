// The folder where each process of one person leaves its way in (a Unix socket, or on Windows a
// file naming its pipe): private to that person, or not used at all. The platform is a parameter,
// so tests cover Windows, macOS and Linux alike.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { envValue, pathsOf, unixSocketPathMax } from '../engine';

/** Where the folder is looked for; every part defaults to this process's. */
export interface RuntimePlace {
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  home?: string;
  uid?: number;
}

/** The longest entry name a process gives itself (`<pid>-<n>.sock`): what a folder's length is checked against. */
export const LONGEST_ENTRY = '4294967295-9999.sock';

/**
 * `$SSH_TUNNELS_RUNTIME_DIR`, else the platform's place: `%LOCALAPPDATA%\ssh-tunnels\run` on
 * Windows (in the person's own profile), `$XDG_RUNTIME_DIR/ssh-tunnels`, else a folder under the
 * home. A Unix folder too deep for a socket path there (macOS allows 103 bytes; a `$TMPDIR` path
 * takes half) gives way to `/tmp/ssh-tunnels-<uid>`, the same for every process of the person.
 */
export function defaultRuntimeDir(place: RuntimePlace = {}): string {
  const platform = place.platform ?? process.platform;
  const env = place.env ?? process.env;
  const home = place.home ?? os.homedir();
  const own = envValue('SSH_TUNNELS_RUNTIME_DIR', env, platform);
  if (platform === 'win32') {
    const local = envValue('LOCALAPPDATA', env, platform) || path.win32.join(home, 'AppData', 'Local');
    return own || path.win32.join(local, 'ssh-tunnels', 'run');
  }
  const dir = own || (env.XDG_RUNTIME_DIR ? path.posix.join(env.XDG_RUNTIME_DIR, 'ssh-tunnels') : path.posix.join(home, '.local', 'state', 'ssh-tunnels', 'run'));
  if (Buffer.byteLength(path.posix.join(dir, LONGEST_ENTRY)) <= unixSocketPathMax(platform)) return dir;
  return `/tmp/ssh-tunnels-${place.uid ?? process.getuid?.() ?? 0}`;
}

/**
 * Creates the folder if missing and checks that it is one no one else can use. On Linux and
 * macOS: a real folder (no link) of this user, mode 0700. On Windows, where modes mean nothing
 * and Node cannot read a file's owner: a real folder (no link or junction) inside the person's
 * profile, which Windows keeps to its owner (the peers then prove to each other that they can read
 * it). Returns why it cannot be used, or undefined when it can. Synchronous and cheap (a mkdir and
 * an lstat): it runs while a window activates.
 */
export function checkRuntimeDir(dir: string, place: RuntimePlace = {}): string | undefined {
  const platform = place.platform ?? process.platform;
  const uid = platform === 'win32' ? undefined : (place.uid ?? process.getuid?.());
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    return `cannot be created (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  if (stat.isSymbolicLink()) return 'is a symbolic link';
  if (!stat.isDirectory()) return 'is not a folder';
  if (platform === 'win32') return outsideProfile(dir, place);
  if (uid !== undefined && stat.uid !== uid) return `is owned by uid ${stat.uid}, not by this user (uid ${uid})`;
  if ((stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    return `is ${stat.mode & 0o022 ? 'writable' : 'readable'} by others (mode ${mode}; it must be 0700)`;
  }
  return undefined;
}

/** Windows: why `dir` is not a place only this person can read (outside their profile), or undefined. */
function outsideProfile(dir: string, place: RuntimePlace): string | undefined {
  const win = pathsOf('win32');
  const profile = win.resolve(envValue('USERPROFILE', place.env ?? process.env, 'win32') || (place.home ?? os.homedir()));
  const relative = win.relative(profile.toLowerCase(), win.resolve(dir).toLowerCase());
  if (relative && !relative.startsWith('..') && !win.isAbsolute(relative)) return undefined;
  return `is outside your profile folder ${profile} (which Windows keeps to you): other users may read it`;
}

/** Why a socket found in the folder is not one to connect to, or undefined when it is. */
export function checkPeerSocket(file: string): { problem?: string; gone?: boolean } {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return { gone: true };
  }
  if (!stat.isSocket()) return { problem: 'is not a socket' };
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return { problem: `is owned by uid ${stat.uid}, not by this user` };
  return {};
}
