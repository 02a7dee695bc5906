/**
 * The command's composition root: the same engine and config layer as the extension, over
 * ~/.ssh/config and (when a workspace is given) the folder's .vscode/settings.json, once the
 * person allowed that folder (folderAllow.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ServerRegistry } from '../config/servers';
import { parseTunnelSettings, SECTION, supervisionSettings, type ConfiguredTunnel } from '../config/tunnelSettings';
import { errorMessage, expandHome, installSsh2Adapter, reportListenerErrors, TunnelManager, type Prompts, type ReconnectPolicy } from '../engine';
import { UsageError } from './args';
import { ensureFolderAllowed, readFolderSettings, type FolderSettings } from './folderAllow';
import { settingsConfigPath } from './folderSummary';

export interface CliHostOptions {
  /** A folder whose .vscode/settings.json adds servers and tunnels; none reads only ~/.ssh/config. */
  workspace?: string;
  /** OpenSSH client config to read instead of the settings' or ~/.ssh/config (as ssh -F). */
  sshConfig?: string;
  prompts?: Prompts;
  log: (message: string) => void;
  /** Whether a folder not allowed yet may be asked about in the terminal (when stdin is one); `mcp` may not. */
  askAllow?: boolean;
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

export async function createCliHost(options: CliHostOptions): Promise<CliHost> {
  // Before anything is asked: an ssh2 the engine cannot run on is said at once.
  installSsh2Adapter();
  // A failing listener of an engine event is logged, not lost.
  reportListenerErrors((err) => options.log(`An event listener failed: ${errorMessage(err)}`));
  if (options.sshConfig !== undefined) {
    // As ssh -F: a config named on the command line must be there, before anything is asked (~/.ssh/config may be missing).
    try {
      fs.accessSync(expandHome(options.sshConfig, os.homedir()), fs.constants.R_OK);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (err as Error).message;
      throw new UsageError(`Can't open user config file ${options.sshConfig}: ${why}`);
    }
  }
  let settings: Record<string, unknown> = {};
  let settingsFile: string | undefined;
  let folder: FolderSettings | undefined;
  if (options.workspace !== undefined) {
    const dir = path.resolve(options.workspace);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`--workspace ${options.workspace}: no such folder.`);
    try {
      folder = readFolderSettings(dir);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    // Before anything of the settings is used: they may run commands and open tunnels.
    const ask = options.askAllow !== false && process.stdin.isTTY === true;
    await ensureFolderAllowed(folder, {
      io: ask ? { input: process.stdin, output: process.stderr } : undefined,
      whyNotAsked: options.askAllow === false ? 'an MCP server cannot ask (its stdin carries the protocol)' : undefined,
    });
    settings = folder.settings;
    settingsFile = folder.file;
  }
  const get = <T>(key: string, fallback: T): T => (settings[`${SECTION}.${key}`] as T | undefined) ?? fallback;
  const configFile = options.sshConfig?.trim();
  const servers = new ServerRegistry({
    // -F is relative to here (the registry expands a leading ~ itself); the setting, to its folder.
    configPath: configFile ? (configFile.startsWith('~') ? configFile : path.resolve(configFile)) : folder && settingsConfigPath(settings, folder.folder),
    settings: settings[`${SECTION}.servers`],
    // The person's own config (or -F, or a folder they allowed above): its Match exec runs, as with ssh.
    env: { allowExec: true },
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
