import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { corkFor } from '../io/cork';
import { errorMessage } from '../base/errors';
import { discard } from '../connection/channels';
import type { TunnelLink } from '../connection/link';
import { SocketRelay } from '../ssh2';
import { defaultName, type ResolvedSpec } from './spec';
import type { CloseReason, TunnelInfo, TunnelOrigin, TunnelState, TunnelType } from '../base/types';

/** One forwarded connection: the local socket, and the SSH channel once it exists. */
export interface Connection {
  socket: net.Socket;
  channel?: Duplex | SocketRelay;
}

/** A reset by a peer ends that connection only: the error is expected and needs no handling. */
function ignore(): void {}

/**
 * What every tunnel type shares: identity, state, statistics and the set of live
 * connections. Statistics are running totals (bytes are counted as they pass between socket
 * and channel), so a change costs the same with one connection open as with thousands.
 */
export abstract class Tunnel {
  readonly createdAt = Date.now();
  private _state: TunnelState = 'connecting';
  private _lastError: string | undefined;
  private lastActivity = this.createdAt;
  private lastBytes = 0;
  protected readonly connections = new Set<Connection>();
  /** Bytes written to local sockets (from the server) and read from them, SOCKS handshakes left out. */
  private bytesIn = 0;
  private bytesOut = 0;
  private connectionsTotal = 0;
  private errors = 0;
  private statsPending = false;
  private closeReason: CloseReason | undefined;

  constructor(
    readonly id: string,
    readonly spec: ResolvedSpec,
    protected readonly link: TunnelLink,
    private readonly changed: (tunnel: Tunnel) => void,
    /** Whether another tunnel of the same manager already has this name. */
    private readonly nameTaken: (name: string, tunnel: Tunnel) => boolean = () => false,
  ) {}

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
    if (this.spec.nameGiven || this._state === 'closed') return;
    const local = this.boundLocal();
    const remote = this.boundRemote();
    const base = defaultName(this.spec.type, local.host, local.port, remote.host, remote.port, this.spec);
    let name = base;
    for (let n = 2; this.nameTaken(name, this); n++) name = `${base} (${n})`;
    if (name === this.spec.name) return;
    this.spec.name = name;
    this.changed(this);
  }

  /** Bytes moved since last asked: now is the last activity. */
  private noteActivity(): void {
    const bytes = this.bytesIn + this.bytesOut;
    if (bytes === this.lastBytes) return;
    this.lastBytes = bytes;
    this.lastActivity = Date.now();
  }

  info(): TunnelInfo {
    this.noteActivity();
    const { bytesIn, bytesOut } = this;
    const local = this.boundLocal();
    const remote = this.boundRemote();
    return {
      id: this.id,
      name: this.spec.name,
      nameGiven: this.spec.nameGiven,
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
        bytesIn,
        bytesOut,
        connectionsTotal: this.connectionsTotal,
        connectionsActive: this.connections.size,
        connectionsWaiting: this.waitingCount(),
        errors: this.errors,
      },
      createdAt: this.createdAt,
      lastActivity: this.lastActivity,
      lastError: this._lastError,
      openedBy: this.spec.openedBy ?? 'person',
      ...(this._state === 'closed' && this.closeReason !== undefined ? { closeReason: this.closeReason } : {}),
    };
  }

  /** A tunnel taken over by another owner (a person's tunnel kept in settings) says so from now on. */
  setOpenedBy(origin: TunnelOrigin): void {
    if (this.spec.openedBy === origin) return;
    this.spec.openedBy = origin;
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
    this.link.log(`${this.spec.name}: ${count > 1 ? `${count} connections failed: ` : 'connection failed: '}${message}`);
    this.changed(this);
  }

  /** Connections held until the SSH connection is up (listening tunnels only). */
  protected waitingCount(): number {
    return 0;
  }

  /** Starts tracking a connection; exactly one release follows, whatever closes first. */
  protected addConnection(socket: net.Socket): Connection {
    socket.setNoDelay(true);
    const conn: Connection = { socket };
    this.connections.add(conn);
    this.connectionsTotal++;
    this.lastActivity = Date.now();
    socket.on('error', ignore);
    socket.once('close', () => this.release(conn));
    this.statsChanged();
    return conn;
  }

  private release(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    this.lastActivity = Date.now();
    // A relay ends its channel itself once what the socket sent is out (its own 'close' listener).
    if (conn.channel && !(conn.channel instanceof SocketRelay)) discard(conn.channel);
    this.statsChanged();
  }

  /**
   * Connections come and go in bursts; listeners hear of the counts once per turn of the
   * event loop, not once per connection.
   */
  protected statsChanged(): void {
    if (this.statsPending) return;
    this.statsPending = true;
    setImmediate(this.flushStats);
  }

  private readonly flushStats = () => {
    this.statsPending = false;
    this.noteActivity();
    this.changed(this);
  };

  /** Bytes that passed between socket and channel outside `join` (what a SOCKS request carried past its end). */
  protected countBytes(bytesIn: number, bytesOut: number): void {
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
  }

  private readonly countOut = (chunk: Buffer) => {
    this.bytesOut += chunk.length;
  };

  private readonly countBytesIn = (bytes: number) => {
    this.bytesIn += bytes;
  };

  private readonly countBytesOut = (bytes: number) => {
    this.bytesOut += bytes;
  };

  /**
   * Joins socket and channel both ways with backpressure; either side closing ends both. A relay
   * moves (and counts) the bytes itself, `first` before what the socket reads; ssh2's channel
   * streams (socket files, reverse SOCKS) are piped.
   */
  protected join(conn: Connection, channel: Duplex | SocketRelay, first?: Buffer): void {
    conn.channel = channel;
    // A relay takes a socket that left while its channel opened: what the client sent still goes, then EOF and close.
    if (channel instanceof SocketRelay) channel.attach(conn.socket, this.countBytesIn, this.countBytesOut, first);
    else if (conn.socket.destroyed) discard(channel);
    else this.pipe(conn, channel);
  }

  private pipe(conn: Connection, channel: Duplex): void {
    const { socket } = conn;
    const end = () => socket.destroy();
    channel.on('error', end);
    channel.once('close', end);
    // The socket's close discards the channel: release() does, as the connection's one close listener.
    socket.pipe(channel);
    socket.on('data', this.countOut);
    // Corked, the packets of one SSH read (small ones) or of one turn of the event loop (bulk)
    // reach the socket in one writev.
    channel.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      corkFor(socket, chunk);
    });
    channel.pipe(socket);
  }

  /** Ends every connection now. */
  protected dropConnections(): void {
    for (const conn of [...this.connections]) {
      conn.socket.destroy();
      if (conn.channel) discard(conn.channel);
    }
  }

  /** Ends the connections the lost session carried. */
  protected dropOnSessionLost(): void {
    this.dropConnections();
  }

  /** Closes for `reason`, which the closed tunnel's event carries. */
  async close(reason: CloseReason): Promise<void> {
    if (this._state === 'closed') return;
    this.closeReason = reason;
    try {
      await this.stop();
    } finally {
      this.dropConnections();
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
