import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';

/** A TCP echo server on loopback; `close()` ends it and every connection. */
export async function startEchoServer(host = '127.0.0.1'): Promise<{ port: number; close(): Promise<void>; connections: () => number; accepted: () => number }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    /** Connections open now. */
    connections: () => sockets.size,
    /** Connections accepted since it started. */
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sends `ping` through a tunnel to an echo service: 'ok' when it comes back, 'closed' when the connection ends first. */
export function tryEcho(port: number): Promise<'ok' | 'closed'> {
  const socket = net.connect({ host: '127.0.0.1', port });
  return new Promise((resolve) => {
    let got = '';
    socket.on('data', (d) => {
      got += d.toString();
      if (got === 'ping') {
        socket.destroy();
        resolve('ok');
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(got === 'ping' ? 'ok' : 'closed'));
    socket.on('connect', () => socket.write('ping'));
  });
}

/** Connects, waits for the connection, and returns the socket. */
export function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.setNoDelay(true);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * Sends `size` random bytes through an echo path and checks the SHA-256 of what comes back.
 * Resolves with both digests.
 */
export async function echoRoundTrip(port: number, size: number, host = '127.0.0.1'): Promise<{ sent: string; received: string; bytes: number }> {
  const socket = await connect(port, host);
  return pipeThrough(socket, size);
}

/** Writes `size` random bytes in blocks of `blockSize()` (256 KiB unless given) and hashes both ways. */
export function pipeThrough(socket: net.Socket, size: number, blockSize: () => number = () => 256 * 1024): Promise<{ sent: string; received: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const sentHash = createHash('sha256');
    const receivedHash = createHash('sha256');
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      receivedHash.update(chunk);
      received += chunk.length;
      if (received >= size) {
        socket.end();
      }
    });
    socket.once('error', reject);
    socket.once('close', () => resolve({ sent: sentHash.digest('hex'), received: receivedHash.digest('hex'), bytes: received }));
    let left = size;
    const write = () => {
      while (left > 0) {
        const n = Math.min(blockSize(), left);
        const chunk = randomBytes(n);
        sentHash.update(chunk);
        left -= n;
        if (!socket.write(chunk)) {
          socket.once('drain', write);
          return;
        }
      }
    };
    write();
  });
}

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Keeps writing 16 KiB every 5 ms (reading what comes back) until the socket closes; resolves then. */
export function keepStreaming(socket: net.Socket): Promise<void> {
  socket.on('error', () => undefined);
  socket.resume();
  const timer = setInterval(() => socket.write(Buffer.alloc(16 * 1024)), 5);
  return new Promise<void>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve();
    }),
  );
}

/** Reads everything until the peer closes. */
export function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** Reads exactly `length` bytes from the socket (rejects if it ends first), leaving it open. */
export function readBytes(socket: net.Socket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (d: Buffer): void => {
      chunks.push(d);
      got += d.length;
      if (got < length) return;
      done();
      resolve(Buffer.concat(chunks));
    };
    const onEnd = (): void => {
      done();
      reject(new Error(`the socket ended after ${got} of ${length} bytes`));
    };
    const done = (): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
  });
}

/** True while something holds 127.0.0.1:port (a listener, ours or sshd's). */
export function bound(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(true));
    probe.listen({ host: '127.0.0.1', port, exclusive: true }, () => probe.close(() => resolve(false)));
  });
}
