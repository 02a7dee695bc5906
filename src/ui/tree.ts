// The "SSH Tunnels" tree: servers, each with its open tunnels, the tunnels its peers serve,
// and the stopped ones of the settings and the ssh config. What each item looks like: treeItems.ts.
import * as vscode from 'vscode';
import { DisposableStore, type ServerConfig, type TunnelInfo, type TunnelManager, type TunnelSpec } from '../engine';
import type { TunnelCatalogue } from '../catalogue';
import type { PeerTunnel, PeerTunnels } from '../peers';
import { CONFIG_FORWARD_PREFIX, configForwards, stoppedConfigForwards, type ForwardSource } from './configForwards';
import { factsOfSpec, type TunnelFacts } from './rowWords';
import type { SettingsFeed } from './settingsFeed';
import { STOPPED_PREFIX, type StoppedTunnels } from './stoppedTunnels';
import {
  compareRows,
  configForwardItem,
  configForwardTooltip,
  configuredItem,
  configuredTooltip,
  peerTunnelItem,
  peerTunnelItemId,
  peerTunnelTooltip,
  personStoppedItem,
  personStoppedTooltip,
  rowSortKey,
  serverItem,
  serverTooltip,
  tunnelItem,
  tunnelLook,
  tunnelStatsKey,
  tunnelTooltip,
} from './treeItems';

export { configuredDescription, describeTunnel, duration, peerTunnelItemId, hasDefaultName, localAddress, servedByText, tunnelLabel, tunnelLook } from './treeItems';

export type TreeNode =
  | { readonly kind: 'server'; readonly name: string }
  | { readonly kind: 'tunnel'; readonly id: string; readonly server: string }
  /** A tunnel not running: of the settings, of the ssh config (CONFIG_FORWARD_PREFIX) or a person's (STOPPED_PREFIX), by its key. */
  | { readonly kind: 'configured'; readonly key: string; readonly server: string }
  /**
   * A tunnel a peer serves: it runs elsewhere (the kind, like the item's contextValue
   * `tunnel.elsewhere`, is what menus and command arguments name); `id` is its id in that peer.
   */
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

