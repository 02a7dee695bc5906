// The status bar item: `$(plug) <active tunnels> · <active connections>`, then ` · <n> elsewhere`
// when other processes serve tunnels, warning look while a tunnel is failed or reconnecting, a
// tooltip listing tunnels and the processes serving others; a click focuses the tree.
import * as vscode from 'vscode';
import type { TunnelManager } from '../engine';
import { describePeer, type TunnelsElsewhere } from '../peers/types';
import { describeTunnel, tunnelLabel } from './tree';

export class TunnelStatusBar implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly manager: TunnelManager,
    private readonly hasServers: () => boolean,
    focusCommand: string,
    private readonly elsewhere?: TunnelsElsewhere,
  ) {
    this.item = vscode.window.createStatusBarItem('sshTunnels.status', vscode.StatusBarAlignment.Left, 10);
    this.item.name = vscode.l10n.t('SSH Tunnels');
    this.item.command = focusCommand;
    this.disposables.push(
      this.item,
      manager.onDidChangeTunnel(() => this.update()),
      manager.onDidChangeServer(() => this.update()),
      ...(elsewhere ? [elsewhere.onDidChange(() => this.update())] : []),
    );
    this.update();
  }

  update(): void {
    const tunnels = this.manager.listTunnels();
    const active = tunnels.filter((t) => t.state === 'active');
    const connections = tunnels.reduce((n, t) => n + t.stats.connectionsActive, 0);
    const troubled = tunnels.filter((t) => t.state === 'failed' || t.state === 'reconnecting');
    const served = this.elsewhere?.list() ?? [];
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
    for (const d of this.disposables) d.dispose();
  }
}
