// The status bar item, in words: `1 tunnel`, `2 tunnels · 1 failed`, `reconnecting…`, and
// ` · <n> elsewhere` when peers (other processes) serve tunnels; a warning look while a tunnel is
// failed or reconnecting, a plain-language screen-reader label, a tooltip listing tunnels and the
// processes serving others; a click shows the view.
import * as vscode from 'vscode';
import { DisposableStore, type TunnelManager } from '../engine';
import { describePeer, type PeerTunnels } from '../peers';
import { stateText } from './rowWords';
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
    const t = vscode.l10n.t;
    const tunnels = this.manager.listTunnels();
    const connections = tunnels.reduce((n, x) => n + x.stats.connectionsActive, 0);
    const failed = tunnels.filter((x) => x.state === 'failed').length;
    const waiting = tunnels.filter((x) => x.state === 'reconnecting').length;
    const served = this.peers?.list() ?? [];
    // Words, not figures: it sits beside VS Code's own forwarded-ports count.
    const parts = [tunnels.length === 0 ? t('no tunnels') : tunnels.length === 1 ? t('1 tunnel') : t('{0} tunnels', tunnels.length)];
    if (failed) parts.push(t('{0} failed', failed));
    if (waiting) parts.push(waiting === tunnels.length ? t('reconnecting…') : t('{0} reconnecting…', waiting));
    if (served.length) parts.push(t('{0} elsewhere', served.length));
    const icon = failed ? '$(warning)' : waiting ? '$(sync~spin)' : '$(plug)';
    const text = `${icon} ${parts.join(' · ')}`;
    if (this.item.text !== text) this.item.text = text;
    const warn = failed > 0 || waiting > 0;
    if (warn !== !!this.item.backgroundColor) this.item.backgroundColor = warn ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    const connectionsText = connections === 0 ? t('no connections open') : connections === 1 ? t('1 connection open') : t('{0} connections open', connections);
    const spoken = t('SSH Tunnels: {0}, {1}. Shows the SSH Tunnels view.', parts.join(', '), connectionsText);
    if (this.item.accessibilityInformation?.label !== spoken) this.item.accessibilityInformation = { label: spoken, role: 'button' };
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${t('SSH Tunnels')}** — ${parts.join(', ')}, ${connectionsText}\n\n`);
    if (tunnels.length === 0) tip.appendMarkdown(t('No tunnels are open.'));
    for (const x of tunnels) {
      const conns = x.stats.connectionsActive === 1 ? t('1 connection') : t('{0} connections', x.stats.connectionsActive);
      tip.appendMarkdown(`- ${tunnelLabel(x)} `);
      tip.appendText(`${describeTunnel(x)} (${x.server}): ${stateText(x)}, ${conns}`);
      tip.appendMarkdown('\n');
    }
    if (served.length) {
      // Named by process: "2 served by window of folder api, 1 by ssh-tunnels up".
      const byPeer = new Map<string, { name: string; count: number }>();
      for (const x of served) {
        const peer = byPeer.get(x.peer.id) ?? { name: describePeer(x.peer), count: 0 };
        peer.count++;
        byPeer.set(x.peer.id, peer);
      }
      const names = [...byPeer.values()].map((p) => t('{0} served by {1}', p.count, p.name));
      tip.appendMarkdown(`\n${t('Elsewhere')}: ${names.join('; ')}\n`);
    }
    // Set again only when it reads differently: a new tooltip closes the one being read.
    if ((this.item.tooltip as vscode.MarkdownString | undefined)?.value !== tip.value) this.item.tooltip = tip;
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
