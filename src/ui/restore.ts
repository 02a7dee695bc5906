// Tunnels a person opened come back when the workspace opens again (reload, update, restart):
// saved in the workspace's state (never settings, never secrets) whenever they change.
import * as vscode from 'vscode';
import { DisposableStore, errorMessage, plural, TunnelError, type TunnelInfo, type TunnelManager, type TunnelSpec } from '../engine';
import { specOf, type TunnelDoor } from '../catalogue';
import { describePeer } from '../peers';
import { SECTION } from './settings';

/** The workspaceState key; one list per workspace, in the order the tunnels were opened. */
export const RESTORE_KEY = 'sshTunnels.personTunnels';

export type SavedTunnel = Omit<TunnelSpec, 'openedBy'>;

/** What reopens a tunnel where it was: the ports it really had, its own name if it was given one. */
export function savedSpec(info: TunnelInfo): SavedTunnel {
  const { openedBy: _origin, ...spec } = specOf(info);
  return spec;
}

/** Whether two saved tunnels reopen the same way; asked on every change event, so no serializing. */
function sameSaved(a: SavedTunnel, b: SavedTunnel): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof SavedTunnel)[]);
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}

export function restoreEnabled(): boolean {
  return vscode.workspace.getConfiguration(SECTION).get<boolean>('restoreTunnels', true);
}

export class RestoredTunnels implements vscode.Disposable {
  /** Open tunnels of a person, by id, as they would be reopened. */
  private readonly open = new Map<string, SavedTunnel>();
  /** Saved tunnels not reopened yet (waiting for trust): kept in the saved list meanwhile. */
  private pending: SavedTunnel[];
  /** Saved tunnels that could not be reopened this time, with why (also logged and shown). */
  readonly failures: { spec: SavedTunnel; message: string }[] = [];
  /** Set once disposed: nothing is saved any more. */
  private frozen = false;
  private saving: Promise<void> = Promise.resolve();
  private restored: Promise<void> | undefined;
  private readonly disposables = new DisposableStore();

  constructor(
    private readonly manager: TunnelManager,
    /** The front door the saved tunnels reopen through (the catalogue, which keeps them as restored). */
    private readonly door: TunnelDoor<'restore'>,
    private readonly state: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.pending = this.saved();
    this.disposables.add(manager.onDidChangeTunnel((info) => this.track(info)));
  }

  /** What the workspace state holds now. */
  saved(): SavedTunnel[] {
    const value = this.state.get<unknown>(RESTORE_KEY);
    return Array.isArray(value) ? value.filter((v): v is SavedTunnel => !!v && typeof v === 'object' && typeof (v as SavedTunnel).server === 'string') : [];
  }

  private track(info: TunnelInfo): void {
    if (this.frozen) return;
    const had = this.open.get(info.id);
    // Closed as the program or window ends: reopened next time. Any other close (a person's, an
    // agent's, a failed or replaced open), or kept in settings now: not.
    if (info.state === 'closed' && info.closeReason === 'shutdown') return;
    if (info.state === 'closed' || info.openedBy !== 'person') {
      if (had && this.open.delete(info.id)) this.save();
      return;
    }
    const spec = savedSpec(info);
    if (had && sameSaved(had, spec)) return;
    this.open.set(info.id, spec);
    this.save();
  }

  private save(): void {
    if (this.frozen) return;
    const list = restoreEnabled() ? [...this.pending, ...this.open.values()] : [];
    this.saving = Promise.resolve(this.state.update(RESTORE_KEY, list.length ? list : undefined)).catch((err: unknown) =>
      this.log.warn(`Restore: could not save the open tunnels: ${errorMessage(err)}`),
    );
  }

  /** Resolves once the last change is written to the workspace state. */
  whenSaved(): Promise<void> {
    return this.saving;
  }

  /** Reopens the saved tunnels once (when the workspace is trusted; otherwise once it is). */
  restore(): Promise<void> {
    if (this.restored) return this.restored;
    if (!restoreEnabled()) {
      this.pending = [];
      this.save();
      this.restored = Promise.resolve();
      return this.restored;
    }
    if (!this.pending.length) {
      this.restored = Promise.resolve();
      return this.restored;
    }
    if (!vscode.workspace.isTrusted) {
      this.log.info(`Restore: ${plural(this.pending.length, 'tunnel')} opened in an earlier session ${this.pending.length === 1 ? 'waits' : 'wait'} for workspace trust before ${this.pending.length === 1 ? 'it is' : 'they are'} reopened.`);
      this.restored = new Promise<void>((resolve) => {
        const once = vscode.workspace.onDidGrantWorkspaceTrust(() => {
          once.dispose();
          resolve(this.reopen());
        });
        this.disposables.add(once);
      });
      return this.restored;
    }
    this.restored = this.reopen();
    return this.restored;
  }

  private async reopen(): Promise<void> {
    const list = this.pending;
    // Each is tracked by id from its first event on; one that fails is reported and not kept.
    this.pending = [];
    this.log.info(`Restore: reopening ${plural(list.length, 'tunnel')} opened in an earlier session.`);
    await Promise.all(
      list.map((spec) =>
        this.door.open(spec, 'restore').then(
          ({ here: info, peer }) => {
            if (peer) this.log.info(`Restore: ${peer.info.name} is served by ${describePeer(peer.peer)}; not reopened here.`);
            else this.log.info(`Restore: reopened ${info.name} (${info.localHost}:${info.localPort}).`);
          },
          (err: unknown) => {
            this.failures.push({ spec, message: errorMessage(err) });
            this.log.warn(`Restore: could not reopen ${spec.name ?? `${spec.type} ${spec.localPort}`} on ${spec.server}: ${errorMessage(err)}`);
            void this.report(spec, err);
          },
        ),
      ),
    );
    this.save();
  }

  /** Says why a tunnel did not come back; a busy port offers another, as when it was created. */
  private async report(spec: SavedTunnel, err: unknown): Promise<void> {
    const t = vscode.l10n.t;
    const label = spec.name ?? `${spec.type} ${spec.localHost}:${spec.localPort} (${spec.server})`;
    const message = t('Could not reopen the tunnel {0}: {1}', label, errorMessage(err));
    const details = err instanceof TunnelError ? err.details : {};
    const suggestion = err instanceof TunnelError && err.code === 'PORT_IN_USE' && typeof details.suggestion === 'number' ? details.suggestion : undefined;
    const use = suggestion !== undefined ? t('Use port {0}', suggestion) : undefined;
    const choice = await vscode.window.showWarningMessage(message, ...(use ? [use] : []));
    if (choice === use && suggestion !== undefined) {
      await this.door.open({ ...spec, localPort: suggestion }, 'restore').catch((e: unknown) => {
        void vscode.window.showErrorMessage(errorMessage(e));
      });
    }
  }

  dispose(): void {
    this.frozen = true;
    this.disposables.dispose();
  }
}
