import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { discard } from '../connection/channels';
import { corkFor } from '../io/cork';
import { SocketRelay } from '../ssh2';

/** One forwarded connection: the local socket, and the SSH channel once it exists. */
export interface Connection {
  socket: net.Socket;
  channel?: Duplex | SocketRelay;
}

/** A reset by a peer ends that connection only: the error is expected and needs no handling. */
function ignore(): void {}

/**
 * The live connections of one tunnel, each socket joined to its channel, and their running
 * totals: bytes are counted as they pass, so a change costs the same with one connection open
 * as with thousands. Connections come and go in bursts: `changed` is told once per turn of
 * the event loop, not once per connection.
 */
export class Connections {
  private readonly live = new Set<Connection>();
  /** Bytes written to local sockets (from the server) and read from them, SOCKS handshakes left out. */
  bytesIn = 0;
  bytesOut = 0;
  total = 0;
  /** When a connection last came, went or moved bytes (ms since the epoch). */
  lastActivity = Date.now();
  private lastBytes = 0;
  private pending = false;

  constructor(private readonly changed: () => void) {}

  get size(): number {
    return this.live.size;
  }

  [Symbol.iterator](): IterableIterator<Connection> {
    return this.live.values();
  }

  /** Bytes moved since last asked: now is the last activity. */
  noteActivity(): void {
    const bytes = this.bytesIn + this.bytesOut;
    if (bytes === this.lastBytes) return;
    this.lastBytes = bytes;
    this.lastActivity = Date.now();
  }

  /** Starts tracking a connection; exactly one release follows, whatever closes first. */
  add(socket: net.Socket): Connection {
    socket.setNoDelay(true);
    const conn: Connection = { socket };
    this.live.add(conn);
    this.total++;
    this.lastActivity = Date.now();
    socket.on('error', ignore);
    socket.once('close', () => this.release(conn));
    this.statsChanged();
    return conn;
  }

  private release(conn: Connection): void {
    if (!this.live.delete(conn)) return;
    this.lastActivity = Date.now();
    // A relay ends its channel itself once what the socket sent is out (its own 'close' listener).
    if (conn.channel && !(conn.channel instanceof SocketRelay)) discard(conn.channel);
    this.statsChanged();
  }

  /** The counts changed (a connection came, went or waits): told once per turn. */
  statsChanged(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(this.flush);
  }

  private readonly flush = () => {
    this.pending = false;
    this.noteActivity();
    this.changed();
  };

  /** Bytes that passed between socket and channel outside `join` (what a SOCKS request carried past its end). */
  countBytes(bytesIn: number, bytesOut: number): void {
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
  join(conn: Connection, channel: Duplex | SocketRelay, first?: Buffer): void {
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

  /** Ends every connection now (`joined`: only those with a channel, which a lost SSH connection carried). */
  drop(joined = false): void {
    for (const conn of [...this.live]) {
      if (joined && !conn.channel) continue;
      conn.socket.destroy();
      if (conn.channel) discard(conn.channel);
    }
  }
}
