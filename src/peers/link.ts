// One connection to another process: messages in and out over a Unix socket or a named pipe.
import type * as net from 'node:net';
import { encode, LineReader, type Message } from './protocol';
import type { PeerIdentity } from './types';

/** What may wait, unread by the other process, before it is dropped. */
const MAX_UNREAD_BYTES = 4 * 1024 * 1024;

export interface LinkHandlers {
  message(link: Link, message: Message): void;
  /** The stream was garbage: the link is being dropped. */
  garbage(link: Link, why: string): void;
  closed(link: Link): void;
}

export class Link {
  /** Set by its hello. */
  peer: PeerIdentity | undefined;
  /** Dropped on purpose (a duplicate, a bye, shutdown): its close says nothing of the peer. */
  dropped = false;
  /** Called once its hello has been handled. */
  onHello: (() => void) | undefined;
  private closed = false;

  constructor(
    readonly socket: net.Socket,
    /** Whether this process connected (rather than accepted). */
    readonly outgoing: boolean,
    handlers: LinkHandlers,
  ) {
    const reader = new LineReader(
      (m) => {
        if (!this.closed) handlers.message(this, m);
      },
      (why) => {
        handlers.garbage(this, why);
        socket.destroy();
      },
    );
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    // Paused after a pipe's proofs, with what followed them put back.
    socket.resume();
    // A peer that ends abruptly shows as EPIPE/ECONNRESET here, then as 'close'.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      handlers.closed(this);
    });
  }

  get open(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  send(message: Message): void {
    if (!this.open || !this.socket.writable) return;
    // A process that stopped reading (stopped, hung) is dropped rather than buffered for without end.
    if (this.socket.writableLength > MAX_UNREAD_BYTES) {
      this.socket.destroy();
      return;
    }
    this.socket.write(encode(message));
  }

  /** Sends a last message, then ends the connection once it has left. */
  finish(last?: Message): Promise<void> {
    this.dropped = true;
    if (!this.open) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      if (last) this.socket.end(encode(last));
      else this.socket.end();
      // A peer that stopped reading (SIGSTOP) must not hold the shutdown.
      setTimeout(() => this.socket.destroy(), 500).unref();
    });
  }
}
