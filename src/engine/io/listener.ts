import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { TunnelError } from '../base/errors';

/**
 * Stream buffer of forwarded sockets. Node's 16 KiB default is half an SSH packet, so a pipe
 * would pause after every packet; this lets the packets of one read leave in one writev.
 */
export const SOCKET_BUFFER = 256 * 1024;

/** Finds a free port near a busy one, to suggest in the error message. */
async function freePortNear(host: string, port: number): Promise<number | undefined> {
  for (let candidate = port + 1; candidate <= Math.min(65535, port + 20); candidate++) {
    const ok = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen({ host, port: candidate, exclusive: true }, () => probe.close(() => resolve(true)));
    });
    if (ok) return candidate;
  }
  return undefined;
}

/**
 * The error of a busy local port: who holds it when that is known (`holder`, in words), and a
 * free port nearby to use instead.
 */
export function portInUse(host: string, port: number, suggestion: number | undefined, holder?: { text: string; pid?: number; name?: string; user?: string }): TunnelError {
  const by = holder ? `is held by ${holder.text}` : 'is already in use by another program or tunnel';
  const { text: _text, ...who } = holder ?? { text: '' };
  return new TunnelError(
    'PORT_IN_USE',
    `Local port ${port} on ${host} ${by}.` + (suggestion ? ` Port ${suggestion} is free.` : ' Choose another port, or 0 for any free port.'),
    { port, suggestion, ...(holder ? { holder: who } : {}) },
  );
}

/**
 * Binds a local listener, turning bind failures into errors that name the port and,
 * when it is busy, a free one nearby.
 */
export async function listen(
  host: string,
  port: number,
  onConnection: (socket: net.Socket) => void,
): Promise<net.Server> {
  // allowHalfOpen: a client that shuts down its sending side still gets the reply, as through ssh.
  const server = net.createServer({ noDelay: true, pauseOnConnect: true, allowHalfOpen: true, highWaterMark: SOCKET_BUFFER }, onConnection);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true, backlog: 1024 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw portInUse(host, port, await freePortNear(host, port));
    }
    if (code === 'EACCES') {
      throw new TunnelError('LISTEN_FAILED', `Not allowed to listen on ${host}:${port}: ports below 1024 need privileges. Choose a port of 1024 or above.`, { port });
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new TunnelError('LISTEN_FAILED', `Cannot listen on ${host}: no such local address on this machine. Use 127.0.0.1, ::1 or an address this machine has.`, { host });
    }
    throw new TunnelError('LISTEN_FAILED', `Cannot listen on ${host}:${port}: ${(err as Error).message}`);
  }
  server.on('error', () => undefined);
  return server;
}

/**
 * Listens on a Unix socket file, created owner-only as ssh does. A file already there is
 * removed first only with StreamLocalBindUnlink; otherwise the error says so.
 */
export async function listenOnPath(file: string, unlink: boolean, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  let existing: fs.Stats | undefined;
  try {
    existing = fs.lstatSync(file);
  } catch {
    // Nothing there: the usual case.
  }
  if (existing) {
    if (!existing.isSocket()) {
      throw new TunnelError('LISTEN_FAILED', `Cannot listen on ${file}: it exists and is not a socket. Choose another path.`, { path: file });
    }
    if (!unlink) {
      throw new TunnelError('PORT_IN_USE',
        `Cannot listen on ${file}: the socket file exists (another program, or one left behind). Remove it, or set StreamLocalBindUnlink yes for this server to replace it.`, { path: file });
    }
    fs.rmSync(file, { force: true });
  }
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, highWaterMark: SOCKET_BUFFER }, onConnection);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // The socket is bound inside listen(): with this umask it is never readable by others, not even for a moment.
      const umask = process.umask(0o177);
      try {
        server.listen({ path: file, backlog: 1024 }, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
    fs.chmodSync(file, 0o600);
  } catch (err) {
    server.close();
    if (err instanceof TunnelError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'the socket file exists (another program, or one left behind); remove it or set StreamLocalBindUnlink yes'
      : code === 'ENOENT' ? `the folder ${path.dirname(file)} does not exist`
        : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new TunnelError(code === 'EADDRINUSE' ? 'PORT_IN_USE' : 'LISTEN_FAILED', `Cannot listen on ${file}: ${why}.`, { path: file });
  }
  server.on('error', () => undefined);
  return server;
}

/** Refuses a connection: a TCP reset where there is one; a Unix socket has none (Node throws) and is just closed. */
export function refuse(socket: net.Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/**
 * Closes a connection whose channel failed to open, as ssh's close() of it does: a reset when
 * what the client sent lies unread (here it was read ahead into the socket's buffer, with ssh it
 * is still in the kernel's), else a FIN.
 */
export function closeUnopened(socket: net.Socket): void {
  if (socket.readableLength > 0) refuse(socket);
  else socket.destroy();
}

/** Stops a listener (if it listens) and resolves once it is closed. */
export function stopListening(server: net.Server | undefined): Promise<void> {
  if (!server || !server.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}

export function boundPort(server: net.Server | undefined, fallback: number): number {
  const address = server?.address();
  return address && typeof address === 'object' ? address.port : fallback;
}
