// A progress notification for as long as a server's SSH connection is being set up.
import * as vscode from 'vscode';
import type { ServerStatus, TunnelManager } from '../engine';

export class ConnectProgress implements vscode.Disposable {
  private readonly pending = new Map<string, () => void>();
  private readonly subscription: vscode.Disposable;

  constructor(manager: TunnelManager) {
    this.subscription = manager.onDidChangeServer((status) => this.onStatus(status));
  }

  /** Servers whose progress notification is showing now. */
  showing(): string[] {
    return [...this.pending.keys()];
  }

  private onStatus(status: ServerStatus): void {
    if (status.state === 'connecting') {
      if (this.pending.has(status.name)) return;
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('SSH Tunnels: connecting to {0}…', status.name) },
        () => new Promise<void>((resolve) => this.pending.set(status.name, resolve)),
      );
      return;
    }
    const done = this.pending.get(status.name);
    this.pending.delete(status.name);
    done?.();
  }

  dispose(): void {
    this.subscription.dispose();
    for (const done of this.pending.values()) done();
    this.pending.clear();
  }
}
