/**
 * Paths as ssh and people write them on each platform, and where ssh keeps its files there:
 * `~`, `~/…` (and `~\…`, `%USERPROFILE%`, `%VAR%` on Windows), the user's and the system's ssh
 * folders, and how long a Unix socket path may be. The platform and the environment are
 * parameters (this process's by default), so tests cover Windows, macOS and Linux alike.
 */
import * as os from 'node:os';
import * as path from 'node:path';

/** The platform the rules are read for, and its environment (`%VAR%`, `PROGRAMDATA`). */
export interface PlatformEnv {
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
}

/** Path functions of a platform: Windows' own for win32 (drive letters, `\`), POSIX's elsewhere. */
export function pathsOf(platform: NodeJS.Platform = process.platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** An environment variable as the platform looks it up: Windows ignores the case of its names. */
export function envValue(name: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform !== 'win32') return env[name];
  const key = Object.keys(env).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : env[key];
}

/**
 * `%NAME%` references to set variables, as cmd.exe and Windows people write paths
 * (`%USERPROFILE%\.ssh\id_ed25519`); elsewhere, and for unset names, the text stays as it is.
 * Names of one letter are left alone: `%d`, `%u`, `%h` are ssh's own tokens.
 */
export function expandWindowsVars(p: string, place: PlatformEnv = {}): string {
  const platform = place.platform ?? process.platform;
  if (platform !== 'win32') return p;
  return p.replace(/%([A-Za-z_][A-Za-z0-9_()]+)%/g, (whole, name: string) => envValue(name, place.env ?? process.env, platform) ?? whole);
}

/** `~` and `~/…` as ssh and a shell read them (and `~\…` on Windows): the home folder (`home`, the user's unless given). */
export function expandHome(p: string, home = os.homedir(), platform: NodeJS.Platform = process.platform): string {
  if (p === '~') return home;
  const slash = p.startsWith('~/') || (platform === 'win32' && p.startsWith('~\\'));
  return slash ? pathsOf(platform).join(home, p.slice(2)) : p;
}

/** A path as a person wrote it in settings or ssh_config, made usable: `%VAR%` (Windows), then `~`. */
export function expandUserPath(p: string, home = os.homedir(), place: PlatformEnv = {}): string {
  return expandHome(expandWindowsVars(p, place), home, place.platform);
}

/** A path under the home folder as people write it (`~/…`), for messages; others as they are. */
export function displayPath(p: string, home = os.homedir()): string {
  return p === home ? '~' : p.startsWith(home + path.sep) ? `~${p.slice(home.length)}` : p;
}

/** The user's ssh folder: `~/.ssh`, which on Windows is `%USERPROFILE%\.ssh` (the home folder Node reports). */
export function userSshDir(home = os.homedir(), platform: NodeJS.Platform = process.platform): string {
  return pathsOf(platform).join(home, '.ssh');
}

/** The system's ssh folder: `/etc/ssh`, or `%PROGRAMDATA%\ssh` where Windows' OpenSSH keeps ssh_config and ssh_known_hosts. */
export function systemSshDir(place: PlatformEnv = {}): string {
  const platform = place.platform ?? process.platform;
  if (platform !== 'win32') return '/etc/ssh';
  return path.win32.join(envValue('PROGRAMDATA', place.env ?? process.env, platform) || 'C:\\ProgramData', 'ssh');
}

/**
 * The longest Unix socket path connect() and listen() take, in bytes: sockaddr_un.sun_path
 * holds 108 bytes on Linux and 104 on macOS and the BSDs, the last one for the NUL.
 */
export function unixSocketPathMax(platform: NodeJS.Platform = process.platform): number {
  return platform === 'linux' ? 107 : 103;
}

/** Why `socketPath` cannot be a Unix socket's address on this platform (too long), or undefined. */
export function socketPathProblem(socketPath: string, platform: NodeJS.Platform = process.platform): string | undefined {
  const bytes = Buffer.byteLength(socketPath);
  const max = unixSocketPathMax(platform);
  if (platform === 'win32' || bytes <= max) return undefined;
  return `its path is ${bytes} bytes long; a Unix socket path can have at most ${max} on ${platform === 'darwin' ? 'macOS' : platform}`;
}
