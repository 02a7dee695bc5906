/**
 * A forwarded TCP channel joined straight to a local socket. ssh2 gives every channel a Duplex
 * stream, and the engine piped the socket into it and it into the socket: a stream's state,
 * pipe listeners both ways and a Writable's buffering for each connection, where a -L, -D or
 * -R connection only ever moves bytes between one socket and one channel. A `SocketRelay` is
 * what ssh2's connection handlers find in its channel table instead: they call the same
 * members as on a Channel (`push`, `_write`, `close`, `incoming`/`outgoing`, 'close'), and it
 * writes into the socket and sends what the socket reads, with SSH's window as backpressure
 * both ways, as ssh2's Channel and `pipe()` did. `relayOpen.ts` opens them.
 */
import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { corkFor } from '../io/cork';
import { NO_STDERR } from './channelFixes';

/** ssh2's own channel sizes (Channel.js): the window we grant and the largest packet we accept. */
export const MAX_WINDOW = 2 * 1024 * 1024;
export const PACKET_SIZE = 32 * 1024;
const WINDOW_THRESHOLD = MAX_WINDOW / 2;

export interface Side {
  id: number;
  window: number;
  packetSize: number;
  state: 'open' | 'eof' | 'closing' | 'closed';
}

export interface ProtocolLike {
  channelOpenConfirm(remote: number, local: number, window: number, packetSize: number): void;
  channelOpenFail(remote: number, reason: number, description: string): void;
  channelData(id: number, data: Buffer): void;
  channelEOF(id: number): void;
  channelClose(id: number): void;
  channelWindowAdjust(id: number, amount: number): void;
  directTcpip(id: number, window: number, packetSize: number, cfg: { srcIP: string; srcPort: number; dstIP: string; dstPort: number }): void;
  _handlers: Record<string, unknown>;
}

export interface ChannelTable {
  add(value?: unknown): number;
  update(id: number, value: unknown): void;
  get(id: number): unknown;
  remove(id: number): void;
}

export interface ClientLike {
  emit(event: string, ...args: unknown[]): boolean;
  _sock?: { writable?: boolean };
  _protocol: ProtocolLike;
  _chanMgr: ChannelTable;
}


function noCount(): void {}

export class SocketRelay extends EventEmitter {
  // Read and written by ssh2's connection handlers (client.js, utils.js) as on a Channel.
  readonly type = 'direct-tcpip';
  readonly server = false;
  readonly stderr = NO_STDERR;
  _callbacks: Array<(failed: boolean) => void> = [];
  readonly _exit = { code: undefined };
  /** Until the server's EOF or close. */
  readable = true;
  destroyed = false;
  _waitChanDrain = false;
  _waitWindow = false;
  _chunk: Buffer | undefined;
  _chunkcb: (() => void) | undefined;
  readonly _chunkErr = undefined;
  readonly _chunkcbErr = undefined;

  private socket: net.Socket | undefined;
  /** What the server sent before `attach` (null: its EOF). */
  private early: Array<Buffer | null> | undefined;
  private serverClosed = false;
  private eofHeld = false;
  private closeHeld = false;
  private drainAwaited = false;
  private countIn: (bytes: number) => void = noCount;
  private countOut: (bytes: number) => void = noCount;

  constructor(
    readonly _client: ClientLike,
    readonly incoming: Side,
    readonly outgoing: Side,
  ) {
    super();
    this.once('close', this.onServerClose);
  }

  /**
   * Joins the socket: what either side sends reaches the other, with backpressure; counts bytes
   * each way. `first` (what a SOCKS client sent past its request, uncounted) goes to the server
   * before anything the socket reads.
   */
  attach(socket: net.Socket, countIn: (bytes: number) => void, countOut: (bytes: number) => void, first?: Buffer): void {
    this.socket = socket;
    this.countIn = countIn;
    this.countOut = countOut;
    const early = this.early;
    this.early = undefined;
    if (early) for (const data of early) this.toSocket(socket, data);
    if (first?.length) this.write(first);
    if (socket.destroyed) {
      // The client left while the channel was opening (a reset, or a write that failed). What it
      // sent before is in the socket's buffer: it goes, then EOF and close, as ssh sends its input buffer.
      for (let data = socket.read() as Buffer | null; data; data = socket.read() as Buffer | null) this.fromSocket(data);
      this.socketClosed();
      return;
    }
    socket.on('data', this.fromSocket);
    socket.once('end', this.socketEnded);
    socket.once('close', this.socketClosed);
    // The client's EOF came while the channel was opening: a paused socket still emits 'end'
    // once its buffer is empty, and that end must reach the server as ssh's does.
    if (socket.readableEnded) this.socketEnded();
    if (this.serverClosed) this.finish(socket);
  }

