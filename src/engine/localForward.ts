import type * as net from 'node:net';
import { boundPort, closeServer, listen } from './listener';
import { discard, Tunnel } from './tunnel';

/** `-L`: a local listener whose every connection becomes a direct-tcpip channel. */
export class LocalForward extends Tunnel {
  readonly type = 'local' as const;
  private server: net.Server | undefined;

  async start(): Promise<void> {
    this.server = await listen(this.spec.localHost, this.spec.localPort, (socket) => this.accept(socket));
    try {
      await this.session.connect();
    } catch (err) {
      await closeServer(this.server);
      throw err;
    }
    this.setState('active');
  }

  async reestablish(): Promise<void> {
    // The listener stayed bound; new connections use the new SSH connection.
  }

  private accept(socket: net.Socket): void {
    const conn = this.addConnection(socket);
    if (!this.session.isConnected) {
      // During an outage, refuse at once rather than leave the client hanging.
      socket.resetAndDestroy();
      return;
    }
    const { remoteHost, remotePort } = this.spec;
    this.session.forwardOut(socket.remoteAddress ?? '127.0.0.1', socket.remotePort ?? 0, remoteHost!, remotePort!).then(
      (channel) => {
        if (socket.destroyed) {
          discard(channel);
          return;
        }
        this.join(conn, channel);
        socket.resume();
      },
      (err) => {
        this.recordError(err);
        socket.resetAndDestroy();
      },
    );
  }

  protected async stop(): Promise<void> {
    const closing = closeServer(this.server);
    this.dropConnections();
    await closing;
  }

  protected boundLocal() {
    return { host: this.spec.localHost, port: boundPort(this.server, this.spec.localPort) };
  }

  protected boundRemote() {
    return { host: this.spec.remoteHost, port: this.spec.remotePort };
  }
}
