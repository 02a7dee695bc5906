/**
 * Which ssh-agent a login asks, found as ssh finds it on each platform: `IdentityAgent`, then
 * `SSH_AUTH_SOCK`; on Windows, where that is usually unset, then the named pipe of Windows' own
 * OpenSSH agent (`\\.\pipe\openssh-ssh-agent`, also what 1Password and others serve), then
 * Pageant's (`\\.\pipe\pageant.<user>.<hash>`, PuTTY 0.75+). Pageant's pipe name hides a hash
 * only Windows' CryptProtectMemory can make, so it is found by listing the pipes. No helper
 * program is run (ssh2's own Pageant client runs one the bundle does not carry).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { envValue, expandUserPath, socketPathProblem, type PlatformEnv } from '../base/paths';

/** The folder of Windows' named pipes. */
export const WINDOWS_PIPE_DIR = '\\\\.\\pipe\\';
/** The pipe Windows' ssh.exe asks when SSH_AUTH_SOCK is unset (the "OpenSSH Authentication Agent" service). */
export const OPENSSH_AGENT_PIPE = 'openssh-ssh-agent';

/** Where the agent is looked for; every part defaults to this process's. */
export interface AgentPlace extends PlatformEnv {
  /** The home folder for `~`. */
  home?: string;
  /** The user Pageant names its pipe for. */
  user?: string;
  /** The folder of named pipes: a test points it at a folder of Unix sockets standing in for them. */
  pipeDir?: string;
  /** The names in `pipeDir` (fs.readdirSync; on Windows it lists the pipes). */
  listPipes?: (dir: string) => string[];
}

export interface AgentChoice {
  /** A Unix socket or a named pipe: what `net.connect({ path })` takes. */
  path: string;
  /** Where it was found, for messages. */
  source: 'IdentityAgent' | 'SSH_AUTH_SOCK' | 'the Windows OpenSSH agent' | 'Pageant';
}

/** Whether `p` names a Windows named pipe (`\\.\pipe\…`, either slash), as ssh2 tells them apart. */
export function isWindowsPipe(p: string): boolean {
  return /^[/\\][/\\]\.[/\\]pipe[/\\].+/.test(p);
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USERNAME ?? process.env.USER ?? '';
  }
}

/**
 * The agent a login asks: `configured` (IdentityAgent, already expanded; false for `none`),
 * else the platform's default. Undefined when there is none.
 */
export function findAgent(configured: string | false | undefined, place: AgentPlace = {}): AgentChoice | undefined {
  if (configured === false) return undefined;
  // As written in settings too: `~/…`, and `%VAR%` on Windows.
  if (configured) return { path: expandUserPath(configured, place.home, place), source: 'IdentityAgent' };
  const platform = place.platform ?? process.platform;
  const fromEnv = envValue('SSH_AUTH_SOCK', place.env ?? process.env, platform);
  if (fromEnv) return { path: fromEnv, source: 'SSH_AUTH_SOCK' };
  if (platform !== 'win32') return undefined;
  const dir = place.pipeDir ?? WINDOWS_PIPE_DIR;
  let pipes: string[];
  try {
    pipes = (place.listPipes ?? ((d) => fs.readdirSync(d)))(dir);
  } catch {
    // The pipes cannot be listed: ask the one ssh.exe asks, which fails plainly if nothing serves it.
    return { path: dir + OPENSSH_AGENT_PIPE, source: 'the Windows OpenSSH agent' };
  }
  const openssh = pipes.find((p) => p.toLowerCase() === OPENSSH_AGENT_PIPE);
  if (openssh) return { path: dir + openssh, source: 'the Windows OpenSSH agent' };
  // Pageant names its pipe for the user (Windows compares user names without case); another user's is never asked.
  const user = (place.user ?? currentUser()).toLowerCase();
  const pageant = pipes.find((p) => {
    const m = /^pageant\.(.+)\.[0-9a-f]{16,}$/i.exec(p);
    return m !== null && m[1].toLowerCase() === user;
  });
  return pageant ? { path: dir + pageant, source: 'Pageant' } : undefined;
}

/** Why the agent at `agentPath` cannot be reached from here (a Unix socket path too long for the platform), or undefined. */
export function agentPathProblem(agentPath: string, platform: NodeJS.Platform = process.platform): string | undefined {
  if (isWindowsPipe(agentPath)) return undefined;
  // `IdentityAgent \\.\pipe\x` as written: ssh reads \\ in a config as one backslash (so does Windows' ssh.exe since 8.9).
  if (platform === 'win32' && /^[/\\]\.[/\\]pipe[/\\]/.test(agentPath)) {
    const name = agentPath.slice(8);
    return `it names no pipe: a config reads \\\\ as one backslash, so write IdentityAgent //./pipe/${name} (as Pageant writes it) or \\\\\\\\.\\\\pipe\\\\${name}`;
  }
  const problem = socketPathProblem(agentPath, platform);
  // ssh refuses such a path too; a shorter link to the socket is the usual way round it.
  return problem && `${problem}: set IdentityAgent to a shorter path, such as a link made with ln -s "${agentPath}" ~/.ssh/agent.sock`;
}
