import * as net from 'node:net';
import type { ClientChannel } from 'ssh2';
import { TunnelError } from './errors';
import { SOCKET_BUFFER } from './listener';
import { Tunnel } from './tunnel';

/** `-R`: the server listens; each connection it forwards is joined to localHost:localPort. */
export class RemoteForward extends Tunnel {
  readonly type = 'remote' as const;
  private boundPort: number | undefined;

  async start(): Promise<void> {
    await this.listenOnServer(this.spec.remotePort!);
    this.setState('active');
  }

  async reestablish(): Promise<void> {
    // Ask for the same port again, so whoever uses it on the server finds it where it was.
    await this.listenOnServer(this.boundPort ?? this.spec.remotePort!);
  }

  private async listenOnServer(port: number): Promise<void> {
    this.boundPort = await this.session.forwardIn(this.spec.remoteHost!, port, (_details, accept, reject) =>
      this.offer(accept, reject),
    );
  }

  private offer(accept: () => ClientChannel, reject: () => void): void {
    if (this.state === 'closed') {
      reject();
      return;
    }
    // Connect to the local service first, so a refused service is a rejected channel.
    const socket = net.connect({ host: this.spec.localHost, port: this.spec.localPort, allowHalfOpen: true, highWaterMark: SOCKET_BUFFER } as net.NetConnectOpts);
    const conn = this.addConnection(socket);
    // The server waits for an answer to every offer: exactly one accept or reject, whatever happens first.
    let answered = false;
    const refuse = () => {
      if (answered) return;
      answered = true;
      try {
        reject();
      } catch {
        // The SSH connection is already gone; so is the offer.
      }
    };
    socket.once('connect', () => {
      if (answered) return;
      answered = true;
      let channel: ClientChannel;
      try {
        channel = accept();
      } catch {
        socket.destroy();
        return;
      }
      this.join(conn, channel);
    });
    // Closed before the local service answered (the tunnel closed, the session dropped).
    socket.once('close', refuse);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (answered) return;
      refuse();
      this.recordError(new TunnelError('CONNECT_FAILED', `A connection from the server could not reach ${this.spec.localHost}:${this.spec.localPort} here: ${err.code === 'ECONNREFUSED' ? 'connection refused (is the local service running?)' : err.message}`));
    });
  }

  protected async stop(): Promise<void> {
    if (this.boundPort !== undefined) await this.session.unforwardIn(this.spec.remoteHost!, this.boundPort);
  }

  protected boundLocal() {
    return { host: this.spec.localHost, port: this.spec.localPort };
  }

  protected boundRemote() {
    return { host: this.spec.remoteHost, port: this.boundPort ?? this.spec.remotePort };
  }
}
