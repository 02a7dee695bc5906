import type * as net from 'node:net';

/**
 * Gathers a socket's writes within one tick into a single writev. ssh2 writes every SSH
 * packet as three pieces (length, ciphertext, MAC), and with Nagle off each would be its
 * own syscall and TCP segment; corked until the tick ends, they leave together.
 */
export function coalesceWrites(socket: net.Socket): void {
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
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
