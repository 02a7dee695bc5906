import { errorMessage } from '../base/errors';
import type { CloseReason, TunnelInfo, TunnelOrigin, TunnelState, TunnelType } from '../base/types';
import type { TunnelLink } from '../connection/link';
import { Connections } from './connections';
import { defaultName, type ResolvedSpec } from './spec';

/**
 * What every tunnel type shares: identity, name, state, errors and the lifecycle through its
 * SSH connection's drops and returns. Its live connections and their counts are `connections`.
 */
export abstract class Tunnel {
  readonly createdAt = Date.now();
  private _state: TunnelState = 'connecting';
  private _lastError: string | undefined;
  protected readonly connections = new Connections(() => this.changed(this));
  private errors = 0;
  private closeReason: CloseReason | undefined;
  private _targetError: string | undefined;
  private _name: string;
  /** Whether the name was given (at creation or by a rename) rather than made from what it forwards. */
  private _nameGiven: boolean;
  private _openedBy: TunnelOrigin;
  /** What the default name was made from: it is made again only when that changes (a port 0 bound). */
  private namedFor = '';

  constructor(
    readonly id: string,
    readonly spec: ResolvedSpec,
    protected readonly link: TunnelLink,
    private readonly changed: (tunnel: Tunnel) => void,
    /** Whether another tunnel of the same manager already has this name. */
    private readonly nameTaken: (name: string, tunnel: Tunnel) => boolean = () => false,
  ) {
    this._name = spec.name ?? '';
    this._nameGiven = spec.nameGiven;
    this._openedBy = spec.openedBy ?? 'person';
  }

  /** The given name, or the default one made from what it forwards. */
  get name(): string {
    return this._name;
  }

  abstract readonly type: TunnelType;
  /** Listens (local, dynamic) or asks the server to (remote). */
  abstract start(): Promise<void>;
  /** Re-creates whatever lived on the SSH connection after a reconnect. */
  abstract reestablish(): Promise<void>;
  protected abstract stop(): Promise<void>;

  get state(): TunnelState {
    return this._state;
  }

  protected get lastError(): string | undefined {
    return this._lastError;
  }

  protected setState(state: TunnelState, error?: string): void {
    if (error !== undefined) this._lastError = error;
    if (this._state === state && error === undefined) return;
    if (this._state === 'closed') return;
    this._state = state;
    this.changed(this);
  }

  protected abstract boundLocal(): { host: string; port: number };
  protected abstract boundRemote(): { host?: string; port?: number };

  /**
   * A tunnel without a given name is named for what it forwards, with the ports it really bound
   * (port 0 asks for any), and made distinct from the manager's other tunnels with ` (2)`, ` (3)`…
   */
  updateDefaultName(): void {
    if (this._nameGiven || this._state === 'closed') return;
    const local = this.boundLocal();
    const remote = this.boundRemote();
    const namedFor = `${local.host}|${local.port}|${remote.host}|${remote.port}`;
    if (namedFor === this.namedFor) return;
    this.namedFor = namedFor;
    const base = defaultName(this.spec.type, local.host, local.port, remote.host, remote.port, this.spec);
    let name = base;
    for (let n = 2; this.nameTaken(name, this); n++) name = `${base} (${n})`;
    if (name === this._name) return;
    this._name = name;
    this.changed(this);
  }

  info(): TunnelInfo {
    const c = this.connections;
    c.noteActivity();
    const local = this.boundLocal();
    const remote = this.boundRemote();
    return {
      id: this.id,
      name: this._name,
      nameGiven: this._nameGiven,
      server: this.spec.server,
      type: this.type,
      state: this._state,
      localHost: local.host,
      localPort: local.port,
      remoteHost: remote.host,
      remotePort: remote.port,
      ...(this.spec.localPath !== undefined ? { localPath: this.spec.localPath } : {}),
      ...(this.spec.remotePath !== undefined ? { remotePath: this.spec.remotePath } : {}),
      ...(this.spec.socks ? { socks: true } : {}),
      stats: {
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
        connectionsTotal: c.total,
        connectionsActive: c.size,
        connectionsWaiting: this.waitingCount(),
        errors: this.errors,
      },
      createdAt: this.createdAt,
      lastActivity: c.lastActivity,
      lastError: this._lastError,
      ...(this._targetError !== undefined ? { targetError: this._targetError } : {}),
      openedBy: this._openedBy,
      ...(this.spec.watchRemotePort ? { watchRemotePort: true } : {}),
      ...(this._state === 'closed' && this.closeReason !== undefined ? { closeReason: this.closeReason } : {}),
    };
  }

