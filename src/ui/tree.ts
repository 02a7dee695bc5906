// The "SSH Tunnels" tree: servers, each with its open tunnels and the stopped ones of the settings and the ssh config.
import * as vscode from 'vscode';
import { describeForward, formatBytes, makeAddress, type ServerConfig, type ServerStatus, type TunnelInfo, type TunnelManager, type TunnelSpec } from '../engine';
import type { TunnelCatalogue } from '../peers/catalogue';
import { describePeer, type ServedTunnel, type TunnelsElsewhere } from '../peers/types';
import { CONFIG_FORWARD_PREFIX, configForwards, stoppedConfigForwards, type ForwardSource } from './configForwards';
import type { ConfiguredTunnel } from './settings';
import type { SettingsTunnels } from './settingsTunnels';

export type TreeNode =
  | { readonly kind: 'server'; readonly name: string }
  | { readonly kind: 'tunnel'; readonly id: string; readonly server: string }
  | { readonly kind: 'configured'; readonly key: string; readonly server: string }
  /** A tunnel another process serves: `id` is its id in that process. */
  | { readonly kind: 'elsewhere'; readonly peerId: string; readonly id: string; readonly server: string };

export function isTreeNode(v: unknown): v is TreeNode {
  return !!v && typeof v === 'object' && ['server', 'tunnel', 'configured', 'elsewhere'].includes((v as { kind?: string }).kind ?? '');
}

/** What the tree reads of the server registry: the ServerSource, and the extras a registry may have. */
export interface TreeServers extends ForwardSource {
  /** Entries that cannot be used, by name. */
  brokenServers?(): { name: string }[];
  /** Why a name cannot be used, if it cannot. */
  problemFor?(name: string): string | undefined;
  /** A server as listed, without resolving it (a large ssh config is resolved in slices). */
  peek?(name: string): ServerConfig | undefined;
  /** Where a server is defined. */
  origin?(name: string): string | undefined;
}

/** The tree id of a tunnel another process serves: stable for that tunnel's life. */
export function elsewhereItemId(served: Pick<ServedTunnel, 'peer' | 'info'>): string {
  return `elsewhere:${served.peer.id}:${served.info.id}`;
}

