// What the two-window specs read of a window: the extension's API with what other processes
// serve, its tree's rows under a server, and the inline actions a row offers (from the menus of
// package.json, as the workbench picks them by the row's contextValue).
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../../src/extension';
import type { PeerTunnels } from '../../src/peers/types';
import { EXTENSION_ID } from '../helpers/vscode';

export type Api = SshTunnelsApi & { peers: PeerTunnels };

export async function activate(): Promise<Api> {
  const api = await vscode.extensions.getExtension<Api>(EXTENSION_ID)!.activate();
  await api.ready;
  if (!api.peers) throw new Error('the extension\'s API has no `peers` (PeerTunnels)');
  await api.peers.ready();
  return api;
}

export interface Row {
  node: unknown;
  label: string;
  description: string;
  contextValue: string;
  /** The hover, as VS Code resolves it. */
  tooltip: string;
  /** What a screen reader says of the row (it also says the state, which the row shows as its icon). */
  spoken: string;
}

type Tree = {
  getChildren(node?: unknown): unknown[];
  getTreeItem(node: unknown): vscode.TreeItem;
  resolveTreeItem?(item: vscode.TreeItem, node: unknown): vscode.TreeItem;
};

/** The rows under `server` in the window's tree, whatever kind of node each is. */
export function rowsOf(api: Api, server: string): Row[] {
  const tree = api.tree as unknown as Tree;
  const serverNode = tree.getChildren().find((n) => (n as { kind?: string; name?: string }).kind === 'server' && (n as { name: string }).name === server);
  if (!serverNode) return [];
  return tree.getChildren(serverNode).map((node) => {
    const bare = tree.getTreeItem(node);
    const item = tree.resolveTreeItem?.(bare, node) ?? bare;
    const label = typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
    const tooltip = typeof item.tooltip === 'string' ? item.tooltip : (item.tooltip?.value ?? '');
    return { node, label, description: String(item.description ?? ''), contextValue: String(item.contextValue ?? ''), tooltip, spoken: item.accessibilityInformation?.label ?? '' };
  });
}

/** A row as one line, for failure messages. */
export function show(rows: Row[]): string {
  return rows.map((r) => `${r.label} — ${r.description} [${r.contextValue}]`).join('; ') || '(no rows)';
}

interface MenuEntry {
  command: string;
  when?: string;
  group?: string;
}

/** Whether a `when` clause of the view's item menus holds for a row (only the forms the manifest uses). */
function holds(when: string, view: string, contextValue: string): boolean {
  return when.split('&&').every((raw) => {
    const term = raw.trim();
    let m = /^view == (\S+)$/.exec(term);
    if (m) return m[1] === view;
    m = /^viewItem == (\S+)$/.exec(term);
    if (m) return m[1] === contextValue;
    m = /^viewItem =~ \/(.*)\/$/.exec(term);
    if (m) return new RegExp(m[1]).test(contextValue);
    throw new Error(`a when clause this test cannot read: ${term}`);
  });
}

/** The commands shown as inline buttons on a row with this contextValue, in their order. */
export function inlineCommands(contextValue: string, view = 'sshTunnels.tunnels'): string[] {
  const manifest = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { contributes: { menus: Record<string, MenuEntry[]> } };
  return manifest.contributes.menus['view/item/context']
    .filter((e) => e.group?.startsWith('inline') && (!e.when || holds(e.when, view, contextValue)))
    .sort((a, b) => Number(a.group!.split('@')[1] ?? 0) - Number(b.group!.split('@')[1] ?? 0))
    .map((e) => e.command);
}
