import type * as net from 'node:net';
import { errorMessage, TunnelError } from '../base/errors';
import { ListeningTunnel } from './listeningTunnel';
import { socks4Reply, socks5CodeFor, socks5Reply, SocksHandshake, successReply, type SocksTarget } from './socks';
import { discard } from '../connection/channels';
import type { Connection } from './connections';

const HANDSHAKE_TIMEOUT_MS = 10_000;

/** `-D`: a SOCKS4/4a/5 server whose every CONNECT becomes a direct-tcpip channel. */
export class DynamicForward extends ListeningTunnel {
  readonly type = 'dynamic' as const;
  /** How long a client may take to finish its SOCKS request before it is dropped. */
  handshakeTimeoutMs = HANDSHAKE_TIMEOUT_MS;

  protected accept(socket: net.Socket): void {
    const conn = this.connections.add(socket);
    const handshake = new SocksHandshake();
    const timer = setTimeout(() => socket.destroy(), this.handshakeTimeoutMs);
    socket.once('close', () => clearTimeout(timer));
    // A client that stops sending before its request is complete can never finish it: drop it now.
    const onEnd = () => socket.destroy();
    socket.once('end', onEnd);
    const onData = (chunk: Buffer) => {
      const progress = handshake.push(chunk);
      if (progress.reply.length) socket.write(progress.reply);
      if (progress.close) {
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
        this.open(conn, progress.connect.target, progress.connect.rest);
      }
    };
    socket.on('data', onData);
    socket.resume();
  }

  private open(conn: Connection, target: SocksTarget, rest: Buffer): void {
    const { socket } = conn;
    const refuse = (err: unknown, code: number, count = true) => {
      if (count) this.recordError(err);
      const reply = target.version === 5 ? socks5Reply(code) : socks4Reply(false);
      // Not just end(): the listener allows half-open sockets, and a refused client must not linger.
      socket.end(reply);
      socket.destroySoon();
    };
    // The request is read; its reply waits for the channel, and the channel for the SSH connection.
    this.whenConnected(conn, () => this.forward(conn, target, rest, refuse), (err) => refuse(err, socks5CodeFor({ code: err.code }), false));
  }

  private forward(conn: Connection, target: SocksTarget, rest: Buffer, refuse: (err: unknown, code: number, count?: boolean) => void): void {
    const { socket } = conn;
    if (socket.destroyed) return;
    this.link.channels.relayOut(socket.remoteAddress ?? '127.0.0.1', socket.remotePort ?? 0, target.host, target.port).then(
      (relay) => {
        if (this.state === 'closed') {
          discard(relay);
          return;
        }
        // The success reply goes out only now that the server has opened the channel (to a client still there).
        if (!socket.destroyed) socket.write(successReply(target.version));
        this.connections.join(conn, relay, rest);
        this.connections.countBytes(0, rest.length);
        socket.resume();
      },
      (err: unknown) => {
        const waits = this.waitAgainAfterDrop(conn, () => this.forward(conn, target, rest, refuse), (e) => refuse(e, socks5CodeFor({ code: e.code }), false));
        if (waits) return;
        const details = err instanceof TunnelError ? { code: err.code, ...(err.details as { reason?: number; description?: string }) } : { description: errorMessage(err) };
        refuse(err, socks5CodeFor(details));
      },
    );
  }

  protected boundRemote() {
    return {};
  }
}
