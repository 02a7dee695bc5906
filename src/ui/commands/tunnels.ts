// What a person does to a tunnel from the palette or the tree: close (stop), start, restart, keep
// it in the workspace settings, close a server's or all, copy its address, open it in a browser.
import * as vscode from 'vscode';
import { plural, TunnelError, type TunnelInfo } from '../../engine';
import { CONFIG_FORWARD_PREFIX, configForwards, stoppedConfigForwards } from '../configForwards';
import { keepInWorkspaceSettings } from '../keep';
import { configuredDescription, isTreeNode, tunnelLabel } from '../tree';
import type { CommandDeps } from './deps';
import { interactive } from './errors';
import { peersOf, resolveTunnel, serverName } from './targets';

export async function closeTunnel(deps: CommandDeps, arg?: unknown): Promise<void> {
  if (isTreeNode(arg) && arg.kind === 'configured') {
    if (!arg.key.startsWith(CONFIG_FORWARD_PREFIX)) await deps.settingsFeed.stop(arg.key);
    return;
  }
  if (isTreeNode(arg) && arg.kind === 'elsewhere') return peersOf(deps).close(arg.peerId, arg.id);
  const info = await resolveTunnel(deps, arg, vscode.l10n.t('Close which tunnel?'));
  if (!info) return;
  // A person's close: the catalogue keeps a settings tunnel stopped from it.
  await deps.manager.closeTunnel(info.id, 'person');
}

export async function startTunnel(deps: CommandDeps, arg?: unknown): Promise<TunnelInfo | undefined> {
  const t = vscode.l10n.t;
  const { servers, catalogue, settingsFeed } = deps;
  let key = typeof arg === 'string' ? arg : isTreeNode(arg) && arg.kind === 'configured' ? arg.key : undefined;
  if (key === undefined) {
    const fromConfig = stoppedConfigForwards(servers, (k) => catalogue.isRunning(k));
    const stopped = [
      ...settingsFeed.stopped().map((c) => ({ label: c.spec.name ?? c.key, description: c.spec.server, key: c.key })),
      ...fromConfig.map((f) => ({ label: configuredDescription(f.spec), description: `${f.spec.server} · ssh config`, key: f.key })),
    ];
    if (stopped.length === 0) {
      void vscode.window.showInformationMessage(t('Every tunnel in the settings is running. Use "Create Tunnel" for a new one.'));
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(stopped, { title: t('Start which tunnel?') });
    key = picked?.key;
    if (!key) return undefined;
  }
  if (key.startsWith(CONFIG_FORWARD_PREFIX)) return startConfigForward(deps, key);
  return settingsFeed.start(key);
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
  if (isTreeNode(arg) && arg.kind === 'configured') return startTunnel(deps, arg.key);
  if (isTreeNode(arg) && arg.kind === 'elsewhere') return peersOf(deps).restart(arg.peerId, arg.id);
  const info = await resolveTunnel(deps, arg, vscode.l10n.t('Restart which tunnel?'));
  if (!info) return undefined;
  // A settings entry reopens from its definition; any other on the ports it really had.
  return deps.catalogue.restart(info.id);
}

export async function keepTunnel(deps: CommandDeps, arg?: unknown): Promise<Record<string, unknown> | undefined> {
  const info = await resolveTunnel(deps, arg, vscode.l10n.t('Keep which tunnel in the workspace settings?'));
  if (!info) return undefined;
  const entry = await keepInWorkspaceSettings(info, deps.settingsFeed, deps.log);
  if (interactive([arg])) void vscode.window.setStatusBarMessage(vscode.l10n.t('{0} is now in the workspace settings (sshTunnels.tunnels)', tunnelLabel(info)), 4000);
  return entry;
}

/** Closes every tunnel of a server (an argument names it), or every tunnel; returns how many. */
export async function closeAll({ manager, log }: CommandDeps, arg?: unknown): Promise<number> {
  const server = arg === undefined ? undefined : serverName(arg);
  const open = manager.listTunnels(server);
  if (server !== undefined) await manager.closeServer(server, 'person');
  else await Promise.all(open.map((info) => manager.closeTunnel(info.id, 'person').catch(() => undefined)));
  log.info(`Closed ${plural(open.length, 'tunnel')}${server ? ` of ${server}` : ''}.`);
  return open.length;
}

export async function copyLocalAddress(deps: CommandDeps, arg?: unknown): Promise<string | undefined> {
  const info = await resolveTunnel(deps, arg, vscode.l10n.t('Copy the address of which tunnel?'));
  if (!info) return undefined;
  const address = deps.attributes.copyText(info) ?? info.remotePath ?? `${info.remoteHost}:${info.remotePort}`;
  await vscode.env.clipboard.writeText(address);
  void vscode.window.setStatusBarMessage(vscode.l10n.t('Copied {0}', address), 3000);
  return address;
}

export async function openInBrowser(deps: CommandDeps, arg?: unknown): Promise<string | undefined> {
  const t = vscode.l10n.t;
  const info = await resolveTunnel(deps, arg, t('Open which tunnel in the browser?'));
  if (!info) return undefined;
  if (info.type !== 'local') throw new TunnelError('INVALID_SPEC', t('Only local (-L) tunnels lead to a web page on this machine; {0} is {1}.', info.name, info.type));
  if (info.localPath !== undefined) throw new TunnelError('INVALID_SPEC', t('{0} listens on the socket file {1}, which a browser cannot open; try curl --unix-socket {1} http://localhost/.', info.name, info.localPath));
  // http unless the tunnel's protocol says https.
  const url = deps.attributes.pageUrl(info);
  await deps.attributes.opener.open(url, 'browser', `${info.name}: Open in Browser`);
  return url;
}
