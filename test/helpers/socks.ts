import * as fs from 'node:fs';
import * as net from 'node:net';
import { SocksClient } from 'socks';

/** Reads a socket as a byte queue: `read(n)` waits for exactly n bytes, `closed` resolves on close. */
export class ByteReader {
  private buffer = Buffer.alloc(0);
  private waiting: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private ended = false;
  readonly closed: Promise<void>;

  constructor(readonly socket: net.Socket) {
    socket.on('error', () => undefined);
    socket.on('data', this.onData);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        this.settle();
        resolve();
      }),
    );
  }

  private readonly onData = (chunk: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.settle();
  };

  private settle(): void {
    const w = this.waiting;
    if (!w) return;
    if (this.buffer.length >= w.n) {
      this.waiting = undefined;
      const out = this.buffer.subarray(0, w.n);
      this.buffer = this.buffer.subarray(w.n);
      w.resolve(out);
    } else if (this.ended) {
      this.waiting = undefined;
      w.reject(new Error(`connection closed after ${this.buffer.length} of ${w.n} expected bytes (got ${this.buffer.toString('hex')})`));
    }
  }

  read(n: number, timeoutMs = 10_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} bytes (have ${this.buffer.toString('hex')})`)), timeoutMs);
      this.waiting = {
        n,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.settle();
    });
  }

  /** Everything that arrives until the peer closes. */
  async rest(timeoutMs = 10_000): Promise<Buffer> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the peer did not close within ${timeoutMs}ms (have ${this.buffer.toString('hex')})`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, late]);
    } finally {
      clearTimeout(timer);
    }
    const out = this.buffer;
    this.buffer = Buffer.alloc(0);
    return out;
  }

  /** Stops reading, so the socket can be handed to someone else; returns bytes not yet read. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    return this.buffer;
  }
}

export const GREETING = Buffer.from([0x05, 0x01, 0x00]);

function portBytes(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(port);
  return b;
}

/** A SOCKS5 request; `host` is an IPv4 or IPv6 literal, or a domain name. */
export function socks5Request(host: string, port: number, command = 0x01): Buffer {
  let address: Buffer;
  if (net.isIPv4(host)) address = Buffer.concat([Buffer.from([0x01]), Buffer.from(host.split('.').map(Number))]);
  else if (net.isIPv6(host)) {
    address = Buffer.concat([Buffer.from([0x04]), ipv6Bytes(host)]);
  } else address = Buffer.concat([Buffer.from([0x03, host.length]), Buffer.from(host, 'latin1')]);
  return Buffer.concat([Buffer.from([0x05, command, 0x00]), address, portBytes(port)]);
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** A SOCKS4 request (SOCKS4a when `host` is a name). */
export function socks4Request(host: string, port: number, command = 0x01): Buffer {
  const ip = net.isIPv4(host) ? Buffer.from(host.split('.').map(Number)) : Buffer.from([0, 0, 0, 1]);
  const name = net.isIPv4(host) ? Buffer.alloc(0) : Buffer.from(host + '\0', 'latin1');
  return Buffer.concat([Buffer.from([0x04, command]), portBytes(port), ip, Buffer.from('user\0'), name]);
}

/** Open fds of this process. */
export function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Opens a SOCKS connection with the `socks` npm client. */
export async function socksConnect(proxyPort: number, host: string, port: number, type: 4 | 5 = 5, proxyHost = '127.0.0.1'): Promise<net.Socket> {
  const { socket } = await SocksClient.createConnection({
    proxy: { host: proxyHost, port: proxyPort, type },
    command: 'connect',
    destination: { host, port },
    timeout: 10_000,
  });
  socket.setNoDelay(true);
  return socket;
}
