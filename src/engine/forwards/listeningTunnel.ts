import type * as net from 'node:net';
import { errorMessage, TunnelError } from '../base/errors';
import { plural } from '../base/format';
import { boundPort, stopListening, listen, listenOnPath, portInUse } from '../io/listener';
import { describeHolder, portHolder } from '../ports/holder';
import { Tunnel } from './tunnel';
import type { Connection } from './connections';

/** A busy port's error, naming who holds it when the operating system tells. */
async function withHolder(err: unknown, host: string): Promise<unknown> {
  if (!(err instanceof TunnelError) || err.code !== 'PORT_IN_USE' || typeof err.details.port !== 'number') return err;
  const holder = await portHolder(host, err.details.port);
  if (!holder) return err;
  return portInUse(host, err.details.port, err.details.suggestion as number | undefined, { text: describeHolder(holder), ...holder });
}

/** Connections one tunnel holds while its SSH connection is being made; more are reset at once. */
export const MAX_WAITING = 256;

interface Waiting {
  go: () => void;
  refuse: (err: TunnelError) => void;
  timer: NodeJS.Timeout;
}

/**
 * A tunnel whose entry is a local listener (`-L`, `-D`). The listener stays bound through
 * reconnects, so no other program can take the port and new connections use the new SSH
 * connection without anything to re-establish. A connection that arrives while the SSH
 * connection is being made (at start, or during a redial) waits, unread, until it is up.
 */
export abstract class ListeningTunnel extends Tunnel {
  private server: net.Server | undefined;
  /** Read once when bound: `server.address()` is a system call, and `info()` is called often. */
  private port: number | undefined;
  private readonly waiting = new Map<Connection, Waiting>();
  maxWaiting = MAX_WAITING;
  private readonly requeued = new WeakSet<Connection>();

  protected abstract accept(socket: net.Socket): void;

  async start(): Promise<void> {
    const onConnection = (socket: net.Socket) => this.accept(socket);
    this.server = this.spec.localPath !== undefined
      ? await listenOnPath(this.spec.localPath, this.link.settings.streamLocalBindUnlink === true, onConnection)
      : await listen(this.spec.localHost, this.spec.localPort, onConnection).catch(async (err: unknown) => {
        throw await withHolder(err, this.spec.localHost);
      });
    if (this.state === 'closed') {
      // Closed while binding (a cancelled start): stop() found no listener to close.
      await stopListening(this.server);
      throw new TunnelError('CLOSED', `The tunnel ${this.name} was closed while it opened.`);
    }
    this.port = boundPort(this.server, this.spec.localPort);
    this.updateDefaultName();
    try {
      await this.link.connect();
    } catch (err) {
      // The server is down and the session keeps trying: listen on, as through a redial.
      if (this.link.waitsAfter(err)) {
        this.setState('reconnecting', errorMessage(err));
        return;
      }
      await stopListening(this.server);
      throw err;
    }
    this.setState('active');
    this.releaseWaiting();
  }

  async reestablish(): Promise<void> {
    // Nothing lived on the old SSH connection.
  }

  /**
   * Runs `go` now if the SSH connection is up, or once it is; `refuse` ends the connection
   * when it cannot wait (the tunnel failed or closed, too many wait, or the wait bound passed).
   */
  protected whenConnected(conn: Connection, go: () => void, refuse: (err: TunnelError) => void): void {
    if (this.link.isConnected) return go();
    const server = this.spec.server;
    // 'active' with the session down: the connection died a moment ago and the drop is not yet told.
    if (this.state !== 'connecting' && this.state !== 'reconnecting' && this.state !== 'active') {
      const why = this.state === 'failed' ? `${server} is not connected (${this.lastError ?? 'failed'})` : `the tunnel is ${this.state}`;
      return this.refuseNow(refuse, new TunnelError('CLOSED', `Connection refused: ${why}.`));
    }
    if (this.waiting.size >= this.maxWaiting) {
      return this.refuseNow(refuse, new TunnelError('CLOSED', `Connection refused: ${plural(this.maxWaiting, 'connection')} ${this.maxWaiting === 1 ? 'is' : 'are'} already waiting for ${server} to connect.`));
    }
    const waitMs = this.link.connectTimeoutMs;
    const timer = setTimeout(() => {
      this.refuseWaiting(new TunnelError('TIMEOUT', `A connection waited ${waitMs / 1000}s (ConnectTimeout) for ${server} to connect and was reset.`), [conn]);
    }, waitMs);
    this.waiting.set(conn, { go, refuse, timer });
    conn.socket.once('close', () => {
      const w = this.waiting.get(conn);
      if (!w) return;
      clearTimeout(w.timer);
      this.waiting.delete(conn);
      this.connections.statsChanged();
    });
    this.connections.statsChanged();
  }

  /**
   * A channel open failed because the SSH connection died under it (a connection accepted in
   * the instant the drop was noticed, as on waking from sleep): wait for the redial instead of
   * resetting the connection. Once per connection. Returns whether it waits.
   */
  protected waitAgainAfterDrop(conn: Connection, go: () => void, refuse: (err: TunnelError) => void): boolean {
    if (this.link.isConnected || conn.socket.destroyed || this.requeued.has(conn)) return false;
    this.requeued.add(conn);
    conn.socket.once('close', () => this.requeued.delete(conn));
    this.whenConnected(conn, go, refuse);
    return true;
  }

  /** Only connections with a channel died with the session; the others wait for the redial. */
  protected override dropOnSessionLost(): void {
    this.connections.drop(true);
  }

  private refuseNow(refuse: (err: TunnelError) => void, err: TunnelError): void {
    refuse(err);
    this.recordErrors(1, err.message);
  }

  /** The SSH connection is up: every waiting connection goes through, in arrival order. */
  private releaseWaiting(): void {
    if (!this.waiting.size) return;
    const ready = [...this.waiting];
    this.waiting.clear();
    for (const [, w] of ready) {
      clearTimeout(w.timer);
      w.go();
    }
    this.connections.statsChanged();
  }

  /** Ends waiting connections (all, or those given), each counted as an error with the reason. */
  private refuseWaiting(err: TunnelError, only?: Connection[]): void {
    const conns = only ?? [...this.waiting.keys()];
    let n = 0;
    for (const conn of conns) {
      const w = this.waiting.get(conn);
      if (!w) continue;
      this.waiting.delete(conn);
      clearTimeout(w.timer);
      w.refuse(err);
      n++;
    }
    if (n) this.recordErrors(n, err.message);
  }

  protected override waitingCount(): number {
    return this.waiting.size;
  }

  override onSessionFailed(reason: string): void {
    super.onSessionFailed(reason);
    this.refuseWaiting(new TunnelError('CLOSED', `Connection reset: ${this.spec.server} could not be reached (${reason}).`));
  }

  override async onSessionBack(): Promise<void> {
    await super.onSessionBack();
    if (this.link.isConnected) this.releaseWaiting();
  }

  protected async stop(): Promise<void> {
    this.refuseWaiting(new TunnelError('CLOSED', `Connection reset: the tunnel ${this.name} was closed.`));
    const closing = stopListening(this.server);
    this.connections.drop();
    await closing;
  }

  protected boundLocal() {
    return { host: this.spec.localHost, port: this.port ?? this.spec.localPort };
  }
}
