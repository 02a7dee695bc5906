/**
 * How ssh runs the commands of a config (ProxyCommand, `Match exec`) on each platform: through
 * the user's shell (`$SHELL -c`) on Linux and macOS, through cmd.exe (`%ComSpec% /c`, as
 * Windows' ssh.exe does with system()) on Windows; and how such a command is ended with what it
 * started. The platform and environment are parameters, so tests cover all three.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { envValue, type PlatformEnv } from './paths';

export interface ShellCommand {
  file: string;
  args: string[];
  /** cmd.exe parses its own command line: Node must pass it as written (what `shell: true` does). */
  windowsVerbatimArguments?: boolean;
}

/**
 * The program and arguments that run `command` as ssh would. `replace`: the shell becomes the
 * command (`exec`, as ssh runs a ProxyCommand), so it does not linger as a parent; cmd.exe has no such thing.
 */
export function shellCommand(command: string, place: PlatformEnv & { replace?: boolean } = {}): ShellCommand {
  const platform = place.platform ?? process.platform;
  const env = place.env ?? process.env;
  if (platform === 'win32') {
    // As Node's `shell: true`: /d skips AutoRun scripts, /s keeps the quotes of the command itself.
    return { file: envValue('ComSpec', env, platform) || 'cmd.exe', args: ['/d', '/s', '/c', `"${command}"`], windowsVerbatimArguments: true };
  }
  return { file: env.SHELL || '/bin/sh', args: ['-c', place.replace ? `exec ${command}` : command] };
}

/**
 * How to end a command and everything it started, when it runs through cmd.exe: killing cmd.exe
 * alone would leave the program it runs behind (Windows has no process groups to signal).
 * Undefined elsewhere: a signal to the process (group) does it there.
 */
export function treeKillCommand(pid: number, platform: NodeJS.Platform = process.platform): ShellCommand | undefined {
  return platform === 'win32' ? { file: 'taskkill', args: ['/pid', String(pid), '/T', '/F'] } : undefined;
}

/**
 * Ends a command run through cmd.exe with everything it started (taskkill /T), or cmd.exe alone
 * where taskkill cannot (Wine's has no /T). False off Windows: the caller signals it there.
 */
export function endCommandTree(child: ChildProcess, platform: NodeJS.Platform = process.platform): boolean {
  const tree = child.pid === undefined ? undefined : treeKillCommand(child.pid, platform);
  if (!tree) return false;
  const alone = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  };
  spawn(tree.file, tree.args, { stdio: 'ignore', windowsHide: true })
    .on('error', alone)
    .on('exit', (code) => code !== 0 && alone());
  return true;
}
