// The folder where each process of one person listens on its own Unix socket: private to that
// person, or not used at all.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Longest path a Unix socket address holds on Linux (sun_path is 108 bytes with its NUL); macOS allows 103. */
export const SOCKET_PATH_MAX = process.platform === 'darwin' ? 103 : 107;

/** `$SSH_TUNNELS_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/ssh-tunnels`, else a folder under the home. */
export function defaultRuntimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SSH_TUNNELS_RUNTIME_DIR) return env.SSH_TUNNELS_RUNTIME_DIR;
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'ssh-tunnels');
  return path.join(os.homedir(), '.local', 'state', 'ssh-tunnels', 'run');
}

/**
 * Creates the folder (0700) if missing and checks it is a real folder of this user that no one
 * else can write or read. Returns why it cannot be used, or undefined when it can. Synchronous
 * and cheap (a mkdir and an lstat): it runs while a window activates.
 */
export function checkRuntimeDir(dir: string): string | undefined {
  const uid = process.getuid?.();
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
  if (uid !== undefined && stat.uid !== uid) return `is owned by uid ${stat.uid}, not by this user (uid ${uid})`;
  if ((stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    return `is ${stat.mode & 0o022 ? 'writable' : 'readable'} by others (mode ${mode}; it must be 0700)`;
  }
  return undefined;
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
