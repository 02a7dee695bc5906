// Keeps the tunnels of `sshTunnels.tunnels` in step with the settings: autoStart ones open on
// activation, edits reconcile live, and workspace-defined ones wait for workspace trust.
import * as vscode from 'vscode';
import { errorMessage, type TunnelInfo, type TunnelManager } from '../engine';
import { problemReporter } from './problemLog';
import { readTunnelSettings, withheldWorkspaceTunnels, type ConfiguredTunnel } from './settings';

interface Running {
  fingerprint: string;
  tunnelId?: string;
  pending?: Promise<TunnelInfo>;
}

export class SettingsTunnels implements vscode.Disposable {
  private configuredList: ConfiguredTunnel[] = [];
  private readonly running = new Map<string, Running>();
  /** Keys the person stopped: reconcile leaves them stopped until their definition changes. */
  private readonly stoppedByUser = new Map<string, string>();
  private readonly failures = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();
  private restrictedNoticeShown = false;
  /** Tells each problem of the tunnels' settings once, as the servers' are told. */
  private readonly reportProblems: (problems: readonly string[]) => void;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly _onDidChange = new vscode.EventEmitter<void>();
  readonly onDidChange = this._onDidChange.event;
  private readonly _onDidWithhold = new vscode.EventEmitter<string>();
  /** Fires with the message that says why workspace tunnels were not opened. */
  readonly onDidWithhold = this._onDidWithhold.event;
  /** Workspace tunnels withheld by Restricted Mode at the last reconcile. */
  withheld = 0;

  constructor(
    private readonly manager: TunnelManager,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.reportProblems = problemReporter(log, 'Settings');
    this.disposables.push(
      this._onDidChange,
      this._onDidWithhold,
      manager.onDidChangeTunnel((info) => {
        if (info.state !== 'closed') return;
        for (const [key, run] of this.running) {
          if (run.tunnelId === info.id) {
            this.running.delete(key);
            this._onDidChange.fire();
          }
        }
      }),
    );
  }

  configured(): readonly ConfiguredTunnel[] {
    return this.configuredList;
  }

  /** Configured tunnels that are not running now (the tree shows them as stopped). */
  stopped(server?: string): ConfiguredTunnel[] {
    return this.configuredList.filter((t) => !this.running.has(t.key) && (server === undefined || t.spec.server === server));
  }

  lastFailure(key: string): string | undefined {
    return this.failures.get(key);
  }

  keyOf(tunnelId: string): string | undefined {
    for (const [key, run] of this.running) if (run.tunnelId === tunnelId) return key;
    return undefined;
  }

