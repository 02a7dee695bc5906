import * as net from 'node:net';
import type { ClientChannel } from 'ssh2';
import { errorMessage, TunnelError } from './errors';
import { makeAddress } from './format';
import { SOCKET_BUFFER } from './listener';
import { Tunnel } from './tunnel';

/**
 * `-R`: the server listens (on a port, or on a Unix socket: remotePath); each connection it
 * forwards is joined to localHost:localPort (or the local Unix socket localPath).
 */
export class RemoteForward extends Tunnel {
  readonly type = 'remote' as const;
  private boundPort: number | undefined;
  /** Whether the server granted the last request: stop() withdraws only that, never another tunnel's forward on the same port or socket. */
  private granted = false;

  async start(): Promise<void> {
    try {
      await this.listenOnServer(this.spec.remotePort!);
    } catch (err) {
      // The server is down and the session keeps trying: the forward is asked for once it is back.
      if (this.session.waitsAfter(err)) {
        this.setState('reconnecting', errorMessage(err));
        return;
      }
      throw err;
    }
    this.setState('active');
  }

  async reestablish(): Promise<void> {
    // Ask for the same port again, so whoever uses it on the server finds it where it was.
    await this.listenOnServer(this.boundPort ?? this.spec.remotePort!);
  }

  private async listenOnServer(port: number): Promise<void> {
    const handler = (accept: () => ClientChannel, reject: () => void) => {
      if (this.state === 'closed') reject();
      else this.offer(accept, reject);
    };
    this.granted = false;
    if (this.spec.remotePath !== undefined) await this.session.forwardInStreamLocal(this.spec.remotePath, handler);
    else this.boundPort = await this.session.forwardIn(this.spec.remoteHost!, port, handler);
    this.granted = true;
    // A redial may be granted another port than the first time (port 0): the name follows it.
    this.updateDefaultName();
    if (this.state === 'closed') {
      // Closed while the server granted it (a cancelled start): stop() had nothing to withdraw yet.
      await this.stop();
      throw new TunnelError('CLOSED', `The tunnel ${this.spec.name} was closed while it opened.`);
    }
  }

  /** Where each connection goes on this machine, in words. */
  private get localTarget(): string {
    return this.spec.localPath ?? makeAddress(this.spec.localHost, this.spec.localPort);
  }

  protected offer(accept: () => ClientChannel, reject: () => void): void {
    // Connect to the local service first, so a refused service is a rejected channel.
    const target: net.NetConnectOpts = this.spec.localPath !== undefined ? { path: this.spec.localPath } : { host: this.spec.localHost, port: this.spec.localPort };
    // highWaterMark is a stream option net's connect types do not list.
    const socket = net.connect(Object.assign(target, { allowHalfOpen: true, highWaterMark: SOCKET_BUFFER }));
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
      const why = err.code === 'ECONNREFUSED' ? 'connection refused (is the local service running?)'
        : err.code === 'ENOENT' ? 'no such socket file (is the local service running?)' : err.message;
      this.recordError(new TunnelError('CONNECT_FAILED', `A connection from the server could not reach ${this.localTarget} here: ${why}`));
    });
  }

  protected async stop(): Promise<void> {
    if (!this.granted) return;
    if (this.spec.remotePath !== undefined) await this.session.unforwardInStreamLocal(this.spec.remotePath);
    else await this.session.unforwardIn(this.spec.remoteHost!, this.boundPort!);
  }

  protected boundLocal() {
    return { host: this.spec.localHost, port: this.spec.localPort };
  }

  protected boundRemote() {
    return { host: this.spec.remoteHost, port: this.boundPort ?? this.spec.remotePort };
  }
}
