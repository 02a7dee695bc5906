import type * as net from 'node:net';
import { BULK_BYTES } from './coalesce';

function uncork(socket: net.Socket): void {
  socket.uncork();
}

/** Corks until the end of the tick, or for a bulk chunk until the end of the event-loop turn. */
export function corkFor(socket: net.Socket, chunk: Buffer): void {
  if (socket.writableCorked) return;
  socket.cork();
  if (chunk.length >= BULK_BYTES) setImmediate(uncork, socket);
  else process.nextTick(uncork, socket);
}