  /** Serializes reconciles, so quick successive edits apply in order. */
  reconcile(): Promise<void> {
    const next = this.queue.then(() => this.reconcileNow());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async reconcileNow(): Promise<void> {
    const read = readTunnelSettings();
    this.reportProblems(read.problems);
    this.configuredList = read.tunnels;
    const wanted = new Map(read.tunnels.map((t) => [t.key, t]));
    const work: Promise<unknown>[] = [];

    const restarting = new Set<string>();
    for (const [key, run] of [...this.running]) {
      const now = wanted.get(key);
      if (now && now.fingerprint === run.fingerprint) continue;
      this.running.delete(key);
      if (now) restarting.add(key);
      work.push(
        this.closeRun(run).then(() => {
          this.log.info(now ? `Settings: ${now.spec.name ?? key} changed; restarting it.` : `Settings: ${key} was removed; closed it.`);
          // Reopen once the old one is gone: the new definition may want the same port.
          if (now) return this.open(now).catch(() => undefined);
        }),
      );
    }
    for (const t of read.tunnels) {
      const stoppedAs = this.stoppedByUser.get(t.key);
      if (stoppedAs !== undefined && stoppedAs !== t.fingerprint) this.stoppedByUser.delete(t.key);
      if (!t.autoStart || restarting.has(t.key) || this.running.has(t.key) || this.stoppedByUser.has(t.key)) continue;
      work.push(this.open(t).catch(() => undefined));
    }
    this.noticeWithheld();
    this._onDidChange.fire();
    await Promise.all(work);
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

  private async closeRun(run: Running): Promise<void> {
    const id = run.tunnelId ?? (await run.pending?.then((i) => i.id).catch(() => undefined));
    if (id && this.manager.getTunnel(id)) await this.manager.closeTunnel(id).catch(() => undefined);
  }

  /** Opens a configured tunnel and remembers it as the one for its key. */
  private open(t: ConfiguredTunnel): Promise<TunnelInfo> {
    const run: Running = { fingerprint: t.fingerprint };
    const previous = this.running.get(t.key);
    if (previous) void this.closeRun(previous);
    this.running.set(t.key, run);
    this.stoppedByUser.delete(t.key);
    this.failures.delete(t.key);
    const label = t.spec.name ?? t.key;
    run.pending = this.manager.createTunnel({ ...t.spec, openedBy: 'settings' }).then(
      (info) => {
        run.tunnelId = info.id;
        this.log.info(`Settings: opened ${label} (${info.localHost}:${info.localPort}).`);
        if (this.running.get(t.key) !== run) {
          // Removed or changed while it was opening.
          void this.manager.closeTunnel(info.id).catch(() => undefined);
        }
        return info;
      },
      (err) => {
        if (this.running.get(t.key) === run) this.running.delete(t.key);
        const message = errorMessage(err);
        this.failures.set(t.key, message);
        this.log.error(`Settings: could not open ${label}: ${message}`);
        this._onDidChange.fire();
        const showLog = vscode.l10n.t('Show Log');
        void vscode.window
          .showWarningMessage(vscode.l10n.t('Could not open the tunnel {0} from the settings: {1}', label, message), showLog)
          .then((choice) => choice === showLog && this.log.show(true));
        throw err;
      },
    );
    return run.pending;
  }

  /** Starts a configured tunnel now (the tree's start action). */
  async start(key: string): Promise<TunnelInfo> {
    const t = this.configuredList.find((c) => c.key === key);
    if (!t) throw new Error(vscode.l10n.t('No tunnel {0} in the sshTunnels.tunnels setting.', key));
    const run = this.running.get(key);
    if (run?.pending) return run.pending;
    const pending = this.open(t);
    this._onDidChange.fire();
    return pending;
  }

  /** Stops a configured tunnel and keeps it stopped until its settings change. */
  async stop(key: string): Promise<void> {
    const run = this.running.get(key);
    const t = this.configuredList.find((c) => c.key === key);
    this.stoppedByUser.set(key, t?.fingerprint ?? '');
    if (!run) return;
    this.running.delete(key);
    await this.closeRun(run);
    this._onDidChange.fire();
  }

  /**
   * Takes an open tunnel as the one for a settings entry about to be written, so the reconcile
   * that follows the write finds it running and leaves it as it is.
   */
  adopt(t: ConfiguredTunnel, tunnelId: string): void {
    this.running.set(t.key, { fingerprint: t.fingerprint, tunnelId });
    this.stoppedByUser.delete(t.key);
    this.failures.delete(t.key);
    this.manager.adoptTunnel(tunnelId, 'settings');
  }

  /** Undoes adopt() when the settings could not be written: the tunnel is the person's again. */
  unadopt(key: string, tunnelId: string): void {
    if (this.running.get(key)?.tunnelId === tunnelId) this.running.delete(key);
    if (this.manager.getTunnel(tunnelId)) this.manager.adoptTunnel(tunnelId, 'person');
  }

  /** The person closed a tunnel some other way (close command, close all). */
  markStopped(tunnelId: string): void {
    const key = this.keyOf(tunnelId);
    if (key) this.stoppedByUser.set(key, this.running.get(key)?.fingerprint ?? '');
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
