// Proof that the other end of a named pipe is this person's: Windows lets any user open a pipe it
// can list, and Node cannot set a pipe's ACL nor ask who the client is. Both ends show they know
// the key in the listener's file (in the person's own folder, which only they can read), bound to
// the pipe's name and fresh nonces from both sides; nothing else is said until both have.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type * as net from 'node:net';

/** How long a connection may take to prove itself. */
export const AUTH_TIMEOUT_MS = 3000;
/** Longest proof line: far above the real one, far below what could hurt. */
const MAX_AUTH_BYTES = 512;

const HEX32 = /^[0-9a-f]{32}$/;

function proof(key: Buffer, role: 'server' | 'client', pipe: string, first: string, second: string): string {
  return createHmac('sha256', key).update(`ssh-tunnels peers ${role}\n${pipe}\n${first}\n${second}`).digest('hex');
}

function sameProof(given: unknown, want: string): boolean {
  return typeof given === 'string' && given.length === want.length && timingSafeEqual(Buffer.from(given), Buffer.from(want));
}

/** Reads the proof lines from a socket, then hands what followed them back to the socket's next reader. */
class Lines {
  private buffered = Buffer.alloc(0);
  private waiting: { resolve: (line: Record<string, unknown>) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onClose);
    this.timer = setTimeout(() => this.fail(new Error(`no proof within ${AUTH_TIMEOUT_MS} ms`)), AUTH_TIMEOUT_MS);
  }

  private readonly onData = (chunk: Buffer) => {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    this.deliver();
  };

  private readonly onClose = () => this.fail(new Error('closed before its proof'));

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(this.failure);
  }

  private deliver(): void {
    if (!this.waiting) return;
    const end = this.buffered.indexOf(0x0a);
    if (end < 0) {
      if (this.buffered.length > MAX_AUTH_BYTES) this.fail(new Error('a proof line too long'));
      return;
    }
    const text = this.buffered.subarray(0, end).toString('utf8');
    this.buffered = this.buffered.subarray(end + 1);
    const w = this.waiting;
    this.waiting = undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return w.reject(new Error('a proof line that is not JSON'));
    }
    if (!value || typeof value !== 'object' || (value as { t?: unknown }).t !== 'auth') return w.reject(new Error('no proof where one was due'));
    w.resolve(value as Record<string, unknown>);
  }

  next(): Promise<Record<string, unknown>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  /** Stops reading: what came after the proofs is put back for the next reader (which resumes the socket). */
  done(): void {
    clearTimeout(this.timer);
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onClose);
    if (this.buffered.length) this.socket.unshift(this.buffered);
  }
}

function send(socket: net.Socket, message: Record<string, string>): void {
  socket.write(JSON.stringify({ t: 'auth', ...message }) + '\n');
}

/** The dialling side: checks the listener's proof first, then gives its own. Rejects with why it failed. */
export async function proveToListener(socket: net.Socket, pipe: string, key: Buffer): Promise<void> {
  const lines = new Lines(socket);
  try {
    const mine = randomBytes(16).toString('hex');
    send(socket, { n: mine });
    const answer = await lines.next();
    if (typeof answer.n !== 'string' || !HEX32.test(answer.n)) throw new Error('a malformed proof');
    if (!sameProof(answer.p, proof(key, 'server', pipe, mine, answer.n))) throw new Error('a wrong proof');
    send(socket, { p: proof(key, 'client', pipe, answer.n, mine) });
  } finally {
    lines.done();
  }
}

/** The listening side: answers the dialler's nonce with its proof, then checks the dialler's. Rejects with why it failed. */
export async function checkDialler(socket: net.Socket, pipe: string, key: Buffer): Promise<void> {
  const lines = new Lines(socket);
  try {
    const hello = await lines.next();
    if (typeof hello.n !== 'string' || !HEX32.test(hello.n)) throw new Error('a malformed proof');
    const mine = randomBytes(16).toString('hex');
    send(socket, { n: mine, p: proof(key, 'server', pipe, hello.n, mine) });
    const answer = await lines.next();
    if (!sameProof(answer.p, proof(key, 'client', pipe, mine, hello.n))) throw new Error('a wrong proof');
  } finally {
    lines.done();
  }
}
