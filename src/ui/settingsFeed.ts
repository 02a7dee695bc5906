// Feeds `sshTunnels.tunnels` to the catalogue of wanted tunnels: autoStart ones open on
// activation, edits reconcile live, and workspace-defined ones wait for workspace trust. Reading
// the settings and telling the person are VS Code's part; who runs what is the catalogue's.
import * as vscode from 'vscode';
import { DisposableStore, errorMessage, type TunnelInfo } from '../engine';
import type { CatalogueEntry, TunnelCatalogue, WantedTunnel } from '../catalogue';
import { problemReporter } from './problemLog';
import { readTunnelSettings, withheldWorkspaceTunnels, type ConfiguredTunnel } from './settings';

function wantedOf(t: ConfiguredTunnel): WantedTunnel {
  return { key: t.key, source: 'settings', spec: t.spec, fingerprint: t.fingerprint, autoStart: t.autoStart, ...(t.attributes.requireLocalPort !== undefined ? { requireLocalPort: t.attributes.requireLocalPort } : {}) };
}

export class SettingsFeed implements vscode.Disposable {
  private configuredList: ConfiguredTunnel[] = [];
  private restrictedNoticeShown = false;
  /** Tells each problem of the tunnels' settings once, as the servers' are told. */
  private readonly reportProblems: (problems: readonly string[]) => void;
  private readonly disposables = new DisposableStore();
  private readonly _onDidWithhold = new vscode.EventEmitter<string>();
  /** Fires with the message that says why workspace tunnels were not opened. */
  readonly onDidWithhold = this._onDidWithhold.event;
  /** Fires when a settings tunnel appears, goes or changes state (the catalogue's change). */
  readonly onDidChange: vscode.Event<void>;
  /** Workspace tunnels withheld by Restricted Mode at the last reconcile. */
  withheld = 0;

  constructor(
    private readonly catalogue: TunnelCatalogue,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.reportProblems = problemReporter(log, 'Settings');
    this.onDidChange = (listener, thisArg, disposables) => {
      const d = catalogue.onDidChange(() => listener.call(thisArg));
      disposables?.push(d);
      return d;
    };
    this.disposables.add(this._onDidWithhold);
    this.disposables.add(
      catalogue.onDidFailOpen(({ entry, error }) => {
        if (entry.source !== 'settings') return;
        const label = entry.spec.name ?? entry.key;
        const showLog = vscode.l10n.t('Show Log');
        void vscode.window
          .showWarningMessage(vscode.l10n.t('Could not open the tunnel {0} from the settings: {1}', label, errorMessage(error)), showLog)
          .then((choice) => choice === showLog && this.log.show(true));
      }),
    );
  }

  configured(): readonly ConfiguredTunnel[] {
    return this.configuredList;
  }

  private entry(key: string): CatalogueEntry | undefined {
    const e = this.catalogue.get(key);
    return e?.source === 'settings' ? e : undefined;
  }

  /** Configured tunnels neither running here nor served by another process (the tree shows them as stopped). */
  stopped(server?: string): ConfiguredTunnel[] {
    return this.configuredList.filter((t) => {
      if (server !== undefined && t.spec.server !== server) return false;
      const kind = this.entry(t.key)?.state.kind ?? 'stopped';
      return kind === 'stopped' || kind === 'failed';
    });
  }

  lastFailure(key: string): string | undefined {
    const state = this.entry(key)?.state;
    return state?.kind === 'failed' ? state.message : undefined;
  }

  keyOf(tunnelId: string): string | undefined {
    const key = this.catalogue.keyOf(tunnelId);
    return key !== undefined && this.entry(key) ? key : undefined;
  }

  /** Serializes reconciles (in the catalogue), so quick successive edits apply in order. */
  reconcile(): Promise<void> {
    const read = readTunnelSettings();
    this.reportProblems(read.problems);
    this.configuredList = read.tunnels;
    this.noticeWithheld();
    return this.catalogue.setWanted('settings', read.tunnels.map(wantedOf));
  }

  private noticeWithheld(): void {
    this.withheld = withheldWorkspaceTunnels();
    if (this.withheld === 0) return;
    const message = this.withheld === 1
      ? vscode.l10n.t('1 tunnel defined in this workspace\'s settings was not opened: the workspace is in Restricted Mode. Trust the workspace to open it.')
      : vscode.l10n.t('{0} tunnels defined in this workspace\'s settings were not opened: the workspace is in Restricted Mode. Trust the workspace to open them.', this.withheld);
    this.log.warn(message);
    this._onDidWithhold.fire(message);
    if (this.restrictedNoticeShown) return;
    this.restrictedNoticeShown = true;
    const manage = vscode.l10n.t('Manage Workspace Trust');
    void vscode.window.showWarningMessage(message, manage).then((choice) => {
      if (choice === manage) void vscode.commands.executeCommand('workbench.trust.manage');
    });
  }

  /** Starts a configured tunnel now (the tree's start action). */
  async start(key: string): Promise<TunnelInfo> {
    if (!this.entry(key)) throw new Error(vscode.l10n.t('No tunnel {0} in the sshTunnels.tunnels setting.', key));
    return this.catalogue.start(key);
  }

  /** Stops a configured tunnel and keeps it stopped until its settings change. */
  stop(key: string): Promise<void> {
    return this.catalogue.stop(key, 'person');
  }

  /**
   * Takes an open tunnel as the one for a settings entry about to be written, so the reconcile
   * that follows the write finds it running and leaves it as it is.
   */
  adopt(t: ConfiguredTunnel, tunnelId: string): void {
    this.catalogue.adopt(wantedOf(t), tunnelId);
  }

  /** Undoes adopt() when the settings could not be written: the tunnel is the person's again. */
  unadopt(key: string, tunnelId: string): void {
    this.catalogue.unadopt(key, tunnelId);
  }

  dispose(): void {
    this.disposables.dispose();
  }
}
