// What a person does to a tunnel from the palette, the view or a key: stop (the one verb for
// ending a tunnel; a person's own is kept as a stopped row), start, restart, remove a stopped one
// (with Undo), keep it in the workspace settings, stop a server's or all (with Undo), copy its
// address, open it in a browser, and Enter's default action. Editing and renaming: editTunnel.ts.
import * as vscode from 'vscode';
import { TunnelError, type TunnelInfo } from '../../engine';
import { CONFIG_FORWARD_PREFIX, configForwards, stoppedConfigForwards } from '../configForwards';
import { keepInWorkspaceSettings } from '../keep';
import { factsOfSpec, rowLabel } from '../rowWords';
import { listIn, scopeName, writeList } from '../settingsWrite';
import { tunnelFromSetting } from '../../config/tunnelSettings';
import { STOPPED_PREFIX } from '../stoppedTunnels';
import { configuredDescription, isTreeNode, tunnelLabel, type TreeNode } from '../tree';
import { openInteractively } from './create';
import type { CommandDeps } from './deps';
import { interactive } from './errors';
import { stopMany } from './stopMany';
import { peersOf, resolveTunnel, serverName } from './targets';

export { editTunnel, renameTunnel } from './editTunnel';

/** A row that is gone by the time its button is clicked (it stopped or restarted meanwhile): nothing to do. */
function gone(deps: CommandDeps, arg: unknown): boolean {
  return isTreeNode(arg) && !!deps.tree && !deps.tree.has(arg);
}

/** Stop: the one verb for ending a tunnel. A person's own is kept as a stopped row (Start opens it again); a settings one stays stopped until started. */
export async function stopTunnel(deps: CommandDeps, arg?: unknown): Promise<void> {
  // Delete on a server's row: a server is disconnected from its own menu, never by a key.
  if (gone(deps, arg) || (isTreeNode(arg) && arg.kind === 'server')) return;
  if (isTreeNode(arg) && arg.kind === 'configured') {
    if (!arg.key.startsWith(CONFIG_FORWARD_PREFIX) && !arg.key.startsWith(STOPPED_PREFIX)) await deps.settingsFeed.stop(arg.key);
    return;
  }
  if (isTreeNode(arg) && arg.kind === 'elsewhere') return peersOf(deps).close(arg.peerId, arg.id);
  const info = await resolveTunnel(deps, arg, vscode.l10n.t('Stop which tunnel?'));
  if (!info) return;
  // A person's close: the catalogue keeps a settings tunnel stopped; with a person there, their own is kept as a stopped row.
  await deps.manager.closeTunnel(info.id, 'person');
  if (interactive([arg])) deps.stopped?.keep(info);
}

