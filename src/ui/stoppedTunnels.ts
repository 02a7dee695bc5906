// A person's tunnels that they stopped from the view or the palette: kept as stopped rows under
// their server (Start opens one again, Edit changes it, Remove forgets it), so that no click throws
// away what a person typed.
// Saved in the workspace's state beside the running ones restore.ts keeps; never in settings.
import * as vscode from 'vscode';
import { DisposableStore, listensWhere, type TunnelInfo, type TunnelManager } from '../engine';
import { savedSpec, type SavedTunnel } from './restore';

/** The workspaceState key of the stopped list. */
export const STOPPED_KEY = 'sshTunnels.stoppedTunnels';

/** Tree keys of a person's stopped tunnels start with this, so they never meet a settings or ssh config key. */
export const STOPPED_PREFIX = 'stopped:';

export interface StoppedTunnel {
  key: string;
  spec: SavedTunnel;
}

export class StoppedTunnels implements vscode.Disposable {
  private entries: StoppedTunnel[];
  private next = 1;
  private readonly disposables = new DisposableStore();
  private readonly _onDidChange = new vscode.EventEmitter<void>();
  /** Fires when one is kept, changed or forgotten. */
  readonly onDidChange = this._onDidChange.event;

  constructor(
    manager: TunnelManager,
    private readonly state: vscode.Memento,
  ) {
    const saved = state.get<unknown>(STOPPED_KEY);
    this.entries = Array.isArray(saved) ? saved.filter((e): e is StoppedTunnel => !!e && typeof e === 'object' && typeof (e as StoppedTunnel).key === 'string' && typeof (e as StoppedTunnel).spec?.server === 'string') : [];
    for (const e of this.entries) this.next = Math.max(this.next, Number(e.key.slice(STOPPED_PREFIX.length)) + 1 || this.next);
    this.disposables.add(this._onDidChange);
    this.disposables.add(manager.onDidChangeTunnel((info) => this.track(info)));
  }

  /** A tunnel opened again where a kept one listens replaces it. */
  private track(info: TunnelInfo): void {
    if (info.state === 'closed' || !this.entries.length) return;
    const same = this.entries.filter((e) => listensWhere(e.spec, info));
    if (same.length) this.set(this.entries.filter((e) => !same.includes(e)));
  }

  /** Keeps a person's own tunnel that a person stops in the view or the palette (scripts and agents close for good). */
  keep(info: TunnelInfo): void {
    if (info.openedBy === 'person') this.add(savedSpec(info));
  }

  list(server?: string): readonly StoppedTunnel[] {
    return server === undefined ? this.entries : this.entries.filter((e) => e.spec.server === server);
  }

  get(key: string): StoppedTunnel | undefined {
    return this.entries.find((e) => e.key === key);
  }

  /** Keeps a stopped tunnel; returns its key. */
  add(spec: SavedTunnel): string {
    const key = `${STOPPED_PREFIX}${this.next++}`;
    this.set([...this.entries, { key, spec }]);
    return key;
  }

  /** Puts back one forgotten (Undo), under its old key. */
  put(entry: StoppedTunnel): void {
    if (this.get(entry.key)) return;
    this.set([...this.entries, entry]);
  }

  /** Forgets one; returns what it was, for an Undo. */
  remove(key: string): StoppedTunnel | undefined {
    const entry = this.get(key);
    if (entry) this.set(this.entries.filter((e) => e !== entry));
    return entry;
  }

  /** Changes one (the row's Edit and Rename). */
  update(key: string, spec: SavedTunnel): void {
    this.set(this.entries.map((e) => (e.key === key ? { key, spec } : e)));
  }

  private set(entries: StoppedTunnel[]): void {
    this.entries = entries;
    void this.state.update(STOPPED_KEY, entries.length ? entries : undefined);
    this._onDidChange.fire();
  }

  dispose(): void {
    this.disposables.dispose();
  }
}
