// What the tree's items show: labels, descriptions, icons, menus (contextValue), screen-reader
// labels and tooltips of servers, open tunnels, tunnels peers serve, and stopped ones (of the
// settings, the ssh config, or a person's). Built from plain facts; the provider (tree.ts)
// decides what is shown where. The words themselves are rowWords.ts's.
import * as vscode from 'vscode';
import { configuredTarget, formatBytes, makeAddress, type ServerConfig, type ServerStatus, type TunnelInfo, type TunnelSpec, type TunnelType } from '../engine';
import { describePeer, type PeerTunnel } from '../peers';
import { factsOfSpec, forwardSentence, kindText, rowLabel, sshCommand, stateText, whereText, type TunnelFacts } from './rowWords';
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

/** Whether a tunnel carries the engine's default name rather than one it was given. */
export function hasDefaultName(info: Pick<TunnelInfo, 'nameGiven'>): boolean {
  return !info.nameGiven;
}

/** What the tree, the status bar and the pickers call a tunnel: its own name, or where it listens. */
export function tunnelLabel(info: TunnelInfo): string {
  return rowLabel(info);
}

/** Where a tunnel goes and which side listens, after its label (`→ db:5432`, `SOCKS proxy`). */
export function describeTunnel(info: TunnelFacts): string {
  return whereText(info);
}

/** What a tunnel not running yet forwards, as its row says it. */
export function configuredDescription(spec: TunnelSpec): string {
  return whereText(factsOfSpec(spec));
}

/** The order of a server's rows: by name or by port (numbers in numeric order), the same whatever happens to them. */
export function rowSortKey(f: TunnelFacts): string {
  return rowLabel(f);
}

export function compareRows(a: { sortKey: string; tie: string }, b: { sortKey: string; tie: string }): number {
  return a.sortKey.localeCompare(b.sortKey, undefined, { numeric: true, sensitivity: 'base' }) || a.tie.localeCompare(b.tie);
}

/** What a tunnel's item shows (label, description, icon, menus, screen-reader label), as one string: equal when the item would be. */
export function tunnelLook(info: TunnelInfo): string {
  const why = info.state === 'active' ? '' : (info.lastError ?? '');
  return [rowLabel(info), whereText(info), info.state, info.type, info.openedBy, info.localPath ?? '', why, info.targetError ?? ''].join('\n');
}

/** What a tunnel's tooltip counts, as one string: a row is refreshed for these only while nobody reads its tooltip. */
export function tunnelStatsKey(info: TunnelInfo): string {
  const s = info.stats;
  return `${s.bytesIn}|${s.bytesOut}|${s.connectionsActive}|${s.connectionsTotal}|${s.connectionsWaiting}|${s.errors}|${info.lastError ?? ''}`;
}

// ---- icons: one glyph per kind, its colour and spinners per state --------------------------

const KIND_GLYPH: Record<TunnelType, string> = { local: 'arrow-right', remote: 'arrow-left', dynamic: 'globe' };

function colour(id: string | undefined): vscode.ThemeColor | undefined {
  return id ? new vscode.ThemeColor(id) : undefined;
}

/** The icon of a tunnel: its kind's glyph (green when active, dim when stopped), a spinner while it connects, an error or a warning. */
export function tunnelIcon(type: TunnelType, state: TunnelInfo['state'] | 'stopped', problem?: 'failed' | 'target'): vscode.ThemeIcon {
  if (state === 'connecting') return new vscode.ThemeIcon('loading~spin');
  if (state === 'reconnecting') return new vscode.ThemeIcon('loading~spin', colour('list.warningForeground'));
  if (state === 'failed' || problem === 'failed') return new vscode.ThemeIcon('error', colour('list.errorForeground'));
  if (problem === 'target') return new vscode.ThemeIcon('warning', colour('list.warningForeground'));
  if (state === 'active') return new vscode.ThemeIcon(KIND_GLYPH[type], colour('testing.iconPassed'));
  return new vscode.ThemeIcon(KIND_GLYPH[type], colour('disabledForeground'));
}

// ---- servers ----------------------------------------------------------------------------

