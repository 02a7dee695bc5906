// A failure the person did not cause is said once, with what happened and what to do: a server
// whose connection dropped and, under sshTunnels.reconnect.maxAttempts, was given up ([Reconnect],
// [Show Log]). What a person's own action or the settings run into is told by them instead.
import * as vscode from 'vscode';
import { DisposableStore, type ServerState, type TunnelManager } from '../engine';

export class FailureNotices implements vscode.Disposable {
  private readonly states = new Map<string, ServerState>();
  private readonly disposables = new DisposableStore();
  /** Servers told about so far, in order (tests read it). */
  readonly told: string[] = [];

  constructor(
    private readonly manager: TunnelManager,
    private readonly log: vscode.LogOutputChannel,
    private readonly reconnectCommand: string,
  ) {
    this.disposables.add(
      manager.onDidChangeServer((status) => {
        const before = this.states.get(status.name);
        this.states.set(status.name, status.state);
        // Given up after a drop (it was up, or being redialled): nobody asked for this one.
        if (status.state === 'failed' && (before === 'connected' || before === 'reconnecting')) this.tell(status.name, status.lastError);
      }),
    );
  }

  private tell(server: string, why: string | undefined): void {
    const t = vscode.l10n.t;
    const down = this.manager.listTunnels(server).length;
    const tunnels = down === 0 ? '' : ' ' + (down === 1 ? t('Its tunnel is down.') : t('Its {0} tunnels are down.', down));
    const reason = why ?? t('The connection failed.');
    const message = `${t('Lost the connection to {0}.', server)} ${/[.?!]$/.test(reason) ? reason : `${reason}.`}${tunnels}`;
    this.told.push(server);
    this.log.warn(message);
    const reconnect = t('Reconnect');
    const showLog = t('Show Log');
    void vscode.window.showErrorMessage(message, reconnect, showLog).then((choice) => {
      // As the server's row would pass itself: a failure of the reconnect is then shown too.
      if (choice === reconnect) void vscode.commands.executeCommand(this.reconnectCommand, { kind: 'server', name: server });
      else if (choice === showLog) this.log.show(true);
    });
  }

  dispose(): void {
    this.disposables.dispose();
  }
}