/** "served by window of folder api": an item's description for a tunnel another process serves. */
export function servedByText(served: Pick<ServedTunnel, 'peer'>): string {
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

  /** Per server, the ids of the tunnels other processes serve as last shown. */
  private shownElsewhere = new Map<string, string>();

  constructor(
    private readonly manager: TunnelManager,
    private readonly servers: TreeServers,
    private readonly settingsTunnels: SettingsTunnels,
    private readonly catalogue: TunnelCatalogue,
    private readonly elsewhere?: TunnelsElsewhere,
  ) {
    const known = new Set(manager.listTunnels().map((t) => t.id));
    if (elsewhere) this.disposables.push(elsewhere.onDidChange(() => this.followElsewhere()));
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
    switch (n.kind) {
      case 'server':
        return `server:${n.name}`;
      case 'tunnel':
        return `tunnel:${n.id}`;
      case 'configured':
        return `configured:${n.key}`;
      case 'elsewhere':
        return `elsewhere:${n.peerId}:${n.id}`;
    }
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

  /** Other processes' tunnels changed: a server whose list changed is redrawn, otherwise only the items (state, traffic). */
  private followElsewhere(): void {
    const now = new Map<string, string>();
    for (const t of this.elsewhere?.list() ?? []) now.set(t.info.server, `${now.get(t.info.server) ?? ''}${elsewhereItemId(t)}\n`);
    for (const server of new Set([...now.keys(), ...this.shownElsewhere.keys()])) {
      if (now.get(server) !== this.shownElsewhere.get(server)) {
        this.refreshServer(server);
        continue;
      }
      for (const t of this.elsewhere?.list(server) ?? []) {
        const node = this.nodes.get(elsewhereItemId(t));
        if (node) this.refresh(node);
      }
    }
    // Gone ones leave no node behind.
    for (const [id, node] of this.nodes) if (node.kind === 'elsewhere' && !this.servedFor(node)) this.nodes.delete(id);
    this.shownElsewhere = now;
  }

  /** The tunnel another process serves that a node shows, as last announced. */
  private servedFor(node: { peerId: string; id: string; server: string }): ServedTunnel | undefined {
    return this.elsewhere?.list(node.server).find((t) => t.peer.id === node.peerId && t.info.id === node.id);
  }

  /** Whether another process serves what `spec` would listen on: it is shown as that process's tunnel, not as stopped here. */
  private servedElsewhere(spec: TunnelSpec): boolean {
    return this.elsewhere?.serving(spec) !== undefined;
  }

  serverNames(): string[] {
    const names = new Set(this.servers.list().map((s) => s.host));
    for (const b of this.servers.brokenServers?.() ?? []) names.add(b.name);
    for (const t of this.manager.listTunnels()) names.add(t.server);
    for (const t of this.settingsTunnels.configured()) names.add(t.spec.server);
    for (const t of this.elsewhere?.list() ?? []) names.add(t.info.server);
    return [...names];
  }

  getChildren(element?: TreeNode): TreeNode[] {
    if (!element) return this.serverNames().map((name) => this.node({ kind: 'server', name }));
    if (element.kind !== 'server') return [];
    const open = this.manager.listTunnels(element.name).map((t) => this.node({ kind: 'tunnel', id: t.id, server: t.server }));
    const served = (this.elsewhere?.list(element.name) ?? []).map((t) => this.node({ kind: 'elsewhere', peerId: t.peer.id, id: t.info.id, server: t.info.server }));
    const stopped = this.settingsTunnels
      .stopped(element.name)
      .filter((t) => !this.servedElsewhere(t.spec))
      .map((t) => this.node({ kind: 'configured', key: t.key, server: t.spec.server }));
    const fromConfig = this.stoppedForwards(element.name)
      .map((f) => this.node({ kind: 'configured', key: f.key, server: f.spec.server }));
    return [...open, ...served, ...stopped, ...fromConfig];
  }

  /** The ssh config's forwards of a server neither running here nor served by another process. */
  private stoppedForwards(server: string) {
    const forwards = stoppedConfigForwards(this.servers, (key) => this.catalogue.isRunning(key), server);
    return this.elsewhere ? forwards.filter((f) => !this.servedElsewhere(f.spec)) : forwards;
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
    if (element.kind === 'elsewhere') {
      const served = this.servedFor(element);
      return served && this.elsewhereTooltip(served);
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
    if (element.kind === 'elsewhere') {
      const served = this.servedFor(element);
      const item = served ? this.elsewhereItem(served) : new vscode.TreeItem(vscode.l10n.t('(closed)'));
      item.id = this.nodeId(element);
      return item;
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
    return this.servers.peek ? this.servers.peek(name) : this.servers.get(name);
  }

  private serverItem(name: string): vscode.TreeItem {
    const status = this.manager.serverStatus(name);
    const config = this.serverConfig(name);
    const stopped = this.settingsTunnels.stopped(name).length + stoppedConfigForwards(this.servers, (key) => this.catalogue.isRunning(key), name).length;
    const served = this.elsewhere?.list(name).length ?? 0;
    const item = new vscode.TreeItem(name, status.tunnels + stopped + served > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = `server:${name}`;
    const state = stateText(status.state);
    item.description = status.tunnels ? `${state} · ${status.tunnels === 1 ? vscode.l10n.t('1 tunnel') : vscode.l10n.t('{0} tunnels', status.tunnels)}` : state;
    item.iconPath = SERVER_ICON[status.state];
    if (!config && this.servers.problemFor?.(name)) {
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
    const origin = this.servers.origin?.(name);
    const from = { settings: 'sshTunnels.servers', sshConfig: '~/.ssh/config', both: 'sshTunnels.servers + ~/.ssh/config' }[origin ?? ''];
    if (from) tip.appendMarkdown(`  \n${vscode.l10n.t('From')}: ${from}`);
    const problem = config ? undefined : this.servers.problemFor?.(name);
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

  /** A tunnel another process serves: its live state icon, and "served by …" where the state would be. */
  private elsewhereItem(served: ServedTunnel): vscode.TreeItem {
    const { info } = served;
    const item = new vscode.TreeItem(tunnelLabel(info));
    item.id = elsewhereItemId(served);
    item.description = servedByText(served);
    item.iconPath = STATE_ICON[info.state];
    // Close and Restart ask the owner; what only the owner's machine state allows (browse, keep) is not offered.
    item.contextValue = 'tunnel.elsewhere';
    return item;
  }

  private elsewhereTooltip(served: ServedTunnel): vscode.MarkdownString {
    const started = new Date(served.peer.startedAt).toLocaleTimeString();
    const owner = vscode.l10n.t('Served by {0} (process {1}, started {2}); Close and Restart ask it.', describePeer(served.peer), served.peer.pid, started);
    return this.tunnelTooltip(served.info, owner);
  }

  tunnelTooltip(info: TunnelInfo, owner?: string): vscode.MarkdownString {
    const s = info.stats;
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${tunnelLabel(info)}** — ${info.server}\n\n`);
    tip.appendMarkdown(`\`${describeTunnel(info)}\`\n\n`);
    if (owner) tip.appendMarkdown(`_${owner}_\n\n`);
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
