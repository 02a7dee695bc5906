/**
 * What the engine reads of a connected ssh2 `Client` beyond its public API: its socket (any
 * traffic counts as the server being alive) and a keepalive probe (ssh2 has no public call).
 */
import type * as net from 'node:net';
import type { Client } from 'ssh2';
import { missing, notFunctions, type Ssh2Internals } from './internals';

interface ClientLike {
  _sock?: net.Socket;
  _callbacks?: Array<() => void>;
  _protocol?: { ping(): void };
}

export function clientShapeProblems(found: Ssh2Internals): string[] {
  return [
    ...missing('Client', found.newClient(), ['_sock', '_callbacks', '_protocol']),
    ...notFunctions('Protocol.prototype', found.Protocol?.prototype, ['ping']),
  ];
}

/** The stream the client reads the SSH connection from (a socket, a channel or a ProxyCommand's stdio). */
export function clientSocket(client: Client): net.Socket | undefined {
  return (client as unknown as ClientLike)._sock;
}

/** Sends keepalive@openssh.com the way ssh2's own keepalive does: the reply (or refusal) is matched to a callback. */
export function sendKeepalive(client: Client): void {
  const internals = client as unknown as ClientLike;
  if (!internals._callbacks || !internals._protocol) return;
  internals._callbacks.push(() => undefined);
  try {
    internals._protocol.ping();
  } catch {
    // The socket is already gone; 'close' follows.
  }
}
