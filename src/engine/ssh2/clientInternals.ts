/**
 * What the engine reads of a connected ssh2 `Client` beyond its public API: its socket (any
 * traffic counts as the server being alive), a keepalive probe (ssh2 has no public call), and a
 * signal to a command whose stdin is closed (ssh2's `signal()` sends only while it is open).
 */
import type * as net from 'node:net';
import type { Client, ClientChannel } from 'ssh2';
import { missing, notFunctions, type Ssh2Internals } from './internals';

interface ClientLike {
  _sock?: net.Socket;
  _callbacks?: Array<() => void>;
  _protocol?: { ping(): void };
}

interface SessionChannelLike {
  type?: string;
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal?(id: number, name: string): void } };
}

export function clientShapeProblems(found: Ssh2Internals): string[] {
  return [
    ...missing('Client', found.newClient(), ['_sock', '_callbacks', '_protocol']),
    ...notFunctions('Protocol.prototype', found.Protocol?.prototype, ['ping', 'signal']),
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

/**
 * Sends a signal to the command of an exec channel (RFC 4254 6.9), even once its stdin is closed;
 * nothing once the channel is closing. sshd refuses it for a forced command.
 */
export function signalCommand(channel: ClientChannel, name: string): void {
  const c = channel as unknown as SessionChannelLike;
  const id = c.outgoing?.id;
  const protocol = c._client?._protocol;
  if (c.type !== 'session' || (c.outgoing?.state !== 'open' && c.outgoing?.state !== 'eof') || id === undefined || typeof protocol?.signal !== 'function') return;
  try {
    protocol.signal(id, name);
  } catch {
    // The socket is already gone; 'close' follows.
  }
}
