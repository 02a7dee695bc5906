import type * as net from 'node:net';
import { errorMessage, TunnelError } from './errors';
import { boundPort, closeServer, listen } from './listener';
import { socks4Reply, socks5CodeFor, socks5Reply, SocksHandshake, successReply, type SocksTarget } from './socks';
import type { Connection } from './tunnel';
import { discard, Tunnel } from './tunnel';

const HANDSHAKE_TIMEOUT_MS = 10_000;

/** `-D`: a SOCKS4/4a/5 server whose every CONNECT becomes a direct-tcpip channel. */
export class DynamicForward extends Tunnel {
  readonly type = 'dynamic' as const;
  private server: net.Server | undefined;
  /** How long a client may take to finish its SOCKS request before it is dropped. */
  handshakeTimeoutMs = HANDSHAKE_TIMEOUT_MS;

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
    // The SOCKS listener stayed bound; new requests use the new SSH connection.
  }

  private accept(socket: net.Socket): void {
    const conn = this.addConnection(socket);
    const handshake = new SocksHandshake();
    const timer = setTimeout(() => socket.destroy(), this.handshakeTimeoutMs);
    socket.once('close', () => clearTimeout(timer));
    // A client that stops sending before its request is complete can never finish it: drop it now.
    const onEnd = () => socket.destroy();
    socket.once('end', onEnd);
    const onData = (chunk: Buffer) => {
      const progress = handshake.push(chunk);
      if (progress.reply.length) {
        socket.write(progress.reply);
        conn.handshakeOut += progress.reply.length;
      }
      if (progress.close) {
        conn.handshakeIn = handshake.consumed;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.destroySoon();
        if (progress.reason) this.recordError(new TunnelError('INVALID_SPEC', `SOCKS request refused: ${progress.reason}`));
        return;
      }
      if (progress.connect) {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.pause();
        conn.handshakeIn = handshake.consumed;
        this.open(conn, progress.connect.target, progress.connect.rest);
      }
    };
    socket.on('data', onData);
    socket.resume();
  }

  private open(conn: Connection, target: SocksTarget, rest: Buffer): void {
    const { socket } = conn;
    const refuse = (err: unknown, code: number) => {
      this.recordError(err);
      const reply = target.version === 5 ? socks5Reply(code) : socks4Reply(false);
      conn.handshakeOut += reply.length;
      // Not just end(): the listener allows half-open sockets, and a refused client must not linger.
      socket.end(reply);
      socket.destroySoon();
    };
    if (!this.session.isConnected) {
      refuse(new TunnelError('CLOSED', `SOCKS request for ${target.host}:${target.port} refused: ${this.spec.server} is reconnecting.`), socks5CodeFor({ code: 'CLOSED' }));
      return;
    }
    this.session.forwardOut(socket.remoteAddress ?? '127.0.0.1', socket.remotePort ?? 0, target.host, target.port).then(
      (channel) => {
        if (socket.destroyed) {
          discard(channel);
          return;
        }
        // The success reply goes out only now that the server has opened the channel.
        const reply = successReply(target.version);
        conn.handshakeOut += reply.length;
        socket.write(reply);
        if (rest.length) channel.write(rest);
        this.join(conn, channel);
        socket.resume();
      },
      (err: unknown) => {
        const details = err instanceof TunnelError ? { code: err.code, ...(err.details as { reason?: number; description?: string }) } : { description: errorMessage(err) };
        refuse(err, socks5CodeFor(details));
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
    return {};
  }
}
