import type * as net from 'node:net';

/** Corked bytes from which a flush waits for the end of the event-loop turn, not of the tick. */
export const BULK_BYTES = 8192;

/**
 * Gathers a socket's writes into a single writev. ssh2 writes every SSH packet as three
 * pieces (length, ciphertext, MAC), and with Nagle off each would be its own syscall and
 * TCP segment; corked, they leave together. Small writes (a keystroke, a channel open) leave
 * at the end of the tick, so latency does not change; once a bulk transfer has corked
 * BULK_BYTES, the flush waits for the end of the event-loop turn, so everything the engine
 * read in that turn goes out in one writev.
 */
export function coalesceWrites(socket: net.Socket): void {
  const write = socket.write;
  let corked = false;
  let deferred = false;
  const uncork = () => {
    if (!deferred && socket.writableLength >= BULK_BYTES) {
      deferred = true;
      setImmediate(uncork);
      return;
    }
    corked = false;
    deferred = false;
    socket.uncork();
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
