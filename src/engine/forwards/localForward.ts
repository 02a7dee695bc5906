import type * as net from 'node:net';
import { TunnelError } from '../base/errors';
import { closeUnopened, refuse } from '../io/listener';
import { ListeningTunnel } from './listeningTunnel';
import { discard } from '../connection/channels';
import type { Connection } from './connections';

/** How often an idle tunnel with watchRemotePort checks its target, by default. */
export const WATCH_INTERVAL_MS = 10_000;

/** `-L`: a local listener whose every connection becomes a direct-tcpip channel. */
export class LocalForward extends ListeningTunnel {
  readonly type = 'local' as const;
  watchIntervalMs = WATCH_INTERVAL_MS;
  private watchTimer: NodeJS.Timeout | undefined;
  private checking = false;

  override async start(): Promise<void> {
    await super.start();
    if (this.spec.watchRemotePort) {
      this.watchTimer = setInterval(() => this.checkTarget(), this.watchIntervalMs);
      this.watchTimer.unref();
      this.checkTarget();
    }
  }

  /**
   * watchRemotePort: while idle and connected, opens a channel to the target and closes it at
   * once. Nothing there is said on the tunnel (targetError) until something is.
   */
  private checkTarget(): void {
    if (this.checking || this.state !== 'active' || !this.link.isConnected || this.connections.size > 0) return;
    this.checking = true;
    const { remoteHost, remotePort, remotePath } = this.spec;
    const opening = remotePath !== undefined ? this.link.channels.forwardOutStreamLocal(remotePath) : this.link.channels.relayOut('127.0.0.1', 0, remoteHost!, remotePort!);
    opening.then(
      (channel) => {
        discard(channel);
        if (this.state !== 'closed') this.targetReached();
      },
      (err) => {
        if (this.state !== 'closed' && err instanceof TunnelError && err.code === 'CHANNEL_REFUSED') this.targetMissing(err);
      },
    ).finally(() => (this.checking = false));
  }

  protected override async stop(): Promise<void> {
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    await super.stop();
  }

  protected accept(socket: net.Socket): void {
    const conn = this.connections.add(socket);
    // Unread until its channel is open (the listener pauses on connect): nothing sent is lost while it waits.
    this.whenConnected(conn, () => this.open(conn), () => refuse(socket));
  }

  private refuseOrWait(conn: Connection, err: unknown): void {
    if (this.waitAgainAfterDrop(conn, () => this.open(conn), () => refuse(conn.socket))) return;
    // The server could not reach the target (refused, no route, no socket file); other failures are the link's.
    if (err instanceof TunnelError && err.code === 'CHANNEL_REFUSED') this.targetFailed(err);
    else this.recordError(err);
    closeUnopened(conn.socket);
  }

  private open(conn: Connection): void {
    const { socket } = conn;
    if (socket.destroyed) return;
    const { remoteHost, remotePort, remotePath } = this.spec;
    const opening = remotePath !== undefined
      ? this.link.channels.forwardOutStreamLocal(remotePath)
      : this.link.channels.relayOut(socket.remoteAddress ?? '127.0.0.1', socket.remotePort ?? 0, remoteHost!, remotePort!);
    // Read what the client already sent into the socket's buffer (at most its highWaterMark)
    // while CHANNEL_OPEN is in flight: once open, it leaves at once instead of a poll later.
    socket.read(0);
    opening.then(
      (channel) => {
        if (this.state === 'closed') {
          discard(channel);
          return;
        }
        this.targetReached();
        this.connections.join(conn, channel);
        socket.resume();
      },
      (err) => this.refuseOrWait(conn, err),
    );
  }

  protected boundRemote() {
    return { host: this.spec.remoteHost, port: this.spec.remotePort };
  }
}
