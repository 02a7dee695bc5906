// Writing the extension's list settings (`sshTunnels.servers`, `sshTunnels.tunnels`) where they
// take effect. VS Code does not merge lists across scopes: a workspace that sets one replaces the
// user's, so an entry written to the user settings would be invisible there.
import * as vscode from 'vscode';
import { SECTION } from './settings';

export type ListSetting = 'servers' | 'tunnels';

/** The workspace's value of a setting, when it has one (folder settings count: VS Code reads them as the workspace's in a one-folder window). */
function workspaceValue(key: ListSetting): unknown[] | undefined {
  const inspected = vscode.workspace.getConfiguration(SECTION).inspect<unknown[]>(key);
  const value = inspected?.workspaceFolderValue ?? inspected?.workspaceValue;
  return Array.isArray(value) ? value : undefined;
}

/** Where the list in effect comes from: the workspace when it sets it (and is trusted, else VS Code ignores it), otherwise the user. */
export function scopeInEffect(key: ListSetting): vscode.ConfigurationTarget {
  return vscode.workspace.isTrusted && workspaceValue(key) !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}

/** "user settings" or "workspace settings", for messages. */
export function scopeName(target: vscode.ConfigurationTarget): string {
  return target === vscode.ConfigurationTarget.Global ? vscode.l10n.t('user settings') : vscode.l10n.t('workspace settings');
}

/** The list as written in one scope. */
export function listIn(key: ListSetting, target: vscode.ConfigurationTarget): unknown[] {
  if (target !== vscode.ConfigurationTarget.Global) return workspaceValue(key) ?? [];
  const value = vscode.workspace.getConfiguration(SECTION).inspect<unknown[]>(key)?.globalValue;
  return Array.isArray(value) ? value : [];
}

export async function writeList(key: ListSetting, list: unknown[], target: vscode.ConfigurationTarget): Promise<void> {
  await vscode.workspace.getConfiguration(SECTION).update(key, list.length ? list : undefined, target);
}

/** Appends an entry to the list in one scope. */
export async function appendEntry(key: ListSetting, entry: unknown, target: vscode.ConfigurationTarget): Promise<void> {
  await writeList(key, [...listIn(key, target), entry], target);
}

/** Replaces (or, with `next` undefined, removes) the first entry `match` picks; returns the entry it replaced. */
export async function replaceEntry(key: ListSetting, target: vscode.ConfigurationTarget, match: (entry: unknown, index: number) => boolean, next: unknown): Promise<unknown> {
  const list = listIn(key, target);
  const i = list.findIndex(match);
  if (i < 0) return undefined;
  const was = list[i];
  const copy = [...list];
  if (next === undefined) copy.splice(i, 1);
  else copy[i] = next;
  await writeList(key, copy, target);
  return was;
}
