// Reads the extension's settings with workspace trust applied, and `sshTunnels.tunnels` as the
// tunnels people defined (the servers are read by src/config/servers.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseJsonc } from '../config/jsonc';
import type { TunnelSpec, TunnelType } from '../engine';

export const SECTION = 'sshTunnels';

/**
 * A setting's value, leaving out workspace and folder values while the workspace is not
 * trusted (a cloned repository must not choose where we connect or which keys we use).
 */
export function settingValue<T>(key: string): { value: T | undefined; fromWorkspace: boolean } {
  const config = vscode.workspace.getConfiguration(SECTION);
  const inspected = config.inspect<T>(key);
  const workspace = inspected?.workspaceFolderValue ?? inspected?.workspaceValue;
  if (vscode.workspace.isTrusted) return { value: config.get<T>(key), fromWorkspace: workspace !== undefined };
  return { value: inspected?.globalValue ?? inspected?.defaultValue, fromWorkspace: false };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** A tunnel from `sshTunnels.tunnels`. */
export interface ConfiguredTunnel {
  /** Stable identity across edits: its name, or where it listens. */
  key: string;
  /** Everything that matters for the running tunnel; a change of it means restart. */
  fingerprint: string;
  spec: TunnelSpec;
  autoStart: boolean;
  /** Defined in workspace or folder settings (checked into a repository). */
  fromWorkspace: boolean;
}

export interface TunnelSettingsRead {
  tunnels: ConfiguredTunnel[];
  /** Entries that could not be read, with why. */
  problems: string[];
}

export function tunnelFromSetting(raw: unknown, index: number, fromWorkspace: boolean, problems: string[]): ConfiguredTunnel | undefined {
  const where = `sshTunnels.tunnels[${index}]`;
  if (!raw || typeof raw !== 'object') {
    problems.push(`${where} is not an object.`);
    return undefined;
  }
  const o = raw as Record<string, unknown>;
  const server = str(o.server);
  const type = (o.type ?? 'local') as TunnelType;
  if (!server) {
    problems.push(`${where} has no "server".`);
    return undefined;
  }
  if (type !== 'local' && type !== 'remote' && type !== 'dynamic') {
    problems.push(`${where} has type ${JSON.stringify(o.type)}; use local, remote or dynamic.`);
    return undefined;
  }
  const spec: TunnelSpec = {
    server,
    type,
    name: str(o.name),
    localHost: str(o.localHost),
    localPort: (o.localPort ?? 0) as number,
    remoteHost: type === 'dynamic' ? undefined : (str(o.remoteHost) ?? (type === 'local' ? 'localhost' : '127.0.0.1')),
    remotePort: type === 'dynamic' ? undefined : (o.remotePort as number),
  };
  const listen = type === 'remote' ? `${spec.remoteHost}:${spec.remotePort}` : `${spec.localHost ?? '127.0.0.1'}:${spec.localPort}`;
  const key = spec.name ? `name:${spec.name}` : `${server}|${type}|${listen}`;
  return { key, fingerprint: JSON.stringify(spec), spec, autoStart: o.autoStart === true, fromWorkspace };
}

/** Reads `sshTunnels.tunnels` (without workspace values in Restricted Mode). */
export function readTunnelSettings(): TunnelSettingsRead {
  const { value, fromWorkspace } = settingValue<unknown[]>('tunnels');
  const raw = value ?? [];
  const problems: string[] = [];
  const tunnels: ConfiguredTunnel[] = [];
  const keys = new Set<string>();
  (Array.isArray(raw) ? raw : []).forEach((entry, i) => {
    const t = tunnelFromSetting(entry, i, fromWorkspace, problems);
    if (!t) return;
    if (keys.has(t.key)) {
      problems.push(`sshTunnels.tunnels[${i}] repeats the tunnel ${t.spec.name ?? t.key}; give it its own name or port.`);
      return;
    }
    keys.add(t.key);
    tunnels.push(t);
  });
  return { tunnels, problems };
}

/** The workspace's settings files: each folder's .vscode/settings.json and the .code-workspace file. */
export function workspaceSettingsFiles(): { file: string; inWorkspaceFile: boolean }[] {
  const files = (vscode.workspace.workspaceFolders ?? []).map((f) => ({
    file: path.join(f.uri.fsPath, '.vscode', 'settings.json'),
    inWorkspaceFile: false,
  }));
  const wsFile = vscode.workspace.workspaceFile;
  if (wsFile?.scheme === 'file') files.push({ file: wsFile.fsPath, inWorkspaceFile: true });
  return files;
}

/**
 * Workspace-defined tunnels that VS Code withholds in Restricted Mode. The API hides restricted
 * settings' workspace values entirely then, so the files are read to say what was held back.
 */
export function withheldWorkspaceTunnels(): number {
  if (vscode.workspace.isTrusted) return 0;
  let count = 0;
  for (const { file, inWorkspaceFile } of workspaceSettingsFiles()) {
    try {
      const parsed = parseJsonc(fs.readFileSync(file, 'utf8')) as Record<string, unknown> | undefined;
      const settings = (inWorkspaceFile ? parsed?.settings : parsed) as Record<string, unknown> | undefined;
      const tunnels = settings?.[`${SECTION}.tunnels`];
      if (Array.isArray(tunnels)) count += tunnels.length;
    } catch {
      // No settings file, or one VS Code itself will complain about.
    }
  }
  return count;
}
