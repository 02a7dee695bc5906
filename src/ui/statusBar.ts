// The status bar item: `$(plug) <active tunnels> · <active connections>`, then ` · <n> elsewhere`
// when peers (other processes) serve tunnels, warning look while a tunnel is failed or reconnecting, a
// tooltip listing tunnels and the processes serving others; a click focuses the tree.
import * as vscode from 'vscode';
import { DisposableStore, type TunnelManager } from '../engine';
import { describePeer, type PeerTunnels } from '../peers';
import { describeTunnel, tunnelLabel } from './treeItems';

export class TunnelStatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private readonly disposables = new DisposableStore();
  private timer: NodeJS.Timeout | undefined;
  /** Connection counts change with every connection: the item follows them at most this often. */
  static readonly COUNTS_EVERY_MS = 250;
  /** A coalesced update for count-only changes, while one is due. */
  private soon: NodeJS.Timeout | undefined;
  /** Each open tunnel's state as last seen: a change of state shows at once, a change of counts within COUNTS_EVERY_MS. */
  private readonly states = new Map<string, string>();
  /** Updates made for tunnel events, by cause (tests read it to see that count-only changes are coalesced). */
  readonly updates = { now: 0, coalesced: 0 };

  constructor(
    private readonly manager: TunnelManager,
    private readonly hasServers: () => boolean,
    focusCommand: string,
    private readonly peers?: PeerTunnels,
  ) {
    this.item = this.disposables.add(vscode.window.createStatusBarItem('sshTunnels.status', vscode.StatusBarAlignment.Left, 10));
    this.item.name = vscode.l10n.t('SSH Tunnels');
    this.item.command = focusCommand;
    this.disposables.add(manager.onDidChangeTunnel((info) => this.onTunnel(info)));
    this.disposables.add(manager.onDidChangeServer(() => this.update()));
    if (peers) this.disposables.add(peers.onDidChange(() => this.update()));
    this.update();
  }

  /**
   * Under connection churn the engine reports counts every turn of the event loop; rebuilding
   * the item (which VS Code then sends to the window) each time was most of the UI's work.
   */
  private onTunnel(info: { id: string; state: string }): void {
    const before = this.states.get(info.id);
    if (info.state === 'closed') this.states.delete(info.id);
    else this.states.set(info.id, info.state);
    if (before !== info.state) {
      this.updates.now++;
      this.update();
    } else if (!this.soon) {
      this.soon = setTimeout(() => {
        this.soon = undefined;
        this.updates.coalesced++;
        this.update();
      }, TunnelStatusBar.COUNTS_EVERY_MS);
    }
  }

  update(): void {
    const tunnels = this.manager.listTunnels();
    const active = tunnels.filter((t) => t.state === 'active');
    const connections = tunnels.reduce((n, t) => n + t.stats.connectionsActive, 0);
    const troubled = tunnels.filter((t) => t.state === 'failed' || t.state === 'reconnecting');
    const served = this.peers?.list() ?? [];
    this.item.text = `$(plug) ${active.length} · ${connections}${served.length ? ` · ${vscode.l10n.t('{0} elsewhere', served.length)}` : ''}`;
    this.item.backgroundColor = troubled.length ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    const tip = new vscode.MarkdownString(undefined, true);
    const activeText = active.length === 1 ? vscode.l10n.t('1 active tunnel') : vscode.l10n.t('{0} active tunnels', active.length);
    const connectionsText = connections === 1 ? vscode.l10n.t('1 active connection') : vscode.l10n.t('{0} active connections', connections);
    tip.appendMarkdown(`**${vscode.l10n.t('SSH Tunnels')}** — ${activeText}, ${connectionsText}\n\n`);
    if (tunnels.length === 0) tip.appendMarkdown(vscode.l10n.t('No tunnels are open.'));
    for (const t of tunnels) {
      const what = describeTunnel(t);
      const label = tunnelLabel(t);
      tip.appendMarkdown(`- ${label === what ? '' : `${label}: `}\`${what}\` (${t.server}) — ${t.state}, ${t.stats.connectionsActive} ${vscode.l10n.t('conn.')}\n`);
    }
    if (served.length) {
      // Named by process: "2 served by window of folder api, 1 by ssh-tunnels up".
      const byPeer = new Map<string, { name: string; count: number }>();
      for (const t of served) {
        const peer = byPeer.get(t.peer.id) ?? { name: describePeer(t.peer), count: 0 };
        peer.count++;
        byPeer.set(t.peer.id, peer);
      }
      const names = [...byPeer.values()].map((p) => vscode.l10n.t('{0} served by {1}', p.count, p.name));
      tip.appendMarkdown(`\n${vscode.l10n.t('Elsewhere')}: ${names.join('; ')}\n`);
    }
    this.item.tooltip = tip;
    if (tunnels.length > 0 || served.length > 0 || this.hasServers()) this.item.show();
    else this.item.hide();
    // Connection counts change without engine events: poll only while something is open.
    if (tunnels.length > 0 && !this.timer) {
      this.timer = setInterval(() => this.update(), 2000);
      this.timer.unref?.();
    } else if (tunnels.length === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.disposables.dispose();
  }
}
