// Reads the extension's settings with workspace trust applied, and `sshTunnels.tunnels` as the
// tunnels people defined (the servers are read by src/config/servers.ts).
import * as vscode from 'vscode';
import { folderSettingsFile, parseTunnelSettings, readSettingsFile, SECTION, type TunnelSettingsRead } from '../config/tunnelSettings';

export { SECTION, type ConfiguredTunnel } from '../config/tunnelSettings';

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

/** Reads `sshTunnels.tunnels` (without workspace values in Restricted Mode). */
export function readTunnelSettings(): TunnelSettingsRead {
  const { value, fromWorkspace } = settingValue<unknown[]>('tunnels');
  return parseTunnelSettings(value ?? [], fromWorkspace);
}

/** The workspace's settings files: each folder's .vscode/settings.json and the .code-workspace file. */
export function workspaceSettingsFiles(): { file: string; inWorkspaceFile: boolean }[] {
  const files = (vscode.workspace.workspaceFolders ?? []).map((f) => ({
    file: folderSettingsFile(f.uri.fsPath),
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
      const tunnels = readSettingsFile(file, inWorkspaceFile)[`${SECTION}.tunnels`];
      if (Array.isArray(tunnels)) count += tunnels.length;
    } catch {
      // No settings file, or one VS Code itself will complain about.
    }
  }
  return count;
}