  /** Called by ssh2 with the server's data, and with null at its EOF; false asks it to hold the window. */
  push(data: Buffer | null): boolean {
    if (data === null) this.readable = false;
    const socket = this.socket;
    if (!socket) {
      (this.early ??= []).push(data);
      return true;
    }
    return this.toSocket(socket, data);
  }

  private toSocket(socket: net.Socket, data: Buffer | null): boolean {
    // The client is gone and the channel is closing: Node would build (and drop) an error with a stack for each write.
    if (socket.destroyed) return true;
    if (data === null) {
      socket.end();
      return true;
    }
    this.countIn(data.length);
    corkFor(socket, data);
    if (socket.write(data)) return true;
    if (!this.drainAwaited) {
      this.drainAwaited = true;
      socket.once('drain', this.drained);
    }
    return false;
  }

  private readonly drained = () => {
    this.drainAwaited = false;
    if (!this._waitChanDrain) return;
    this._waitChanDrain = false;
    if (this.incoming.window <= WINDOW_THRESHOLD) this.adjustWindow();
  };

  private adjustWindow(): void {
    if (this.outgoing.state === 'closed') return;
    const amount = MAX_WINDOW - this.incoming.window;
    if (amount <= 0) return;
    this.incoming.window += amount;
    this._client._protocol.channelWindowAdjust(this.outgoing.id, amount);
  }

  private readonly fromSocket = (data: Buffer) => {
    this.countOut(data.length);
    this.write(data);
  };

  /** Sends `data` to the server as if the socket had read it (bytes read before `attach`, uncounted). */
  write(data: Buffer): void {
    this._write(data, null, this.sent);
    if (this._chunkcb) this.socket!.pause();
  }

  /**
   * Sends `data` as far as the server's window allows; the rest waits for its window adjust,
   * when ssh2 calls this again with `_chunk`. `done` runs once all of it is sent.
   */
  _write(data: Buffer, _encoding: unknown, done: () => void): void {
    this._chunk = undefined;
    this._chunkcb = undefined;
    const outgoing = this.outgoing;
    if (outgoing.state !== 'open') return;
    const protocol = this._client._protocol;
    const len = data.length;
    let window = outgoing.window;
    let p = 0;
    while (p < len && window > 0) {
      const n = Math.min(len - p, window, outgoing.packetSize);
      protocol.channelData(outgoing.id, p === 0 && n === len ? data : data.subarray(p, p + n));
      p += n;
      window -= n;
    }
    outgoing.window = window;
    if (p < len) {
      this._waitWindow = true;
      this._chunk = data.subarray(p);
      this._chunkcb = done;
      return;
    }
    done();
  }

  /** Everything the socket gave is sent: read on, or send the EOF (and close) that waited for it. */
  private readonly sent = () => {
    const socket = this.socket!;
    if (this.closeHeld) {
      this.closeHeld = this.eofHeld = false;
      this.destroy();
    } else if (this.eofHeld) {
      this.eofHeld = false;
      this.eof();
    } else if (socket.isPaused()) {
      socket.resume();
    }
  };

  private readonly socketEnded = () => {
    if (this._chunkcb) this.eofHeld = true;
    else this.eof();
  };

  /**
   * The socket is gone (closed, reset, or destroyed by the tunnel): EOF and close go to the
   * server once what it read is sent, as ssh drains its input buffer before its EOF.
   */
  private readonly socketClosed = () => {
    if (this._chunkcb) this.closeHeld = true;
    else this.destroy();
  };

  private eof(): void {
    if (this.outgoing.state !== 'open') return;
    this.outgoing.state = 'eof';
    this._client._protocol.channelEOF(this.outgoing.id);
  }

  /** Called by ssh2 when the server closes the channel; also ends it from this side. */
  close(): void {
    if (this.outgoing.state !== 'open' && this.outgoing.state !== 'eof') return;
    this.outgoing.state = 'closing';
    this._client._protocol.channelClose(this.outgoing.id);
  }

  /** The local side is gone: EOF and close to the server, as ssh2's Channel.destroy(). */
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.eof();
    this.close();
    return this;
  }

  /** The server closed the channel (or the connection is gone): what it sent is written, then the socket goes. */
  private readonly onServerClose = () => {
    this.serverClosed = true;
    if (this.socket) this.finish(this.socket);
  };

  private finish(socket: net.Socket): void {
    if (socket.destroyed) return;
    if (socket.writableFinished) {
      socket.destroy();
      return;
    }
    socket.once('finish', () => socket.destroy());
    if (!socket.writableEnded) socket.end();
  }
}

/** A relay for the channel `local` here, `remote` at the server (its id, window and largest packet). */
export function newRelay(client: ClientLike, local: number, remote: { sender: number; window: number; packetSize: number }): SocketRelay {
  return new SocketRelay(
    client,
    { id: local, window: MAX_WINDOW, packetSize: PACKET_SIZE, state: 'open' },
    { id: remote.sender, window: remote.window, packetSize: remote.packetSize, state: 'open' },
  );
}
