/**
 * A folder's settings do nothing on this machine until the person allows that folder, as direnv
 * allows an .envrc: a cloned repository's .vscode/settings.json can run commands (proxyCommand)
 * and expose this machine (remote forwards), so the command asks first, as VS Code's workspace
 * trust does for the same settings. An allow is remembered against a hash of the file's bytes
 * (and of the ssh config it names), so any change asks again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { envValue } from '../engine';
import { folderSettingsFile, parseSettingsText } from '../config/tunnelSettings';
import { formatSummary, loadSettingsConfig, printable, restrictedKeys, summarizeSettings, type SummaryItem } from './folderSummary';
import { readLine, type TerminalStreams } from './terminal';

export interface FolderSettings {
  /** The folder's real path (symbolic links resolved): what an allow is for. */
  folder: string;
  file: string;
  /** The settings, parsed from the very bytes that were hashed. */
  settings: Record<string, unknown>;
  /** sha256 of the settings file, and of the ssh config files it names when it names one. */
  digest: string;
  /** The restricted keys it sets; none means there is nothing to allow. */
  restricted: string[];
  summary: SummaryItem[];
}

/** A folder's settings as the command would use them. A broken file throws an Error that names it. */
export function readFolderSettings(dir: string, home = os.homedir()): FolderSettings {
  const folder = fs.realpathSync(dir);
  const file = folderSettingsFile(folder);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`Cannot read ${file}: ${(err as Error).message}`);
    bytes = Buffer.alloc(0);
  }
  const settings = bytes.length === 0 ? {} : parseSettingsText(bytes.toString('utf8'), file);
  const hash = createHash('sha256').update(bytes);
  const config = loadSettingsConfig(settings, folder, home);
  // The ssh config the settings point to is part of what they do: its change asks again too.
  for (const configFile of config ? new Set([config.path, ...config.files]) : []) {
    hash.update(`\0${configFile}\0`);
    try {
      hash.update(fs.readFileSync(configFile));
    } catch {
      hash.update('\0missing');
    }
  }
  return { folder, file, settings, digest: hash.digest('hex'), restricted: restrictedKeys(settings), summary: summarizeSettings(settings, folder, home) };
}

/**
 * Where allows are kept: `%LOCALAPPDATA%\ssh-tunnels\allow` on Windows (beside the runtime
 * folder), else $XDG_DATA_HOME/ssh-tunnels/allow, else ~/.local/share/ssh-tunnels/allow.
 */
export function allowStore(env: NodeJS.ProcessEnv = process.env, home = os.homedir(), platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') {
    const local = envValue('LOCALAPPDATA', env, platform) || path.win32.join(home, 'AppData', 'Local');
    return path.win32.join(local, 'ssh-tunnels', 'allow');
  }
  const data = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(home, '.local', 'share');
  return path.join(data, 'ssh-tunnels', 'allow');
}

function entryName(folder: string, digest: string): string {
  return createHash('sha256').update(`${folder}\n${digest}`).digest('hex');
}

/** The allow files of a folder, whatever settings they were for. Bounded by the store's size. */
function entriesOf(store: string, folder: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(store);
  } catch {
    return [];
  }
  return names.filter((name) => {
    try {
      return fs.readFileSync(path.join(store, name), 'utf8').split('\n')[0] === folder;
    } catch {
      return false;
    }
  });
}

export type AllowState = 'not-needed' | 'allowed' | 'changed' | 'new';

export function allowState(s: FolderSettings, store = allowStore()): AllowState {
  if (s.restricted.length === 0) return 'not-needed';
  if (fs.existsSync(path.join(store, entryName(s.folder, s.digest)))) return 'allowed';
  return entriesOf(store, s.folder).length > 0 ? 'changed' : 'new';
}

/** Remembers the folder's settings as they are now (and forgets earlier versions of them). */
export function allowFolder(s: FolderSettings, store = allowStore()): string {
  fs.mkdirSync(store, { recursive: true, mode: 0o700 });
  // Only the person may read which folders they allowed, or add to them.
  fs.chmodSync(store, 0o700);
  const name = entryName(s.folder, s.digest);
  for (const old of entriesOf(store, s.folder)) if (old !== name) fs.rmSync(path.join(store, old), { force: true });
  const entry = path.join(store, name);
  fs.writeFileSync(entry, `${s.folder}\n`, { mode: 0o600 });
  return entry;
}

/** Forgets every allow of a folder; resolves to how many there were. */
export function denyFolder(folder: string, store = allowStore()): number {
  const entries = entriesOf(store, folder);
  for (const name of entries) fs.rmSync(path.join(store, name), { force: true });
  return entries.length;
}

/** A path as a shell takes it, for commands people copy. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./~-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The refusal of a folder that is not allowed: says what it would do and what allows it. */
export class FolderNotAllowedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FolderNotAllowedError';
  }
}

function describe(s: FolderSettings, state: AllowState): string {
  const head = state === 'changed' ? `The settings of ${s.folder} (${s.file}) changed since you allowed them. What they do now:` : `The settings of ${s.folder} (${s.file}) are not allowed on this machine yet. What they do:`;
  return `${printable(head)}\n${formatSummary(s.summary)}`;
}

export interface EnsureAllowedOptions {
  /** Where to ask; without it (no terminal, or stdio carries a protocol) the folder is refused. */
  io?: TerminalStreams;
  /** Why nothing can be asked, for the refusal (one line). */
  whyNotAsked?: string;
}

/** Resolves when the folder needs no allow, is allowed, or the person allows it now; else throws FolderNotAllowedError. */
export async function ensureFolderAllowed(s: FolderSettings, options: EnsureAllowedOptions, store = allowStore()): Promise<void> {
  const state = allowState(s, store);
  if (state === 'not-needed' || state === 'allowed') return;
  const allowCommand = printable(`ssh-tunnels allow ${shellQuote(s.folder)}`);
  if (!options.io) {
    throw new FolderNotAllowedError(
      `${describe(s, state)}\nRefused, nothing was run: ${options.whyNotAsked ?? 'there is no terminal to ask (stdin is not a terminal)'}.\nIf you trust these settings, allow them with: ${allowCommand}`,
    );
  }
  options.io.output.write(`${describe(s, state)}\n`);
  const answer = (await readLine(options.io, "Allow this folder's settings? [y/N] ", { echo: true }))?.trim().toLowerCase();
  if (answer !== 'y' && answer !== 'yes') {
    throw new FolderNotAllowedError(`Not allowed; nothing was run. To allow these settings later: ${allowCommand}`);
  }
  allowFolder(s, store);
  options.io.output.write(printable(`Allowed: ${s.folder}'s settings are used until the file changes (ssh-tunnels deny ${shellQuote(s.folder)} forgets them).`) + '\n');
}