  /** Gives the tunnel a name, or with none takes back the one made from what it forwards; its connections go on. */
  rename(name: string | undefined): void {
    if (this._state === 'closed') return;
    const given = name?.trim() || undefined;
    if (given !== undefined) {
      if (this._nameGiven && this._name === given) return;
      this._name = given;
      this._nameGiven = true;
      this.changed(this);
      return;
    }
    if (!this._nameGiven) return;
    this._nameGiven = false;
    this.namedFor = '';
    this.updateDefaultName();
    this.changed(this);
  }

  /** A tunnel taken over by another owner (a person's tunnel kept in settings) says so from now on. */
  setOpenedBy(origin: TunnelOrigin): void {
    if (this._openedBy === origin) return;
    this._openedBy = origin;
    this.changed(this);
  }

  /** Counts an error on this tunnel without changing its state. */
  protected recordError(err: unknown): void {
    this.recordErrors(1, errorMessage(err));
  }

  /** Counts `count` errors with one reason, in one change event, and logs it once. */
  protected recordErrors(count: number, message: string): void {
    this.errors += count;
    // A failed tunnel keeps its cause: connections refused since then only repeat it.
    if (this._state !== 'failed' || this._lastError === undefined) this._lastError = message;
    this.link.log(`${this._name}: ${count > 1 ? `${count} connections failed: ` : 'connection failed: '}${message}`);
    this.changed(this);
  }

  /** A connection could not reach where the tunnel leads: counted, and said until one does. */
  protected targetFailed(err: unknown): void {
    this._targetError = errorMessage(err);
    this.recordError(err);
  }

  /** A check found nothing where the tunnel leads (watchRemotePort): said, not counted as a failed connection; logged when it starts. */
  protected targetMissing(err: unknown): void {
    const message = errorMessage(err);
    if (message === this._targetError) return;
    if (this._targetError === undefined) this.link.log(`${this._name}: ${message}`);
    this._targetError = message;
    this.changed(this);
  }

  /** A connection reached where the tunnel leads: a warning it carried is gone. */
  protected targetReached(): void {
    if (this._targetError === undefined) return;
    this._targetError = undefined;
    this.changed(this);
  }

  /** Connections held until the SSH connection is up (listening tunnels only). */
  protected waitingCount(): number {
    return 0;
  }

  /** Ends the connections the lost session carried. */
  protected dropOnSessionLost(): void {
    this.connections.drop();
  }

  /** Closes for `reason`, which the closed tunnel's event carries. */
  async close(reason: CloseReason): Promise<void> {
    if (this._state === 'closed') return;
    this.closeReason = reason;
    try {
      await this.stop();
    } finally {
      this.connections.drop();
      this._state = 'closed';
      this.changed(this);
    }
  }

  /** The session dropped: connections through it are gone, listeners stay. */
  onSessionLost(reason: string): void {
    if (this._state === 'closed' || this._state === 'failed') return;
    this.dropOnSessionLost();
    this.setState('reconnecting', reason);
  }

  /** A redial failed while this tunnel waits for it: its error is the one to show now. */
  onRetryFailed(reason: string): void {
    if (this._state === 'reconnecting' && reason !== this._lastError) this.setState('reconnecting', reason);
  }

  onSessionFailed(reason: string): void {
    if (this._state === 'closed') return;
    this.setState('failed', reason);
  }

  async onSessionBack(): Promise<void> {
    if (this._state === 'closed') return;
    try {
      await this.reestablish();
      this.setState('active');
    } catch (err) {
      this.fail(err);
    }
  }

  /** Ends in `failed` with the reason, counted as an error. */
  protected fail(err: unknown): void {
    this.errors++;
    this.setState('failed', errorMessage(err));
  }
}