/** A server's state in words; asked per item, so only the one word needed is translated. */
function serverStateText(state: ServerStatus['state']): string {
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

function tunnelCount(n: number): string {
  return n === 1 ? vscode.l10n.t('1 tunnel') : vscode.l10n.t('{0} tunnels', n);
}

/** A server's item: `children` counts what it holds (open here, stopped, served elsewhere); `problem` says why a name cannot be used. */
export function serverItem(name: string, status: ServerStatus, config: ServerConfig | undefined, problem: string | undefined, children: number): vscode.TreeItem {
  const item = new vscode.TreeItem(name, children > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
  item.id = `server:${name}`;
  const state = serverStateText(status.state);
  item.description = status.tunnels ? `${state} · ${tunnelCount(status.tunnels)}` : state;
  item.iconPath = SERVER_ICON[status.state];
  let spoken = vscode.l10n.t('Server {0}, {1}', name, item.description);
  if (status.state === 'failed' && status.lastError) spoken += `: ${status.lastError}`;
  if (!config && problem) {
    item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
    item.description = vscode.l10n.t('cannot be used');
    spoken = vscode.l10n.t('Server {0} cannot be used: {1}', name, problem);
  }
  item.accessibilityInformation = { label: spoken };
  const connected = status.state === 'connected' || status.state === 'reconnecting' || status.state === 'connecting';
  item.contextValue = `server.${connected ? 'connected' : 'disconnected'}${status.tunnels ? '.hasTunnels' : ''}`;
  return item;
}

/** A server's tooltip: where it leads, its connection, where it is defined, or why it cannot be used. */
export function serverTooltip(name: string, status: ServerStatus, config: ServerConfig | undefined, origin: string | undefined, problem: string | undefined): vscode.MarkdownString {
  const t = vscode.l10n.t;
  const target = config ? configuredTarget(config) : '';
  const tip = new vscode.MarkdownString(undefined, true);
  tip.appendMarkdown(`**${name}** ${target ? `— \`${target}\`` : ''}\n\n`);
  const why = status.lastError && status.state !== 'connected' ? `: ${status.lastError}` : '';
  tip.appendMarkdown(`${t('SSH connection')}: ${serverStateText(status.state)}`);
  tip.appendText(why);
  tip.appendMarkdown(`  \n${t('Open tunnels')}: ${status.tunnels}`);
  const from = { settings: 'sshTunnels.servers', sshConfig: '~/.ssh/config', both: 'sshTunnels.servers + ~/.ssh/config' }[origin ?? ''];
  if (from) tip.appendMarkdown(`  \n${t('From')}: ${from}`);
  if (!config && problem) {
    tip.appendMarkdown('  \n$(error) ');
    tip.appendText(problem);
  } else if (!config) tip.appendMarkdown(`  \n_${t('Not in sshTunnels.servers or ~/.ssh/config')}_`);
  return tip;
}

// ---- open tunnels -----------------------------------------------------------------------

/** A description: the state first when it is not simply "active" (so it is never the part cut off), then where it goes. */
function describe(state: string | undefined, where: string, extra?: string): string {
  return [state, where, extra].filter(Boolean).join(' · ');
}

export function tunnelItem(info: TunnelInfo): vscode.TreeItem {
  const item = new vscode.TreeItem(rowLabel(info));
  item.id = `tunnel:${info.id}`;
  const state = stateText(info);
  const plain = info.state === 'active' && !info.targetError;
  const holder = info.openedBy === 'agent' ? vscode.l10n.t('opened by an agent') : info.openedBy === 'extension' ? vscode.l10n.t('held by an extension or a task') : undefined;
  item.description = describe(plain ? undefined : state, whereText(info), holder);
  item.iconPath = tunnelIcon(info.type, info.state, info.state === 'active' && info.targetError ? 'target' : undefined);
  const why = info.state === 'active' ? info.targetError : info.state === 'connecting' ? undefined : info.lastError;
  item.accessibilityInformation = { label: `${forwardSentence(info)}, ${state}${why ? `: ${why}` : ''}${holder ? `, ${holder}` : ''}` };
  // A socket file is no address a browser can open.
  const browsable = info.type === 'local' && info.localPath === undefined ? '.browsable' : '';
  item.contextValue = `tunnel.${info.state}.${info.type}${browsable}.${info.openedBy}`;
  return item;
}

/** A tunnel a peer serves: its kind and live state, and "served by …" after where it goes. */
export function peerTunnelItem(served: PeerTunnel): vscode.TreeItem {
  const { info } = served;
  const item = new vscode.TreeItem(rowLabel(info));
  item.id = peerTunnelItemId(served);
  item.description = describe(servedByText(served), whereText(info));
  item.iconPath = tunnelIcon(info.type, info.state, info.state === 'active' && info.targetError ? 'target' : undefined);
  item.accessibilityInformation = { label: `${forwardSentence(info)}, ${stateText(info)}, ${servedByText(served)}` };
  // Stop and Restart ask the owner; what only the owner's machine state allows (browse, keep) is not offered.
  item.contextValue = 'tunnel.elsewhere';
  return item;
}

export function peerTunnelTooltip(served: PeerTunnel): vscode.MarkdownString {
  const started = new Date(served.peer.startedAt).toLocaleTimeString();
  const owner = vscode.l10n.t('Served by {0} (process {1}, started {2}); Stop and Restart ask it.', describePeer(served.peer), served.peer.pid, started);
  return tunnelTooltip(served.info, owner);
}

/** The head every tunnel tooltip shares: name, kind, server, and the forward as ssh writes it. */
function tooltipHead(f: TunnelFacts): vscode.MarkdownString {
  const tip = new vscode.MarkdownString(undefined, true);
  tip.appendMarkdown(`**${rowLabel(f)}** — ${vscode.l10n.t('{0} through {1}', kindText(f), f.server)}\n\n`);
  tip.appendMarkdown(`\`${sshCommand(f)}\`\n\n`);
  return tip;
}

/** An open tunnel's tooltip with its numbers as they are when hovered; `owner` names the process serving it, when another does. */
export function tunnelTooltip(info: TunnelInfo, owner?: string): vscode.MarkdownString {
  const t = vscode.l10n.t;
  const s = info.stats;
  const tip = tooltipHead(info);
  if (owner) tip.appendMarkdown(`_${owner}_\n\n`);
  if (info.openedBy === 'agent') tip.appendMarkdown(`_${t('Opened by an agent (a language-model tool); stops when VS Code closes.')}_\n\n`);
  if (info.openedBy === 'extension') tip.appendMarkdown(`_${t('Opened for another extension or a task (the SSH Tunnels API); stops once nothing holds it.')}_\n\n`);
  const lines: string[] = [];
  // Up time only while it is up; the reason once, after the state it explains.
  const state = info.state === 'active' ? `${t('active')} (${t('up {0}', duration(Date.now() - info.createdAt))})` : stateText(info);
  const why = info.state !== 'active' && info.state !== 'connecting' && info.lastError ? `: ${info.lastError}` : '';
  lines.push(`${t('State')}: ${state}${why}`);
  if (info.targetError) lines.push(`${t('Target unreachable')}: ${info.targetError}`);
  lines.push(`${t('Traffic')}: ${t('{0} in, {1} out', formatBytes(s.bytesIn), formatBytes(s.bytesOut))}`);
  lines.push(`${t('Connections')}: ${t('{0} open, {1} in all', s.connectionsActive, s.connectionsTotal)}`);
  if (s.connectionsWaiting) lines.push(`${t('Waiting for the SSH connection')}: ${s.connectionsWaiting}`);
  if (s.errors) lines.push(`${t('Failed connections')}: ${s.errors}${info.state === 'active' && info.lastError ? ` (${t('last: {0}', info.lastError)})` : ''}`);
  for (const [i, line] of lines.entries()) {
    // Errors come from servers and the network: shown as text, never as markdown.
    const colon = line.indexOf(': ');
    tip.appendMarkdown(`${line.slice(0, colon + 2)}`);
    tip.appendText(line.slice(colon + 2));
    if (i < lines.length - 1) tip.appendMarkdown('  \n');
  }
  return tip;
}

// ---- tunnels not running ----------------------------------------------------------------

/** The parts every stopped row shares; `origin` says where it is defined (settings, sshConfig, person). */
function stoppedItem(spec: TunnelSpec, origin: 'settings' | 'sshConfig' | 'person', failure: string | undefined): vscode.TreeItem {
  const f = factsOfSpec(spec);
  const item = new vscode.TreeItem(rowLabel(f));
  const word = failure ? vscode.l10n.t('failed') : vscode.l10n.t('stopped');
  item.description = describe(word, whereText(f));
  item.iconPath = tunnelIcon(spec.type, 'stopped', failure ? 'failed' : undefined);
  item.accessibilityInformation = { label: `${forwardSentence(f)}, ${word}${failure ? `: ${failure}` : ''}` };
  item.contextValue = `tunnel.stopped.${spec.type}.${origin}`;
  return item;
}

function stoppedTooltip(spec: TunnelSpec, where: string, failure: string | undefined): vscode.MarkdownString {
  const tip = tooltipHead(factsOfSpec(spec));
  tip.appendMarkdown(where);
  if (failure) {
    tip.appendMarkdown(`  \n${vscode.l10n.t('Could not open')}: `);
    tip.appendText(failure);
  }
  return tip;
}

/** A settings tunnel not running here; `failure` is why its last open failed, if it did. */
export function configuredItem(t: ConfiguredTunnel, failure: string | undefined): vscode.TreeItem {
  return stoppedItem(t.spec, 'settings', failure);
}

export function configuredTooltip(t: ConfiguredTunnel, failure: string | undefined): vscode.MarkdownString {
  const scope = t.fromWorkspace ? vscode.l10n.t('workspace settings') : vscode.l10n.t('user settings');
  return stoppedTooltip(t.spec, vscode.l10n.t('Stopped. Defined in the {0} (sshTunnels.tunnels).', scope), failure);
}

/** A forward of the ssh config not running here. */
export function configForwardItem(spec: TunnelSpec): vscode.TreeItem {
  return stoppedItem(spec, 'sshConfig', undefined);
}

export function configForwardTooltip(spec: TunnelSpec): vscode.MarkdownString {
  const directive = { local: 'LocalForward', remote: 'RemoteForward', dynamic: 'DynamicForward' }[spec.type];
  return stoppedTooltip(spec, vscode.l10n.t('Stopped. Defined in the ssh config ({0}); start it here.', directive), undefined);
}

/** A tunnel a person opened and stopped: kept, to start again, edit or remove. */
export function personStoppedItem(spec: TunnelSpec): vscode.TreeItem {
  return stoppedItem(spec, 'person', undefined);
}

export function personStoppedTooltip(spec: TunnelSpec): vscode.MarkdownString {
  return stoppedTooltip(spec, vscode.l10n.t('Stopped. You opened it in this workspace; Start opens it again, Remove forgets it.'), undefined);
}
