// What a command's argument names (a tree node, an id, a TunnelInfo, a server name), or what the
// person picks when it names nothing.
import * as vscode from 'vscode';
import { TunnelError, type TunnelInfo } from '../../engine';
import type { PeerTunnels } from '../../peers';
import { stateText } from '../rowWords';
import { describeTunnel, isTreeNode, tunnelLabel } from '../tree';
import type { CommandDeps } from './deps';

/**
 * The open tunnel an argument names (tree node, id, TunnelInfo), or one the person picks among
 * those `fits` (with `none` said when none does).
 */
export async function resolveTunnel({ manager }: Pick<CommandDeps, 'manager'>, arg: unknown, title: string, fits: (info: TunnelInfo) => boolean = () => true, none?: string): Promise<TunnelInfo | undefined> {
  const t = vscode.l10n.t;
  let id: string | undefined;
  if (isTreeNode(arg) && arg.kind === 'elsewhere') {
    throw new TunnelError('SERVED_ELSEWHERE', t('This tunnel is served by another process; only Close and Restart reach it from here.'));
  }
  if (typeof arg === 'string') id = arg;
  else if (isTreeNode(arg) && arg.kind === 'tunnel') id = arg.id;
  else if (arg && typeof arg === 'object' && typeof (arg as { id?: unknown }).id === 'string') id = (arg as { id: string }).id;
  if (id !== undefined) {
    const info = manager.getTunnel(id);
    if (!info) throw new TunnelError('INVALID_SPEC', t('No open tunnel has id {0}.', JSON.stringify(id)));
    return info;
  }
  const open = manager.listTunnels().filter(fits);
  if (open.length === 0) {
    void vscode.window.showInformationMessage(none ?? t('No tunnels are open.'));
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    open.map((info) => ({ label: tunnelLabel(info), description: `${describeTunnel(info)} · ${info.server} · ${stateText(info)}`, info })),
    { title },
  );
  return picked?.info;
}

/** The server an argument names: a name, a tree node (a server, or the server of a tunnel), a ServerStatus; null (the view's title with no row focused) names none. */
export function serverName(arg: unknown): string | undefined {
  if (arg === null || arg === undefined) return undefined;
  if (typeof arg === 'string') return arg;
  if (isTreeNode(arg)) return arg.kind === 'server' ? arg.name : arg.server;
  if (arg && typeof arg === 'object' && typeof (arg as { name?: unknown }).name === 'string') return (arg as { name: string }).name;
  return undefined;
}

/** The server an argument names, or one the person picks. */
export async function pickServerName({ servers }: Pick<CommandDeps, 'servers'>, arg: unknown, title: string): Promise<string | undefined> {
  const name = serverName(arg);
  if (name) return name;
  const picked = await vscode.window.showQuickPick(servers.list().map((s) => s.alias), { title });
  return picked;
}

/** The peers, asked about a tunnel one of them serves as its own person would ask. */
export function peersOf({ peers }: Pick<CommandDeps, 'peers'>): PeerTunnels {
  if (!peers) throw new TunnelError('PEER_GONE', vscode.l10n.t('Other processes\' tunnels are not available in this window.'));
  return peers;
}
