// "Keep Tunnel in Workspace Settings": a person's tunnel written into the workspace's
// `sshTunnels.tunnels`, so the team gets it; the running tunnel becomes that settings entry.
import * as vscode from 'vscode';
import { TunnelError, type TunnelInfo } from '../engine';
import { tunnelFromSetting } from '../config/tunnelSettings';
import { SECTION } from './settings';
import type { SettingsFeed } from './settingsFeed';

/** The `sshTunnels.tunnels` entry that opens this tunnel again as it is now. */
export function settingsEntry(info: TunnelInfo): Record<string, unknown> {
  const entry: Record<string, unknown> = {};
  if (info.nameGiven) entry.name = info.name;
  entry.server = info.server;
  entry.type = info.type;
  if (info.localPath !== undefined) entry.localPath = info.localPath;
  else {
    if (info.localHost !== '127.0.0.1') entry.localHost = info.localHost;
    if (!info.socks) entry.localPort = info.localPort;
  }
  if (info.remotePath !== undefined) entry.remotePath = info.remotePath;
  else if (info.type !== 'dynamic') {
    entry.remoteHost = info.remoteHost;
    entry.remotePort = info.remotePort;
  }
  if (info.socks) entry.socks = true;
  entry.autoStart = true;
  return entry;
}

/**
 * Appends the tunnel to the workspace's settings and adopts the running tunnel as that entry
 * (its connections go on). Returns the entry written.
 */
export async function keepInWorkspaceSettings(info: TunnelInfo, settingsFeed: SettingsFeed, log: vscode.LogOutputChannel): Promise<Record<string, unknown>> {
  const t = vscode.l10n.t;
  if (info.openedBy !== 'person') {
    throw new TunnelError('INVALID_SPEC', t('{0} was not opened by a person here (it comes from {1}); only such tunnels can be kept in the settings.', info.name, info.openedBy));
  }
  if (!vscode.workspace.workspaceFolders?.length) {
    throw new TunnelError('INVALID_SPEC', t('No folder is open: workspace settings need a folder or a workspace. Open one first.'));
  }
  if (!vscode.workspace.isTrusted) {
    throw new TunnelError('INVALID_SPEC', t('The workspace is in Restricted Mode, where its tunnel settings are not used. Trust the workspace to keep tunnels in its settings.'));
  }
  const config = vscode.workspace.getConfiguration(SECTION);
  const current = config.inspect<unknown[]>('tunnels')?.workspaceValue;
  const list = Array.isArray(current) ? current : [];
  const entry = settingsEntry(info);
  const configured = tunnelFromSetting(entry, list.length, true, []);
  if (!configured) throw new TunnelError('INVALID_SPEC', t('{0} cannot be written as a settings entry.', info.name));
  if (settingsFeed.configured().some((c) => c.key === configured.key)) {
    throw new TunnelError('INVALID_SPEC', t('sshTunnels.tunnels already has a tunnel {0}; give this one a name or another port.', configured.spec.name ?? configured.key));
  }
  // Adopted before the write: the reconcile that the write triggers finds it running.
  settingsFeed.adopt(configured, info.id);
  try {
    await config.update('tunnels', [...list, entry], vscode.ConfigurationTarget.Workspace);
  } catch (err) {
    settingsFeed.unadopt(configured.key, info.id);
    throw err;
  }
  log.info(`Kept ${info.name} in the workspace settings (sshTunnels.tunnels).`);
  return entry;
}
