import * as net from 'node:net';

/** Corked bytes from which a flush waits for the end of the event-loop turn, not of the tick. */
export const BULK_BYTES = 8192;

/**
 * Gathers a socket's writes into as few writev calls as latency allows. ssh2 writes every
 * SSH packet as three pieces (length, ciphertext, MAC); with Nagle off, each would be its own
 * syscall and TCP segment.
 * - The first flush in a turn of the event loop happens at the end of the tick, so a lone
 *   packet (a keystroke, a channel open on a quiet link) leaves at once.
 * - Later flushes in the same turn, and any flush of BULK_BYTES or more, wait for the end of
 *   the turn: under load (many connections opening, a bulk transfer) everything the engine
 *   wrote in that turn goes out in one writev.
 */
export function coalesceWrites(socket: net.Socket): void {
  const write = socket.write;
  let corked = false;
  let deferred = false;
  let flushedThisTurn = false;
  const newTurn = () => {
    flushedThisTurn = false;
  };
  const uncork = () => {
    if (!deferred && (flushedThisTurn || socket.writableLength >= BULK_BYTES)) {
      deferred = true;
      setImmediate(uncork);
      return;
    }
    corked = false;
    deferred = false;
    socket.uncork();
    if (!flushedThisTurn) {
      flushedThisTurn = true;
      setImmediate(newTurn);
    }
  };
  socket.write = function (this: net.Socket, ...args: Parameters<net.Socket['write']>) {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as net.Socket['write'];
}

/** Size of the buffer the SSH socket reads into: room for several 32 KiB packets per read. */
export const READ_BUFFER_BYTES = 256 * 1024;

/**
 * Connects a socket that reads into one reused buffer (Node's `onread`) and emits each chunk
 * as 'data' itself: no 64 KiB buffer allocated per read, four times fewer reads, and fewer
 * SSH packets split across two reads. A chunk is a view of the shared buffer only while
 * `consumedAtOnce()` says its reader is done with it when 'data' returns; otherwise a copy.
 */
export function connectReusingReadBuffer(host: string, port: number, consumedAtOnce: () => boolean): net.Socket {
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const socket: net.Socket = net.connect({
    host,
    port,
    onread: {
      buffer,
      callback: (bytes: number, buf: Uint8Array) => {
        const view = Buffer.from(buf.buffer, buf.byteOffset, bytes);
        socket.emit('data', consumedAtOnce() ? view : Buffer.from(view));
        return true; // keep reading
      },
    },
  });
  return socket;
}
