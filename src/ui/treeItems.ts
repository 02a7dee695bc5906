// What the tree's items show: labels, descriptions, icons, menus (contextValue) and tooltips of
// servers, open tunnels, tunnels peers serve, and stopped ones of the settings and the
// ssh config. Built from plain facts; the provider (tree.ts) decides what is shown where.
import * as vscode from 'vscode';
import { configuredTarget, describeForward, formatBytes, makeAddress, type ServerConfig, type ServerStatus, type TunnelInfo, type TunnelSpec } from '../engine';
import { describePeer, type PeerTunnel } from '../peers';
import type { ConfiguredTunnel } from './settings';

/** The tree id of a tunnel a peer serves: stable for that tunnel's life. */
export function peerTunnelItemId(served: Pick<PeerTunnel, 'peer' | 'info'>): string {
  return `elsewhere:${served.peer.id}:${served.info.id}`;
}

/** "served by window of folder api": an item's description for a tunnel a peer serves. */
export function servedByText(served: Pick<PeerTunnel, 'peer'>): string {
  return vscode.l10n.t('served by {0}', describePeer(served.peer));
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

/** The address a person connects to on this machine, for local and dynamic forwards. */
export function localAddress(info: TunnelInfo): string | undefined {
  if (info.type === 'remote') return undefined;
  if (info.localPath !== undefined) return info.localPath;
  const host = info.localHost === '0.0.0.0' ? '127.0.0.1' : info.localHost === '::' ? '::1' : info.localHost;
  return makeAddress(host, info.localPort);
}

/** `L 127.0.0.1:5432 → db:5432` for a tunnel, whatever name it was given. */
export function describeTunnel(info: Pick<TunnelInfo, 'type' | 'localHost' | 'localPort' | 'remoteHost' | 'remotePort' | 'localPath' | 'remotePath' | 'socks'>): string {
  return describeForward(info.type, info.localHost, info.localPort, info.remoteHost, info.remotePort, info);
}

/** Whether a tunnel carries the engine's default name rather than one it was given. */
export function hasDefaultName(info: Pick<TunnelInfo, 'nameGiven'>): boolean {
  return !info.nameGiven;
}

/** What the tree and the status bar call a tunnel: its own name, or what it forwards. */
export function tunnelLabel(info: TunnelInfo): string {
  return hasDefaultName(info) ? describeTunnel(info) : info.name;
}

/** What a tunnel not running yet forwards (listening on 127.0.0.1 unless it says otherwise). */
export function configuredDescription(spec: TunnelSpec): string {
  return describeTunnel({ ...spec, localHost: spec.localHost ?? '127.0.0.1' });
}

/** What a tunnel's item shows (label, description, icon, menus) and its last error, as one string: equal when the item would be. */
export function tunnelLook(info: TunnelInfo): string {
  return [tunnelLabel(info), describeTunnel(info), info.state, info.type, info.openedBy, info.localPath ?? '', info.lastError ?? ''].join('\n');
}

const STATE_ICON: Record<TunnelInfo['state'], vscode.ThemeIcon> = {
  connecting: new vscode.ThemeIcon('loading~spin'),
  reconnecting: new vscode.ThemeIcon('loading~spin', new vscode.ThemeColor('list.warningForeground')),
  active: new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground')),
  closed: new vscode.ThemeIcon('circle-outline'),
};

/** A server's state in words; asked per item, so only the one word needed is translated. */
function stateText(state: ServerStatus['state']): string {
  switch (state) {
    case 'disconnected':
      return vscode.l10n.t('disconnected');
    case 'connecting':
      return vscode.l10n.t('connecting…');
    case 'connected':
      return vscode.l10n.t('connected');
    case 'reconnecting':
      return vscode.l10n.t('reconnecting…');
    case 'failed':
      return vscode.l10n.t('failed');
  }
}

const SERVER_ICON: Record<ServerStatus['state'], vscode.ThemeIcon> = {
  disconnected: new vscode.ThemeIcon('server'),
  connecting: new vscode.ThemeIcon('loading~spin'),
  reconnecting: new vscode.ThemeIcon('loading~spin', new vscode.ThemeColor('list.warningForeground')),
  connected: new vscode.ThemeIcon('server', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('server', new vscode.ThemeColor('list.errorForeground')),
};

/** A server's item: `children` counts what it holds (open here, stopped, served elsewhere); `problem` says why a name cannot be used. */
export function serverItem(name: string, status: ServerStatus, config: ServerConfig | undefined, problem: string | undefined, children: number): vscode.TreeItem {
  const item = new vscode.TreeItem(name, children > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
  item.id = `server:${name}`;
  const state = stateText(status.state);
  item.description = status.tunnels ? `${state} · ${status.tunnels === 1 ? vscode.l10n.t('1 tunnel') : vscode.l10n.t('{0} tunnels', status.tunnels)}` : state;
  item.iconPath = SERVER_ICON[status.state];
  if (!config && problem) {
    item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
    item.description = vscode.l10n.t('cannot be used');
  }
  const connected = status.state === 'connected' || status.state === 'reconnecting' || status.state === 'connecting';
  item.contextValue = `server.${connected ? 'connected' : 'disconnected'}${status.tunnels ? '.hasTunnels' : ''}`;
  return item;
}

/** A server's tooltip: where it leads, its connection, where it is defined, or why it cannot be used. */
export function serverTooltip(name: string, status: ServerStatus, config: ServerConfig | undefined, origin: string | undefined, problem: string | undefined): vscode.MarkdownString {
  const state = stateText(status.state);
  const target = config ? configuredTarget(config) : '';
  const tip = new vscode.MarkdownString(undefined, true);
  tip.appendMarkdown(`**${name}** ${target ? `— \`${target}\`` : ''}\n\n`);
  tip.appendMarkdown(`${vscode.l10n.t('SSH connection')}: ${state}  \n${vscode.l10n.t('Open tunnels')}: ${status.tunnels}`);
  if (status.lastError) tip.appendMarkdown(`  \n${vscode.l10n.t('Last error')}: ${status.lastError}`);
  const from = { settings: 'sshTunnels.servers', sshConfig: '~/.ssh/config', both: 'sshTunnels.servers + ~/.ssh/config' }[origin ?? ''];
  if (from) tip.appendMarkdown(`  \n${vscode.l10n.t('From')}: ${from}`);
  if (!config && problem) {
    tip.appendMarkdown('  \n$(error) ');
    tip.appendText(problem);
  } else if (!config) tip.appendMarkdown(`  \n_${vscode.l10n.t('Not in sshTunnels.servers or ~/.ssh/config')}_`);
  return tip;
}

export function tunnelItem(info: TunnelInfo): vscode.TreeItem {
  const description = describeTunnel(info);
  const label = tunnelLabel(info);
  const item = new vscode.TreeItem(label);
  item.id = `tunnel:${info.id}`;
  item.description = label === description ? info.state : `${description} · ${info.state}`;
  if (info.openedBy === 'agent') item.description += ` · ${vscode.l10n.t('opened by an agent')}`;
  if (info.openedBy === 'extension') item.description += ` · ${vscode.l10n.t('held by an extension or a task')}`;
  item.iconPath = STATE_ICON[info.state];
  // A socket file is no address a browser can open.
  const browsable = info.type === 'local' && info.localPath === undefined ? '.browsable' : '';
  item.contextValue = `tunnel.${info.state}.${info.type}${browsable}.${info.openedBy}`;
  return item;
}

/** A tunnel a peer serves: its live state icon, and "served by …" where the state would be. */
export function peerTunnelItem(served: PeerTunnel): vscode.TreeItem {
  const { info } = served;
  const item = new vscode.TreeItem(tunnelLabel(info));
  item.id = peerTunnelItemId(served);
  item.description = servedByText(served);
  item.iconPath = STATE_ICON[info.state];
  // Close and Restart ask the owner; what only the owner's machine state allows (browse, keep) is not offered.
  item.contextValue = 'tunnel.elsewhere';
  return item;
}

export function peerTunnelTooltip(served: PeerTunnel): vscode.MarkdownString {
  const started = new Date(served.peer.startedAt).toLocaleTimeString();
  const owner = vscode.l10n.t('Served by {0} (process {1}, started {2}); Close and Restart ask it.', describePeer(served.peer), served.peer.pid, started);
  return tunnelTooltip(served.info, owner);
}

/** An open tunnel's tooltip with its live numbers; `owner` names the process serving it, when another does. */
export function tunnelTooltip(info: TunnelInfo, owner?: string): vscode.MarkdownString {
  const s = info.stats;
  const tip = new vscode.MarkdownString(undefined, true);
  tip.appendMarkdown(`**${tunnelLabel(info)}** — ${info.server}\n\n`);
  tip.appendMarkdown(`\`${describeTunnel(info)}\`\n\n`);
  if (owner) tip.appendMarkdown(`_${owner}_\n\n`);
  if (info.openedBy === 'agent') tip.appendMarkdown(`_${vscode.l10n.t('Opened by an agent (a language-model tool); closes when VS Code closes.')}_\n\n`);
  if (info.openedBy === 'extension') tip.appendMarkdown(`_${vscode.l10n.t('Opened for another extension or a task (the SSH Tunnels API); closes once nothing holds it.')}_\n\n`);
  const rows: [string, string][] = [
    [vscode.l10n.t('State'), info.state],
    [vscode.l10n.t('Bytes in / out'), `${formatBytes(s.bytesIn)} / ${formatBytes(s.bytesOut)}`],
    [vscode.l10n.t('Connections active / total'), `${s.connectionsActive} / ${s.connectionsTotal}`],
  ];
  if (s.connectionsWaiting) rows.push([vscode.l10n.t('Waiting for the SSH connection'), String(s.connectionsWaiting)]);
  rows.push(
    [vscode.l10n.t('Errors'), String(s.errors)],
    [vscode.l10n.t('Uptime'), duration(Date.now() - info.createdAt)],
  );
  if (info.lastError) rows.push([vscode.l10n.t('Last error'), info.lastError]);
  tip.appendMarkdown(rows.map(([k, v]) => `${k}: ${v}`).join('  \n'));
  return tip;
}

/** A settings tunnel not running here; `failure` is why its last open failed, if it did. */
export function configuredItem(t: ConfiguredTunnel, failure: string | undefined): vscode.TreeItem {
  const spec = t.spec;
  const description = configuredDescription(spec);
  const item = new vscode.TreeItem(spec.name ?? description);
  item.description = spec.name ? `${description} · ${vscode.l10n.t('stopped')}` : vscode.l10n.t('stopped');
  item.iconPath = failure ? new vscode.ThemeIcon('debug-stop', new vscode.ThemeColor('list.errorForeground')) : new vscode.ThemeIcon('debug-stop');
  item.contextValue = 'tunnel.stopped';
  return item;
}

export function configuredTooltip(t: ConfiguredTunnel, failure: string | undefined): vscode.MarkdownString {
  const spec = t.spec;
  const tip = new vscode.MarkdownString(undefined, true);
  tip.appendMarkdown(`**${spec.name ?? configuredDescription(spec)}** — ${spec.server}\n\n`);
  tip.appendMarkdown(vscode.l10n.t('Defined in settings ({0}); not running.', t.fromWorkspace ? vscode.l10n.t('workspace') : vscode.l10n.t('user')));
  if (failure) tip.appendMarkdown(`  \n${vscode.l10n.t('Last error')}: ${failure}`);
  return tip;
}

/** A forward of the ssh config not running here. */
export function configForwardItem(spec: TunnelSpec): vscode.TreeItem {
  const item = new vscode.TreeItem(configuredDescription(spec));
  item.description = vscode.l10n.t('stopped');
  item.iconPath = new vscode.ThemeIcon('debug-stop');
  item.contextValue = 'tunnel.stopped';
  return item;
}

export function configForwardTooltip(spec: TunnelSpec): vscode.MarkdownString {
  const tip = new vscode.MarkdownString(undefined, true);
  tip.appendMarkdown(`**${configuredDescription(spec)}** — ${spec.server}\n\n`);
  tip.appendMarkdown(vscode.l10n.t('Defined in the ssh config ({0}Forward); not running. Start it here.', { local: 'Local', remote: 'Remote', dynamic: 'Dynamic' }[spec.type]));
  return tip;
}
