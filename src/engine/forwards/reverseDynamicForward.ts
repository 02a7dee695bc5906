import * as net from 'node:net';
import type { ClientChannel } from 'ssh2';
import { TunnelError } from '../base/errors';
import { SOCKET_BUFFER } from '../io/listener';
import { RemoteForward } from './remoteForward';
import { SocketRelay } from '../ssh2';
import { SOCKS5, socks4Reply, socks5Reply, SocksHandshake, successReply, type SocksTarget } from './socks';
import { discard } from '../connection/channels';

const HANDSHAKE_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 30_000;

/** Why a local connect failed, as the SOCKS5 code that says the same. */
function socks5CodeForErrno(code: string | undefined): number {
  switch (code) {
    case 'ECONNREFUSED': return SOCKS5.CONNECTION_REFUSED;
    case 'ENETUNREACH': return SOCKS5.NETWORK_UNREACHABLE;
    case 'EHOSTUNREACH': case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME': case 'EAI_FAIL': return SOCKS5.HOST_UNREACHABLE;
    case 'ETIMEDOUT': return SOCKS5.TTL_EXPIRED;
    default: return SOCKS5.GENERAL_FAILURE;
  }
}

/**
 * `-R [addr:]port` with no target (OpenSSH's reverse dynamic forward): the server listens,
 * and each connection it forwards is a SOCKS client asking for a host this machine reaches.
 * The engine's SOCKS parser reads the channel; the connection is made from here.
 */
export class ReverseDynamicForward extends RemoteForward {
  /** How long a client may take to finish its SOCKS request before it is dropped. */
  handshakeTimeoutMs = HANDSHAKE_TIMEOUT_MS;
  /** Channels in their SOCKS handshake or waiting for the connection here (not yet joined to a local socket). */
  private readonly pending = new Set<ClientChannel>();

  protected override get relaysConnections(): boolean {
    return false;
  }

  protected override offer(accept: () => ClientChannel | SocketRelay): void {
    let opened: ClientChannel | SocketRelay;
    try {
      opened = accept();
    } catch {
      return; // The SSH connection is already gone.
    }
    if (opened instanceof SocketRelay) {
      // Not offered (relaysConnections is false): the SOCKS parser reads ssh2's channel stream.
      discard(opened);
      return;
    }
    const channel = opened;
    this.pending.add(channel);
    channel.on('error', () => undefined);
    const handshake = new SocksHandshake();
    const finish = () => {
      clearTimeout(timer);
      channel.off('data', onData);
      channel.off('end', onEnd);
    };
    const drop = () => {
      finish();
      this.pending.delete(channel);
      discard(channel);
    };
    const timer = setTimeout(drop, this.handshakeTimeoutMs);
    // A client that stops sending before its request is complete can never finish it.
    const onEnd = drop;
    const onData = (chunk: Buffer) => {
      const progress = handshake.push(chunk);
      if (progress.close) {
        finish();
        this.pending.delete(channel);
        if (progress.reason) this.recordError(new TunnelError('INVALID_SPEC', `SOCKS request refused: ${progress.reason}`));
        channel.end(progress.reply);
        discard(channel);
        return;
      }
      if (progress.reply.length) channel.write(progress.reply);
      if (progress.connect) {
        finish();
        channel.pause();
        this.connectHere(channel, progress.connect.target, progress.connect.rest);
      }
    };
    channel.on('data', onData);
    channel.once('end', onEnd);
  }

  private connectHere(channel: ClientChannel, target: SocksTarget, rest: Buffer): void {
    const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, highWaterMark: SOCKET_BUFFER } as net.NetConnectOpts);
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    // The channel stays pending until the connection here is made: discarded meanwhile (the tunnel closed), it ends the connect.
    const abandon = () => socket.destroy();
    channel.once('close', abandon);
    socket.once('close', () => this.pending.delete(channel));
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      this.pending.delete(channel);
      channel.off('close', abandon);
      socket.setTimeout(0);
      if (this.state === 'closed' || channel.destroyed) {
        socket.destroy();
        return;
      }
      const conn = this.connections.add(socket);
      // The success reply goes out only once the connection here is made.
      channel.write(successReply(target.version));
      if (rest.length) {
        socket.write(rest);
        this.connections.countBytes(rest.length, 0);
      }
      this.connections.join(conn, channel);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (!connected) {
        this.recordError(new TunnelError('CONNECT_FAILED', `SOCKS request from the server for ${target.host}:${target.port} failed here: ${err.code === 'ECONNREFUSED' ? 'connection refused' : err.message}`));
        channel.end(target.version === 5 ? socks5Reply(socks5CodeForErrno(err.code)) : socks4Reply(false));
        discard(channel);
      }
    });
  }

  protected override async stop(): Promise<void> {
    await super.stop();
    for (const channel of this.pending) discard(channel);
    this.pending.clear();
  }
}