export class TunnelTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly _onDidChangeTreeData = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  /** What each open tunnel's item shows, as last refreshed: events that change only counts leave it alone. */
  private readonly looks = new Map<string, string>();
  /**
   * The counts of each open tunnel whose tooltip VS Code holds (it was hovered since its row was
   * last built); a rebuilt row holds none, and its next hover builds one with the counts of then.
   */
  private readonly counted = new Map<string, string>();
  /** The element whose tooltip was asked for last, and until when it is left alone: a rebuilt row closes its hover. */
  private reading: { id: string; until: number } | undefined;
  /** How long a hovered row is not rebuilt for its counts (another row hovered ends it sooner). */
  static readonly READING_MS = 60_000;
  /** One node object per id, so a refresh of one element reaches the element VS Code holds. */
  private readonly nodes = new Map<string, TreeNode>();
  private readonly disposables = new DisposableStore();
  /** Elements refreshed so far, by kind (tests read it to see that refreshes are targeted). */
  readonly refreshes = { root: 0, server: 0, tunnel: 0 };

  /** Per server, the ids of the tunnels peers serve as last shown. */
  private shownPeerTunnels = new Map<string, string>();

  constructor(
    private readonly manager: TunnelManager,
    private readonly servers: TreeServers,
    private readonly settingsFeed: SettingsFeed,
    private readonly catalogue: TunnelCatalogue,
    private readonly peers?: PeerTunnels,
    private readonly stopped?: StoppedTunnels,
  ) {
    const known = new Set(manager.listTunnels().map((t) => t.id));
    this.disposables.add(this._onDidChangeTreeData);
    this.disposables.add(this._onDidGainChildren);
    if (peers) this.disposables.add(peers.onDidChange(() => this.followPeers()));
    if (stopped) this.disposables.add(stopped.onDidChange(() => this.refresh()));
    this.disposables.add(
      manager.onDidChangeTunnel((info) => {
        // A tunnel that appears or goes changes its server's children; otherwise only itself changed.
        const appeared = !known.has(info.id) && info.state !== 'closed';
        if (info.state === 'closed') {
          known.delete(info.id);
          this.nodes.delete(`tunnel:${info.id}`);
          this.looks.delete(info.id);
          this.counted.delete(info.id);
        } else {
          known.add(info.id);
        }
        const look = info.state === 'closed' ? '' : tunnelLook(info);
        const changed = look !== this.looks.get(info.id);
        if (info.state !== 'closed') this.looks.set(info.id, look);
        if (appeared || info.state === 'closed') this.refreshServer(info.server);
        // Counts show in the tooltip only, which the visible view's timer refreshes: under
        // connection churn an event comes every turn of the event loop, and the item is the same.
        else if (changed) this.refreshTunnel(info);
      }),
    );
    // A server's events come with each redial; its row (and so its tunnels' rows, which a refresh redraws) only when it looks different.
    this.disposables.add(manager.onDidChangeServer((status) => this.serverMayHaveChanged(status.name)));
    this.disposables.add(settingsFeed.onDidChange(() => this.refresh()));
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

  /** Whether a node still stands for something shown (a focused row may outlive its tunnel). */
  has(node: TreeNode): boolean {
    switch (node.kind) {
      case 'server':
        return this.serverNames().includes(node.name);
      case 'tunnel':
        return this.manager.getTunnel(node.id) !== undefined;
      case 'elsewhere':
        return this.peerTunnelOf(node) !== undefined;
      case 'configured':
        return this.getChildren(this.node({ kind: 'server', name: node.server })).some((n) => n.kind === 'configured' && n.key === node.key);
    }
  }

  /** Whether each server's row had children when last drawn. */
  private readonly hadChildren = new Map<string, boolean>();
  private readonly _onDidGainChildren = new vscode.EventEmitter<TreeNode>();
  /** Fires with a server whose row gets its first child: the view expands it, so the new row shows. */
  readonly onDidGainChildren = this._onDidGainChildren.event;

  /** What each server's item showed when last drawn. */
  private readonly serverLooks = new Map<string, string>();

  private serverLook(name: string): string {
    const item = this.serverItem(name);
    return [item.description, (item.iconPath as vscode.ThemeIcon | undefined)?.id, item.contextValue, item.accessibilityInformation?.label, item.collapsibleState].join('\n');
  }

  private serverMayHaveChanged(name: string): void {
    if (this.nodes.has(`server:${name}`) && this.serverLooks.get(name) === this.serverLook(name)) return;
    this.refreshServer(name);
  }

  private refreshServer(name: string): void {
    const id = `server:${name}`;
    // A server not shown yet (first tunnel of a server missing from settings) needs the root.
    if (this.nodes.has(id)) this.refresh(this.nodes.get(id));
    else this.refresh();
  }

  private refreshTunnel(info: TunnelInfo): void {
    this.counted.delete(info.id);
    this.refresh(this.node({ kind: 'tunnel', id: info.id, server: info.server }));
  }

  refresh(node?: TreeNode): void {
    if (!node) this.refreshes.root++;
    else if (node.kind === 'server') this.refreshes.server++;
    else this.refreshes.tunnel++;
    this._onDidChangeTreeData.fire(node);
  }

  /** The peers' tunnels changed: a server whose list changed is redrawn, otherwise only the items (state, traffic). */
  private followPeers(): void {
    const now = new Map<string, string>();
    for (const t of this.peers?.list() ?? []) now.set(t.info.server, `${now.get(t.info.server) ?? ''}${peerTunnelItemId(t)}\n`);
    for (const server of new Set([...now.keys(), ...this.shownPeerTunnels.keys()])) {
      if (now.get(server) !== this.shownPeerTunnels.get(server)) {
        this.refreshServer(server);
        continue;
      }
      for (const t of this.peers?.list(server) ?? []) {
        const node = this.nodes.get(peerTunnelItemId(t));
        if (node) this.refresh(node);
      }
    }
    // Gone ones leave no node behind.
    for (const [id, node] of this.nodes) if (node.kind === 'elsewhere' && !this.peerTunnelOf(node)) this.nodes.delete(id);
    this.shownPeerTunnels = now;
  }

  /** The tunnel a peer serves that a node shows, as last announced. */
  private peerTunnelOf(node: { peerId: string; id: string; server: string }): PeerTunnel | undefined {
    return this.peers?.list(node.server).find((t) => t.peer.id === node.peerId && t.info.id === node.id);
  }

  /** Whether a peer serves what `spec` would listen on: it is shown as that peer's tunnel, not as stopped here. */
  private servedByPeer(spec: TunnelSpec): boolean {
    return this.peers?.serving(spec) !== undefined;
  }

  serverNames(): string[] {
    const names = new Set(this.servers.list().map((s) => s.alias));
    for (const b of this.servers.brokenServers?.() ?? []) names.add(b.name);
    for (const t of this.manager.listTunnels()) names.add(t.server);
    for (const t of this.settingsFeed.configured()) names.add(t.spec.server);
    for (const t of this.peers?.list() ?? []) names.add(t.info.server);
    for (const t of this.stopped?.list() ?? []) names.add(t.spec.server);
    return [...names];
  }

  getChildren(element?: TreeNode): TreeNode[] {
    if (!element) return this.serverNames().map((name) => this.node({ kind: 'server', name }));
    if (element.kind !== 'server') return [];
    const rows: { node: TreeNode; sortKey: string; tie: string }[] = [];
    const add = (node: TreeNode, facts: TunnelFacts) => rows.push({ node, sortKey: rowSortKey(facts), tie: this.nodeId(node) });
    for (const t of this.manager.listTunnels(element.name)) add(this.node({ kind: 'tunnel', id: t.id, server: t.server }), t);
    for (const t of this.peers?.list(element.name) ?? []) add(this.node({ kind: 'elsewhere', peerId: t.peer.id, id: t.info.id, server: t.info.server }), t.info);
    for (const t of this.settingsFeed.stopped(element.name)) {
      if (!this.servedByPeer(t.spec)) add(this.node({ kind: 'configured', key: t.key, server: t.spec.server }), factsOfSpec(t.spec));
    }
    for (const f of this.stoppedForwards(element.name)) add(this.node({ kind: 'configured', key: f.key, server: f.spec.server }), factsOfSpec(f.spec));
    for (const s of this.stopped?.list(element.name) ?? []) add(this.node({ kind: 'configured', key: s.key, server: s.spec.server }), factsOfSpec(s.spec));
    // By name or port, whatever state each is in: a restart or a stop never moves a row under the pointer.
    return rows.sort(compareRows).map((r) => r.node);
  }

  /** The ssh config's forwards of a server neither running here nor served by a peer. */
  private stoppedForwards(server: string) {
    const forwards = stoppedConfigForwards(this.servers, (key) => this.catalogue.isRunning(key), server);
    return this.peers ? forwards.filter((f) => !this.servedByPeer(f.spec)) : forwards;
  }

  getParent(element: TreeNode): TreeNode | undefined {
    return element.kind === 'server' ? undefined : this.node({ kind: 'server', name: element.server });
  }

  /**
   * Items come without a tooltip: VS Code asks for it here when one is hovered, with the numbers of
   * that moment. Building thousands of tooltips up front (a large ssh config) would hold the
   * extension host. The hovered row is then left alone while it is read.
   */
  resolveTreeItem(item: vscode.TreeItem, element: TreeNode): vscode.TreeItem {
    item.tooltip = this.tooltip(element);
    const id = this.nodeId(element);
    this.reading = { id, until: Date.now() + TunnelTreeProvider.READING_MS };
    if (element.kind === 'tunnel') {
      const info = this.manager.getTunnel(element.id);
      if (info) this.counted.set(info.id, tunnelStatsKey(info));
    }
    return item;
  }

  /** The tooltip of an element as it is now. */
  tooltip(element: TreeNode): vscode.MarkdownString | undefined {
    if (element.kind === 'server') return this.serverTooltip(element.name);
    if (element.kind === 'tunnel') {
      const info = this.manager.getTunnel(element.id);
      return info && tunnelTooltip(info);
    }
    if (element.kind === 'elsewhere') {
      const served = this.peerTunnelOf(element);
      return served && peerTunnelTooltip(served);
    }
    if (element.key.startsWith(CONFIG_FORWARD_PREFIX)) {
      const f = configForwards(this.servers, element.server).find((c) => c.key === element.key);
      return f && configForwardTooltip(f.spec);
    }
    if (element.key.startsWith(STOPPED_PREFIX)) {
      const s = this.stopped?.get(element.key);
      return s && personStoppedTooltip(s.spec);
    }
    const t = this.settingsFeed.configured().find((c) => c.key === element.key);
    return t && configuredTooltip(t, this.settingsFeed.lastFailure(t.key));
  }

  getTreeItem(element: TreeNode): vscode.TreeItem {
    if (element.kind === 'server') {
      this.serverLooks.set(element.name, this.serverLook(element.name));
      const item = this.serverItem(element.name);
      // VS Code keeps a row collapsed that had no children when it was drawn: the first tunnel of a server would not show.
      const had = this.hadChildren.get(element.name);
      const has = item.collapsibleState !== vscode.TreeItemCollapsibleState.None;
      this.hadChildren.set(element.name, has);
      if (has && had === false) this._onDidGainChildren.fire(element);
      return item;
    }
    if (element.kind === 'tunnel') {
      const info = this.manager.getTunnel(element.id);
      // A fresh item holds no tooltip: nothing to bring up to date until it is hovered.
      this.counted.delete(element.id);
      if (info) return tunnelItem(info);
      const gone = new vscode.TreeItem(vscode.l10n.t('(stopped)'));
      gone.id = this.nodeId(element);
      return gone;
    }
    if (element.kind === 'elsewhere') {
      const served = this.peerTunnelOf(element);
      const item = served ? peerTunnelItem(served) : new vscode.TreeItem(vscode.l10n.t('(stopped)'));
      item.id = this.nodeId(element);
      return item;
    }
    let item: vscode.TreeItem | undefined;
    if (element.key.startsWith(CONFIG_FORWARD_PREFIX)) {
      const f = configForwards(this.servers, element.server).find((c) => c.key === element.key);
      if (f) item = configForwardItem(f.spec);
    } else if (element.key.startsWith(STOPPED_PREFIX)) {
      const s = this.stopped?.get(element.key);
      if (s) item = personStoppedItem(s.spec);
    } else {
      const t = this.settingsFeed.configured().find((c) => c.key === element.key);
      if (t) item = configuredItem(t, this.settingsFeed.lastFailure(t.key));
    }
    item ??= new vscode.TreeItem(element.key);
    item.id = this.nodeId(element);
    return item;
  }

  /** What the list holds for a server (peek: a large ssh config is still being resolved in slices; the item is redrawn when it is). */
  private serverConfig(name: string): ServerConfig | undefined {
    return this.servers.peek ? this.servers.peek(name) : this.servers.get(name);
  }

  private serverItem(name: string): vscode.TreeItem {
    const stopped = this.settingsFeed.stopped(name).length + stoppedConfigForwards(this.servers, (key) => this.catalogue.isRunning(key), name).length + (this.stopped?.list(name).length ?? 0);
    const served = this.peers?.list(name).length ?? 0;
    const status = this.manager.serverStatus(name);
    const config = this.serverConfig(name);
    return serverItem(name, status, config, config ? undefined : this.servers.problemFor?.(name), status.tunnels + stopped + served);
  }

  private serverTooltip(name: string): vscode.MarkdownString {
    const config = this.serverConfig(name);
    return serverTooltip(name, this.manager.serverStatus(name), config, this.servers.origin?.(name), config ? undefined : this.servers.problemFor?.(name));
  }

  /**
   * The visible view's timer: an open tunnel whose tooltip was built and whose counts changed
   * since gets its row rebuilt, so that its next hover shows them; never the row whose tooltip is
   * being read, a quiet one, or one not hovered since it was built (a rebuild in a hover's delay
   * would lose that hover).
   */
  refreshTunnels(): void {
    const reading = this.reading && this.reading.until > Date.now() ? this.reading.id : undefined;
    for (const t of this.manager.listTunnels()) {
      const counted = this.counted.get(t.id);
      if (counted === undefined || reading === `tunnel:${t.id}` || counted === tunnelStatsKey(t)) continue;
      this.refreshTunnel(t);
    }
  }

  dispose(): void {
    this.disposables.dispose();
  }
}
