import type * as net from 'node:net';
import { boundPort, closeServer, listen, listenOnPath } from './listener';
import { Tunnel } from './tunnel';

/**
 * A tunnel whose entry is a local listener (`-L`, `-D`). The listener stays bound through
 * reconnects, so no other program can take the port and new connections use the new SSH
 * connection without anything to re-establish.
 */
export abstract class ListeningTunnel extends Tunnel {
  private server: net.Server | undefined;
  /** Read once when bound: `server.address()` is a system call, and `info()` is called often. */
  private port: number | undefined;

  protected abstract accept(socket: net.Socket): void;

  async start(): Promise<void> {
    const onConnection = (socket: net.Socket) => this.accept(socket);
    this.server = this.spec.localPath !== undefined
      ? await listenOnPath(this.spec.localPath, this.session.settings.streamLocalBindUnlink === true, onConnection)
      : await listen(this.spec.localHost, this.spec.localPort, onConnection);
    this.port = boundPort(this.server, this.spec.localPort);
    try {
      await this.session.connect();
    } catch (err) {
      await closeServer(this.server);
      throw err;
    }
    this.setState('active');
  }

  async reestablish(): Promise<void> {
    // Nothing lived on the old SSH connection.
  }

  protected async stop(): Promise<void> {
    const closing = closeServer(this.server);
    this.dropConnections();
    await closing;
  }

  protected boundLocal() {
    return { host: this.spec.localHost, port: this.port ?? this.spec.localPort };
  }
}
