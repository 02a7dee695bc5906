/**
 * The command's composition root: the same engine and config layer as the extension, over
 * ~/.ssh/config and (when a workspace is given) the folder's .vscode/settings.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ServerRegistry } from '../config/servers';
import { folderSettingsFile, parseTunnelSettings, readSettingsFile, SECTION, supervisionSettings, type ConfiguredTunnel } from '../config/tunnelSettings';
import { expandTilde } from '../config/sshConfigLoad';
import { TunnelManager, type Prompts, type ReconnectPolicy } from '../engine';
import { UsageError } from './args';

export interface CliHostOptions {
  /** A folder whose .vscode/settings.json adds servers and tunnels; none reads only ~/.ssh/config. */
  workspace?: string;
  /** OpenSSH client config to read instead of the settings' or ~/.ssh/config (as ssh -F). */
  sshConfig?: string;
  prompts?: Prompts;
  log: (message: string) => void;
  /** What the command adds to the settings' reconnect policy (`up` waits for a server down at start). */
  reconnect?: Pick<ReconnectPolicy, 'retryFirstConnect' | 'retryRefusals'>;
}

export interface CliHost {
  manager: TunnelManager;
  servers: ServerRegistry;
  /** The `sshTunnels.tunnels` of the workspace's settings. */
  configured: ConfiguredTunnel[];
  /** The settings file read, if a workspace was given. */
  settingsFile?: string;
  /** Problems of the settings and the ssh config, one message each. */
  problems(): string[];
  dispose(): Promise<void>;
}

export function createCliHost(options: CliHostOptions): CliHost {
  let settings: Record<string, unknown> = {};
  let settingsFile: string | undefined;
  if (options.workspace !== undefined) {
    const folder = path.resolve(options.workspace);
    if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) throw new UsageError(`--workspace ${options.workspace}: no such folder.`);
    settingsFile = folderSettingsFile(folder);
    try {
      settings = readSettingsFile(settingsFile);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const get = <T>(key: string, fallback: T): T => (settings[`${SECTION}.${key}`] as T | undefined) ?? fallback;
  const setting = get<unknown>('sshConfigFile', '');
  const configFile = (options.sshConfig ?? (typeof setting === 'string' ? setting : '')).trim();
  if (options.sshConfig !== undefined) {
    // As ssh -F: a config named on the command line must be there (~/.ssh/config may be missing).
    try {
      fs.accessSync(expandTilde(options.sshConfig, os.homedir()), fs.constants.R_OK);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (err as Error).message;
      throw new UsageError(`Can't open user config file ${options.sshConfig}: ${why}`);
    }
  }
  const servers = new ServerRegistry({
    // The registry expands a leading ~ itself; other relative paths are relative to here.
    configPath: configFile === '' ? undefined : configFile.startsWith('~') ? configFile : path.resolve(configFile),
    settings: settings[`${SECTION}.servers`],
  });
  const tunnels = parseTunnelSettings(settings[`${SECTION}.tunnels`], true);
  const supervision = supervisionSettings(get);
  const reconnect = { ...supervision.reconnect, ...options.reconnect };
  const manager = new TunnelManager({ servers, prompts: options.prompts, log: options.log, ...supervision, reconnect });
  return {
    manager,
    servers,
    configured: tunnels.tunnels,
    settingsFile,
    problems: () => [...new Set([...tunnels.problems, ...servers.problems()])],
    async dispose() {
      await manager.dispose();
      servers.dispose();
    },
  };
}