export async function startTunnel(deps: CommandDeps, arg?: unknown): Promise<TunnelInfo | undefined> {
  const t = vscode.l10n.t;
  const { servers, catalogue, settingsFeed } = deps;
  if (gone(deps, arg)) return undefined;
  let key = typeof arg === 'string' ? arg : isTreeNode(arg) && arg.kind === 'configured' ? arg.key : undefined;
  if (key === undefined) {
    const fromConfig = stoppedConfigForwards(servers, (k) => catalogue.isRunning(k));
    const stopped = [
      ...settingsFeed.stopped().map((c) => ({ label: rowLabel(factsOfSpec(c.spec)), description: `${c.spec.server} · ${configuredDescription(c.spec)}`, key: c.key })),
      ...fromConfig.map((f) => ({ label: rowLabel(factsOfSpec(f.spec)), description: `${f.spec.server} · ${configuredDescription(f.spec)} · ssh config`, key: f.key })),
      ...(deps.stopped?.list() ?? []).map((s) => ({ label: rowLabel(factsOfSpec(s.spec)), description: `${s.spec.server} · ${configuredDescription(s.spec)}`, key: s.key })),
    ];
    if (stopped.length === 0) {
      void vscode.window.showInformationMessage(t('No tunnel is stopped. Use "Create Tunnel" for a new one.'));
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(stopped, { title: t('Start which tunnel?') });
    key = picked?.key;
    if (!key) return undefined;
  }
  if (key.startsWith(CONFIG_FORWARD_PREFIX)) return startConfigForward(deps, key);
  if (key.startsWith(STOPPED_PREFIX)) return startStopped(deps, key, interactive([arg]));
  return settingsFeed.start(key);
}

/** Starts a person's stopped tunnel: it leaves the stopped rows while it opens, and comes back to them if it cannot. */
async function startStopped(deps: CommandDeps, key: string, person: boolean): Promise<TunnelInfo | undefined> {
  const entry = deps.stopped?.remove(key);
  if (!entry) throw new TunnelError('INVALID_SPEC', vscode.l10n.t('No stopped tunnel {0}.', key));
  if (person) {
    const info = await openInteractively(deps, { ...entry.spec, openedBy: 'person' });
    if (!info) deps.stopped?.put(entry);
    return info;
  }
  try {
    const opened = await deps.catalogue.open({ ...entry.spec, openedBy: 'person' }, 'person');
    return opened.here;
  } catch (err) {
    deps.stopped?.put(entry);
    throw err;
  }
}

/** Starts a forward of the ssh config (the tree's start action on it). */
async function startConfigForward(deps: CommandDeps, key: string): Promise<TunnelInfo> {
  const forward = configForwards(deps.servers).find((f) => f.key === key);
  if (!forward) throw new TunnelError('INVALID_SPEC', vscode.l10n.t('No forward {0} in the ssh config.', key.slice(CONFIG_FORWARD_PREFIX.length)));
  const info = await deps.catalogue.startForward(key, forward.spec);
  deps.refreshTree();
  return info;
}

export async function restartTunnel(deps: CommandDeps, arg?: unknown): Promise<TunnelInfo | undefined> {
  if (gone(deps, arg)) return undefined;
  if (isTreeNode(arg) && arg.kind === 'configured') return startTunnel(deps, arg);
  if (isTreeNode(arg) && arg.kind === 'elsewhere') return peersOf(deps).restart(arg.peerId, arg.id);
  const info = await resolveTunnel(deps, arg, vscode.l10n.t('Restart which tunnel?'));
  if (!info) return undefined;
  // A settings entry reopens from its definition; any other on the ports it really had.
  return deps.catalogue.restart(info.id);
}

/**
 * Remove (Delete): a stopped row is forgotten, with Undo (a person's from the stopped rows, a
 * settings one from its settings); a running tunnel is stopped first, so a second Delete removes it.
 */
export async function removeTunnel(deps: CommandDeps, arg?: unknown): Promise<void> {
  const t = vscode.l10n.t;
  if (gone(deps, arg)) return;
  if (!(isTreeNode(arg) && arg.kind === 'configured')) return stopTunnel(deps, arg);
  const undo = t('Undo');
  if (arg.key.startsWith(STOPPED_PREFIX)) {
    const entry = deps.stopped?.remove(arg.key);
    if (!entry) return;
    const label = rowLabel(factsOfSpec(entry.spec));
    if ((await vscode.window.showInformationMessage(t('Removed the tunnel {0}.', label), undo)) === undo) deps.stopped?.put(entry);
    return;
  }
  if (arg.key.startsWith(CONFIG_FORWARD_PREFIX)) {
    void vscode.window.showInformationMessage(t('This tunnel is defined in the ssh config: remove its LocalForward, RemoteForward or DynamicForward line there.'));
    return;
  }
  const configured = deps.settingsFeed.configured().find((c) => c.key === arg.key);
  if (!configured) return;
  const scope = configured.fromWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  const list = listIn('tunnels', scope);
  const index = list.findIndex((e, i) => tunnelFromSetting(e, i, configured.fromWorkspace, [])?.key === configured.key);
  if (index < 0) return;
  const entry = list[index];
  await writeList('tunnels', list.filter((_e, i) => i !== index), scope);
  const label = configured.spec.name ?? rowLabel(factsOfSpec(configured.spec));
  if ((await vscode.window.showInformationMessage(t('Removed the tunnel {0} from the {1}.', label, scopeName(scope)), undo)) === undo) {
    const now = listIn('tunnels', scope);
    await writeList('tunnels', [...now.slice(0, index), entry, ...now.slice(index)], scope);
  }
}

export async function keepTunnel(deps: CommandDeps, arg?: unknown): Promise<Record<string, unknown> | undefined> {
  if (gone(deps, arg)) return undefined;
  const info = await resolveTunnel(deps, arg, vscode.l10n.t('Keep which tunnel in the workspace settings?'));
  if (!info) return undefined;
  const entry = await keepInWorkspaceSettings(info, deps.settingsFeed, deps.log);
  if (interactive([arg])) void vscode.window.setStatusBarMessage(vscode.l10n.t('{0} is now in the workspace settings (sshTunnels.tunnels)', tunnelLabel(info)), 4000);
  return entry;
}

/** Stop All: every tunnel of this window (a script may name a server); says how many and offers Undo. The title bar's focused row is no argument here. */
export async function stopAll(deps: CommandDeps, arg?: unknown): Promise<number> {
  const server = typeof arg === 'string' ? arg : undefined;
  return stopMany(deps, deps.manager.listTunnels(server), { server, tell: interactive([arg]) });
}

/** Stop a server's tunnels (its row's menu): how many, with Undo. */
export async function stopServerTunnels(deps: CommandDeps, arg?: unknown): Promise<number> {
  const server = serverName(arg);
  if (server === undefined) return stopAll(deps);
  return stopMany(deps, deps.manager.listTunnels(server), { server, tell: interactive([arg]) });
}

export async function copyLocalAddress(deps: CommandDeps, arg?: unknown): Promise<string | undefined> {
  if (gone(deps, arg)) return undefined;
  const info = await resolveTunnel(deps, arg, vscode.l10n.t('Copy the address of which tunnel?'));
  if (!info) return undefined;
  const address = deps.attributes.copyText(info) ?? info.remotePath ?? `${info.remoteHost}:${info.remotePort}`;
  await vscode.env.clipboard.writeText(address);
  void vscode.window.setStatusBarMessage(vscode.l10n.t('Copied {0}', address), 3000);
  return address;
}

/** Whether a browser on this machine can open the tunnel: a local forward to a port. */
function browsable(info: TunnelInfo): boolean {
  return info.type === 'local' && info.localPath === undefined;
}

export async function openInBrowser(deps: CommandDeps, arg?: unknown): Promise<string | undefined> {
  const t = vscode.l10n.t;
  if (gone(deps, arg)) return undefined;
  // Offered only where it can work: the palette lists local forwards to a port.
  const info = await resolveTunnel(deps, arg, t('Open which tunnel in the browser?'), browsable, t('No tunnel leads to a web page on this machine: Open in Browser takes a local (-L) forward to a port.'));
  if (!info) return undefined;
  if (info.type !== 'local') throw new TunnelError('INVALID_SPEC', t('Only local (-L) tunnels lead to a web page on this machine; {0} is {1}.', info.name, info.type));
  if (info.localPath !== undefined) throw new TunnelError('INVALID_SPEC', t('{0} listens on the socket file {1}, which a browser cannot open; try curl --unix-socket {1} http://localhost/.', info.name, info.localPath));
  // http unless the tunnel's protocol says https.
  const url = deps.attributes.pageUrl(info);
  await deps.attributes.opener.open(url, 'browser', `${info.name}: Open in Browser`);
  return url;
}

/** Enter on a row: a stopped tunnel starts, a failed one restarts, a web one opens in the browser, another copies its address; a server opens or closes. */
export async function defaultAction(deps: CommandDeps, arg?: unknown): Promise<unknown> {
  const node = isTreeNode(arg) ? (arg as TreeNode) : undefined;
  if (!node || gone(deps, node)) return undefined;
  if (node.kind === 'server') return vscode.commands.executeCommand('list.toggleExpand');
  if (node.kind === 'configured') return startTunnel(deps, node);
  if (node.kind === 'elsewhere') return undefined;
  const info = deps.manager.getTunnel(node.id);
  if (!info) return undefined;
  if (info.state === 'failed') return restartTunnel(deps, node);
  if (info.state === 'active' && browsable(info)) return openInBrowser(deps, node);
  return copyLocalAddress(deps, node);
}
