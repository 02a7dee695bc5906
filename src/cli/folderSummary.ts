/**
 * What a folder's settings would do on this machine, in words a person can judge before allowing
 * them: the commands they run, what they expose and where they listen first, then the servers
 * they connect to. Read with the same parsers the command uses, so what is shown is what runs.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { validateServerSettings } from '../config/serverSettings';
import { defaultSshConfigPath } from '../config/servers';
import { loadSshConfig, type LoadedSshConfig } from '../config/sshConfigLoad';
import { parseTunnelSettings, SECTION } from '../config/tunnelSettings';
import { configuredTarget, expandHome, localEnd, remoteEnd } from '../engine';
import { isLoopback } from '../tools';

/** The settings VS Code keeps from an untrusted workspace (package.json restrictedConfigurations). */
export const RESTRICTED_KEYS = ['servers', 'tunnels', 'sshConfigFile'].map((key) => `${SECTION}.${key}`);

export interface SummaryItem {
  /** Runs a command, exposes this machine, listens beyond loopback, or changes where hosts lead. */
  danger: boolean;
  text: string;
}

/** The restricted keys a settings record sets. */
export function restrictedKeys(settings: Record<string, unknown>): string[] {
  return RESTRICTED_KEYS.filter((key) => settings[key] !== undefined);
}

/** The `sshConfigFile` a folder's settings name, as a full path (relative to the folder), if any. */
export function settingsConfigPath(settings: Record<string, unknown>, folder: string, home = os.homedir()): string | undefined {
  const value = settings[`${SECTION}.sshConfigFile`];
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  return path.resolve(folder, expandHome(value.trim(), home));
}

/** The ssh config a folder's settings name, read without running anything (no `Match exec`). */
export function loadSettingsConfig(settings: Record<string, unknown>, folder: string, home = os.homedir()): LoadedSshConfig | undefined {
  const file = settingsConfigPath(settings, folder, home);
  return file === undefined ? undefined : loadSshConfig(file, { home, allowExec: false });
}

const quote = (name: string) => JSON.stringify(name);

/** What the settings would do, dangers first. Empty when they set none of the restricted keys. */
export function summarizeSettings(settings: Record<string, unknown>, folder: string, home = os.homedir()): SummaryItem[] {
  const items: SummaryItem[] = [];
  const add = (danger: boolean, text: string) => items.push({ danger, text });

  const config = loadSettingsConfig(settings, folder, home);
  if (config) {
    const own = config.path === defaultSshConfigPath(home);
    add(!own, `reads its SSH hosts from ${config.path}${own ? '' : ' instead of your ~/.ssh/config'}`);
    const segments = new Map([...config.general, ...[...config.byHost.values()].flat()].map((s) => [s.seq, s]));
    for (const segment of [...segments.values()].sort((a, b) => a.seq - b.seq)) {
      for (const line of segment.lines) {
        if (line.key === 'proxycommand' && line.rest.toLowerCase() !== 'none') add(true, `runs the command: ${line.rest}  (ProxyCommand at ${line.file}:${line.line})`);
      }
    }
  }

  for (const server of validateServerSettings(settings[`${SECTION}.servers`]).servers) {
    const name = quote(server.alias);
    if (server.proxyCommand) add(true, `runs the command: ${server.proxyCommand}  (proxyCommand of server ${name})`);
    if (server.strictHostKeyChecking === 'no') add(true, `accepts any host key from server ${name} (strictHostKeyChecking "no")`);
    const where = configuredTarget(server);
    add(false, `connects to server ${name} at ${where}${server.proxyJump ? ` through ${server.proxyJump}` : ''}`);
  }

  for (const { spec } of parseTunnelSettings(settings[`${SECTION}.tunnels`], true).tunnels) {
    const server = `server ${quote(spec.server)}`;
    const tunnel = spec.name ? ` (tunnel ${quote(spec.name)})` : '';
    const local = localEnd(spec);
    if (spec.type === 'remote') {
      const listen = remoteEnd(spec);
      const open = spec.remotePath === undefined && !isLoopback(spec.remoteHost ?? '127.0.0.1') ? ', open to its network' : '';
      const what = spec.socks ? "a SOCKS proxy into this machine's network" : `${local} of this machine`;
      add(true, `exposes ${what} on ${server}, which listens on ${listen}${open}${tunnel}`);
      continue;
    }
    const open = spec.localPath === undefined && !isLoopback(spec.localHost ?? '127.0.0.1');
    const what = spec.type === 'dynamic' ? `a SOCKS proxy through ${server}` : `forwards to ${remoteEnd(spec)} through ${server}`;
    add(open, `listens on ${local}${open ? ', open to other machines,' : ':'} ${what}${tunnel}`);
  }
  // Stable: within each group, the order of the file.
  return [...items.filter((i) => i.danger), ...items.filter((i) => !i.danger)];
}

/**
 * Text from a settings file as the terminal should show it: control characters (an escape
 * sequence could erase or hide the line that names a command) and bidirectional overrides
 * written out as \x.. / \u.... instead of acting on the screen.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** The summary as indented lines, dangers marked with "!". */
export function formatSummary(items: readonly SummaryItem[]): string {
  if (items.length === 0) return '    nothing it could use (no valid server, tunnel or ssh config)';
  return items.map((i) => `  ${i.danger ? '!' : ' '} ${printable(i.text)}`).join('\n');
}
