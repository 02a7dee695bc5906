// What two processes say to each other over their Unix socket: one JSON message a line.
import type { TunnelInfo, TunnelSpec } from '../engine';
import type { PeerIdentity } from './types';

export const PROTOCOL_VERSION = 1;

/** Longest line accepted: far above a hello with hundreds of tunnels, far below what could hurt. */
export const MAX_LINE_BYTES = 1024 * 1024;

/** A tunnel as its owner announces it. */
export interface WireTunnel {
  info: TunnelInfo;
  settingsKey?: string;
}

export type RequestOp = 'close' | 'restart';

export type Message =
  /** First on each connection, both ways: who speaks, the tunnels it serves, and its socket's name in the folder. */
  | { t: 'hello'; v: number; peer: PeerIdentity; tunnels: WireTunnel[]; socket?: string }
  /** A tunnel opened or changed; `info.state === 'closed'` (with `closeReason`) removes it. */
  | { t: 'tunnel'; tunnel: WireTunnel }
  /** Asks the owner to act on its tunnel, as its own person would. */
  | { t: 'req'; id: number; op: RequestOp; tunnelId: string }
  /** Asks whether the receiver has a tunnel (even one still opening) listening where `spec` would. */
  | { t: 'holds'; id: number; spec: TunnelSpec }
  | { t: 'res'; id: number; ok: true; info?: TunnelInfo; holds?: boolean }
  | { t: 'res'; id: number; ok: false; code: string; message: string }
  /** The sender shuts down: what it served has closed (reason `shutdown`) just before. */
  | { t: 'bye' }
  /** Two processes connected to each other at once: the sender keeps the other connection. */
  | { t: 'dup' };

export function encode(message: Message): string {
  return JSON.stringify(message) + '\n';
}

/** Why a parsed line is not a message, or undefined when it is one. */
function invalid(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return 'not a JSON object';
  const m = value as Record<string, unknown>;
  switch (m.t) {
    case 'hello': {
      const peer = m.peer as Record<string, unknown> | undefined;
      if (!peer || typeof peer.id !== 'string' || typeof peer.pid !== 'number' || typeof peer.kind !== 'string') return 'a hello without its peer';
      return Array.isArray(m.tunnels) && m.tunnels.every(validTunnel) ? undefined : 'a hello with malformed tunnels';
    }
    case 'tunnel':
      return validTunnel(m.tunnel) ? undefined : 'a malformed tunnel';
    case 'req':
      return typeof m.id === 'number' && (m.op === 'close' || m.op === 'restart') && typeof m.tunnelId === 'string' ? undefined : 'a malformed request';
    case 'holds':
      return typeof m.id === 'number' && !!m.spec && typeof m.spec === 'object' ? undefined : 'a malformed question';
    case 'res':
      return typeof m.id === 'number' && (m.ok === true || (typeof m.code === 'string' && typeof m.message === 'string')) ? undefined : 'a malformed reply';
    case 'bye':
    case 'dup':
      return undefined;
    default:
      return `an unknown message type ${JSON.stringify(m.t)}`;
  }
}

function validTunnel(value: unknown): boolean {
  const info = (value as { info?: Record<string, unknown> } | undefined)?.info;
  return !!info && typeof info.id === 'string' && typeof info.server === 'string' && typeof info.type === 'string' && typeof info.state === 'string' && typeof info.stats === 'object';
}

/**
 * Splits a byte stream into messages. `onMessage` gets each one; `onError` once, with why the
 * stream is garbage (a line too long, not JSON, not a message), after which nothing more is read.
 */
export class LineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private failed = false;

  constructor(
    private readonly onMessage: (message: Message) => void,
    private readonly onError: (why: string) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.failed) return;
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl >= 0 && !this.failed; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.pendingBytes + piece.length > MAX_LINE_BYTES) return this.fail(`a line longer than ${MAX_LINE_BYTES} bytes`);
      const line = this.pending.length ? Buffer.concat([...this.pending, piece]).toString('utf8') : piece.toString('utf8');
      this.pending = [];
      this.pendingBytes = 0;
      this.line(line);
    }
    if (this.failed || start >= chunk.length) return;
    const rest = chunk.subarray(start);
    if (this.pendingBytes + rest.length > MAX_LINE_BYTES) return this.fail(`a line longer than ${MAX_LINE_BYTES} bytes`);
    this.pending.push(Buffer.from(rest));
    this.pendingBytes += rest.length;
  }

  private line(text: string): void {
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return this.fail('a line that is not JSON');
    }
    const why = invalid(value);
    if (why) return this.fail(why);
    this.onMessage(value as Message);
  }

  private fail(why: string): void {
    this.failed = true;
    this.pending = [];
    this.onError(why);
  }
}
