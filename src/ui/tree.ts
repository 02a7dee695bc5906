// The "SSH Tunnels" tree: servers, each with its open tunnels and the stopped ones of the settings and the ssh config.
import * as vscode from 'vscode';
import { describeForward, formatBytes, makeAddress, type ServerConfig, type ServerSource, type ServerStatus, type TunnelInfo, type TunnelManager, type TunnelSpec } from '../engine';
import { CONFIG_FORWARD_PREFIX, configForwards, stoppedConfigForwards } from './configForwards';
import type { ConfiguredTunnel } from './settings';
import type { SettingsTunnels } from './settingsTunnels';

export type TreeNode =
  | { readonly kind: 'server'; readonly name: string }
  | { readonly kind: 'tunnel'; readonly id: string; readonly server: string }
  | { readonly kind: 'configured'; readonly key: string; readonly server: string };

export function isTreeNode(v: unknown): v is TreeNode {
  return !!v && typeof v === 'object' && ['server', 'tunnel', 'configured'].includes((v as { kind?: string }).kind ?? '');
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

export class TunnelTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly _onDidChangeTreeData = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  /** What each open tunnel's item shows, as last refreshed: events that change only counts leave it alone. */
  private readonly looks = new Map<string, string>();
  /** One node object per id, so a refresh of one element reaches the element VS Code holds. */
  private readonly nodes = new Map<string, TreeNode>();
  private readonly disposables: vscode.Disposable[] = [this._onDidChangeTreeData];
  /** Elements refreshed so far, by kind (tests read it to see that refreshes are targeted). */
  readonly refreshes = { root: 0, server: 0, tunnel: 0 };

  constructor(
    private readonly manager: TunnelManager,
    private readonly servers: ServerSource,
    private readonly settingsTunnels: SettingsTunnels,
  ) {
    const known = new Set(manager.listTunnels().map((t) => t.id));
    this.disposables.push(
      manager.onDidChangeTunnel((info) => {
        // A tunnel that appears or goes changes its server's children; otherwise only itself changed.
        const appeared = !known.has(info.id) && info.state !== 'closed';
        if (info.state === 'closed') {
          known.delete(info.id);
          this.nodes.delete(`tunnel:${info.id}`);
          this.looks.delete(info.id);
        } else {
          known.add(info.id);
        }
        const look = info.state === 'closed' ? '' : tunnelLook(info);
        const changed = look !== this.looks.get(info.id);
        if (info.state !== 'closed') this.looks.set(info.id, look);
        if (appeared || info.state === 'closed') this.refreshServer(info.server);
        // Counts show in the tooltip only, which the visible view's timer refreshes: under
        // connection churn an event comes every turn of the event loop, and the item is the same.
        else if (changed) this.refresh(this.node({ kind: 'tunnel', id: info.id, server: info.server }));
      }),
      manager.onDidChangeServer((status) => this.refreshServer(status.name)),
      settingsTunnels.onDidChange(() => this.refresh()),
    );
  }

  private nodeId(n: TreeNode): string {
    return n.kind === 'server' ? `server:${n.name}` : n.kind === 'tunnel' ? `tunnel:${n.id}` : `configured:${n.key}`;
  }

  private node<T extends TreeNode>(n: T): T {
    const id = this.nodeId(n);
    const existing = this.nodes.get(id);
    if (existing) return existing as T;
    this.nodes.set(id, n);
    return n;
  }

  private refreshServer(name: string): void {
    const id = `server:${name}`;
    // A server not shown yet (first tunnel of a server missing from settings) needs the root.
    if (this.nodes.has(id)) this.refresh(this.nodes.get(id));
    else this.refresh();
  }

  refresh(node?: TreeNode): void {
    if (!node) this.refreshes.root++;
    else if (node.kind === 'server') this.refreshes.server++;
    else this.refreshes.tunnel++;
    this._onDidChangeTreeData.fire(node);
  }

  /** The registry's optional extras: unusable servers and why, a look at a server without resolving it, where it comes from. */
  private get registry(): {
    brokenServers?: () => { name: string }[];
    problemFor?: (name: string) => string | undefined;
    peek?: (name: string) => ServerConfig | undefined;
    origin?: (name: string) => string | undefined;
  } {
    return this.servers as never;
  }

  serverNames(): string[] {
    const names = new Set(this.servers.list().map((s) => s.host));
    for (const b of this.registry.brokenServers?.() ?? []) names.add(b.name);
    for (const t of this.manager.listTunnels()) names.add(t.server);
    for (const t of this.settingsTunnels.configured()) names.add(t.spec.server);
    return [...names];
  }

  getChildren(element?: TreeNode): TreeNode[] {
    if (!element) return this.serverNames().map((name) => this.node({ kind: 'server', name }));
    if (element.kind !== 'server') return [];
    const open = this.manager.listTunnels(element.name).map((t) => this.node({ kind: 'tunnel', id: t.id, server: t.server }));
    const stopped = this.settingsTunnels
      .stopped(element.name)
      .map((t) => this.node({ kind: 'configured', key: t.key, server: t.spec.server }));
    const fromConfig = stoppedConfigForwards(this.servers, this.manager.listTunnels(element.name), element.name)
      .map((f) => this.node({ kind: 'configured', key: f.key, server: f.spec.server }));
    return [...open, ...stopped, ...fromConfig];
  }

  getParent(element: TreeNode): TreeNode | undefined {
    return element.kind === 'server' ? undefined : this.node({ kind: 'server', name: element.server });
  }

  /**
   * Items come without a tooltip: VS Code asks for it here when one is hovered. Building
   * thousands of tooltips up front (a large ssh config) would hold the extension host.
   */
  resolveTreeItem(item: vscode.TreeItem, element: TreeNode): vscode.TreeItem {
    item.tooltip ??= this.tooltip(element);
    return item;
  }

  /** The tooltip of an element as it is now. */
  tooltip(element: TreeNode): vscode.MarkdownString | undefined {
    if (element.kind === 'server') return this.serverTooltip(element.name);
    if (element.kind === 'tunnel') {
      const info = this.manager.getTunnel(element.id);
      return info && this.tunnelTooltip(info);
    }
    if (element.key.startsWith(CONFIG_FORWARD_PREFIX)) {
      const f = configForwards(this.servers, element.server).find((c) => c.key === element.key);
      return f && this.configForwardTooltip(f.spec);
    }
    const t = this.settingsTunnels.configured().find((c) => c.key === element.key);
    return t && this.configuredTooltip(t);
  }

  getTreeItem(element: TreeNode): vscode.TreeItem {
    if (element.kind === 'server') return this.serverItem(element.name);
    if (element.kind === 'tunnel') {
      const info = this.manager.getTunnel(element.id);
      if (info) return this.tunnelItem(info);
      const gone = new vscode.TreeItem(vscode.l10n.t('(closed)'));
      gone.id = this.nodeId(element);
      return gone;
    }
    if (element.key.startsWith(CONFIG_FORWARD_PREFIX)) {
      const f = configForwards(this.servers, element.server).find((c) => c.key === element.key);
      const item = f ? this.configForwardItem(f.spec) : new vscode.TreeItem(element.key);
      item.id = this.nodeId(element);
      return item;
    }
    const t = this.settingsTunnels.configured().find((c) => c.key === element.key);
    const item = t ? this.configuredItem(t) : new vscode.TreeItem(element.key);
    item.id = this.nodeId(element);
    return item;
  }

  /** What the list holds for a server (peek: a large ssh config is still being resolved in slices; the item is redrawn when it is). */
  private serverConfig(name: string): ServerConfig | undefined {
    return this.registry.peek ? this.registry.peek(name) : this.servers.get(name);
  }

  private serverItem(name: string): vscode.TreeItem {
    const status = this.manager.serverStatus(name);
    const config = this.serverConfig(name);
    // Asked for thousands of servers at once: most have no tunnel open, and nothing to list.
    const open = status.tunnels ? this.manager.listTunnels(name) : [];
    const stopped = this.settingsTunnels.stopped(name).length + stoppedConfigForwards(this.servers, open, name).length;
    const item = new vscode.TreeItem(name, status.tunnels + stopped > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = `server:${name}`;
    const state = stateText(status.state);
    item.description = status.tunnels ? `${state} · ${status.tunnels === 1 ? vscode.l10n.t('1 tunnel') : vscode.l10n.t('{0} tunnels', status.tunnels)}` : state;
    item.iconPath = SERVER_ICON[status.state];
    if (!config && this.registry.problemFor?.(name)) {
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
      item.description = vscode.l10n.t('cannot be used');
    }
    const connected = status.state === 'connected' || status.state === 'reconnecting' || status.state === 'connecting';
    item.contextValue = `server.${connected ? 'connected' : 'disconnected'}${status.tunnels ? '.hasTunnels' : ''}`;
    return item;
  }

  private serverTooltip(name: string): vscode.MarkdownString {
    const status = this.manager.serverStatus(name);
    const config = this.serverConfig(name);
    const state = stateText(status.state);
    const target = config ? `${config.user ? config.user + '@' : ''}${config.hostName ?? config.host}${config.port ? ':' + config.port : ''}` : '';
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${name}** ${target ? `— \`${target}\`` : ''}\n\n`);
    tip.appendMarkdown(`${vscode.l10n.t('SSH connection')}: ${state}  \n${vscode.l10n.t('Open tunnels')}: ${status.tunnels}`);
    if (status.lastError) tip.appendMarkdown(`  \n${vscode.l10n.t('Last error')}: ${status.lastError}`);
    const origin = this.registry.origin?.(name);
    const from = { settings: 'sshTunnels.servers', sshConfig: '~/.ssh/config', both: 'sshTunnels.servers + ~/.ssh/config' }[origin ?? ''];
    if (from) tip.appendMarkdown(`  \n${vscode.l10n.t('From')}: ${from}`);
    const problem = config ? undefined : this.registry.problemFor?.(name);
    if (problem) {
      tip.appendMarkdown('  \n$(error) ');
      tip.appendText(problem);
    } else if (!config) tip.appendMarkdown(`  \n_${vscode.l10n.t('Not in sshTunnels.servers or ~/.ssh/config')}_`);
    return tip;
  }

  private tunnelItem(info: TunnelInfo): vscode.TreeItem {
    const description = describeTunnel(info);
    const label = tunnelLabel(info);
    const item = new vscode.TreeItem(label);
    item.id = `tunnel:${info.id}`;
    item.description = label === description ? info.state : `${description} · ${info.state}`;
    if (info.openedBy === 'agent') item.description += ` · ${vscode.l10n.t('opened by an agent')}`;
    item.iconPath = STATE_ICON[info.state];
    // A socket file is no address a browser can open.
    const browsable = info.type === 'local' && info.localPath === undefined ? '.browsable' : '';
    item.contextValue = `tunnel.${info.state}.${info.type}${browsable}.${info.openedBy}`;
    return item;
  }

  tunnelTooltip(info: TunnelInfo): vscode.MarkdownString {
    const s = info.stats;
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${tunnelLabel(info)}** — ${info.server}\n\n`);
    tip.appendMarkdown(`\`${describeTunnel(info)}\`\n\n`);
    if (info.openedBy === 'agent') tip.appendMarkdown(`_${vscode.l10n.t('Opened by an agent (a language-model tool); closes when VS Code closes.')}_\n\n`);
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

  private configuredItem(t: ConfiguredTunnel): vscode.TreeItem {
    const spec = t.spec;
    const description = configuredDescription(spec);
    const failure = this.settingsTunnels.lastFailure(t.key);
    const item = new vscode.TreeItem(spec.name ?? description);
    item.description = spec.name ? `${description} · ${vscode.l10n.t('stopped')}` : vscode.l10n.t('stopped');
    item.iconPath = failure ? new vscode.ThemeIcon('debug-stop', new vscode.ThemeColor('list.errorForeground')) : new vscode.ThemeIcon('debug-stop');
    item.contextValue = 'tunnel.stopped';
    return item;
  }

  private configuredTooltip(t: ConfiguredTunnel): vscode.MarkdownString {
    const spec = t.spec;
    const failure = this.settingsTunnels.lastFailure(t.key);
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${spec.name ?? configuredDescription(spec)}** — ${spec.server}\n\n`);
    tip.appendMarkdown(vscode.l10n.t('Defined in settings ({0}); not running.', t.fromWorkspace ? vscode.l10n.t('workspace') : vscode.l10n.t('user')));
    if (failure) tip.appendMarkdown(`  \n${vscode.l10n.t('Last error')}: ${failure}`);
    return tip;
  }

  private configForwardItem(spec: TunnelSpec): vscode.TreeItem {
    const item = new vscode.TreeItem(configuredDescription(spec));
    item.description = vscode.l10n.t('stopped');
    item.iconPath = new vscode.ThemeIcon('debug-stop');
    item.contextValue = 'tunnel.stopped';
    return item;
  }

  private configForwardTooltip(spec: TunnelSpec): vscode.MarkdownString {
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${configuredDescription(spec)}** — ${spec.server}\n\n`);
    tip.appendMarkdown(vscode.l10n.t('Defined in the ssh config ({0}Forward); not running. Start it here.', { local: 'Local', remote: 'Remote', dynamic: 'Dynamic' }[spec.type]));
    return tip;
  }

  /** Refreshes every open tunnel's item (live tooltip stats) without touching the rest. */
  refreshTunnels(): void {
    for (const t of this.manager.listTunnels()) this.refresh(this.node({ kind: 'tunnel', id: t.id, server: t.server }));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
