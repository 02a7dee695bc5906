// `ssh-tunnels allow [DIR]` and `ssh-tunnels deny [DIR]`: the person allows (or forgets) a folder's
// settings ahead of time, as direnv's allow and deny; the way in for `mcp --workspace` and scripts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeOptions, parseArgs, UsageError, type OptionSpec } from './args';
import { allowFolder, allowState, denyFolder, readFolderSettings, shellQuote } from './folderAllow';
import { formatSummary, printable, RESTRICTED_KEYS } from './folderSummary';

const OPTIONS: OptionSpec[] = [{ flags: ['--help', '-h'], key: 'help', help: 'show this help' }];

export const ALLOW_HELP = `Usage: ssh-tunnels allow [DIR]

Allows the settings of DIR/.vscode/settings.json (default: the current folder) on this machine.
A folder's ${RESTRICTED_KEYS.join(', ')} can run commands
(proxyCommand) and open tunnels that expose this machine, so "up", "mcp --workspace" and
"trust --workspace" use them only once the folder is allowed: "up" and "trust" ask in the
terminal, "mcp" and anything without a terminal refuse. This command shows what the settings
would do and allows them until the file changes (then they are asked about again), as direnv's
"allow" does for an .envrc. Your own ~/.ssh/config and a -F FILE need no allow.

Allows are kept in $XDG_DATA_HOME/ssh-tunnels/allow (default ~/.local/share/ssh-tunnels/allow).

Options:
${describeOptions(OPTIONS)}
`;

export const DENY_HELP = `Usage: ssh-tunnels deny [DIR]

Forgets the allow of DIR's .vscode/settings.json (default: the current folder): "up" asks again,
"mcp --workspace" refuses the folder. See "ssh-tunnels allow --help".

Options:
${describeOptions(OPTIONS)}
`;

/** The one folder a command names (default: the current one). */
function folderArgument(argv: string[], command: string): string | undefined {
  const { options, positionals } = parseArgs(argv, OPTIONS, command);
  if (options.help) return undefined;
  if (positionals.length > 1) throw new UsageError(`Name one folder: ssh-tunnels ${command} [DIR]`);
  return path.resolve(positionals[0] ?? process.cwd());
}

export async function runAllow(argv: string[]): Promise<number> {
  const dir = folderArgument(argv, 'allow');
  if (dir === undefined) {
    process.stdout.write(ALLOW_HELP);
    return 0;
  }
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${dir}: no such folder.`);
  let settings;
  try {
    settings = readFolderSettings(dir);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (allowState(settings) === 'not-needed') {
    const what = fs.existsSync(settings.file) ? `${settings.file} sets none of ${RESTRICTED_KEYS.join(', ')}` : `${settings.folder} has no .vscode/settings.json`;
    process.stdout.write(`Nothing to allow: ${printable(what)}.\n`);
    return 0;
  }
  allowFolder(settings);
  process.stdout.write(
    `Allowed the settings of ${printable(settings.folder)} (${printable(settings.file)}). What they do:\n${formatSummary(settings.summary)}\n` +
      `They are used until the file changes; "ssh-tunnels deny ${shellQuote(settings.folder)}" forgets them.\n`,
  );
  return 0;
}

export async function runDeny(argv: string[]): Promise<number> {
  const dir = folderArgument(argv, 'deny');
  if (dir === undefined) {
    process.stdout.write(DENY_HELP);
    return 0;
  }
  // A folder already deleted can still be forgotten, under the path it had.
  let folder = dir;
  try {
    folder = fs.realpathSync(dir);
  } catch {
    // keep the path as given
  }
  const removed = denyFolder(folder);
  process.stdout.write(removed > 0 ? `Denied: the settings of ${folder} are no longer allowed on this machine.\n` : `${folder} was not allowed; nothing to forget.\n`);
  return 0;
}
