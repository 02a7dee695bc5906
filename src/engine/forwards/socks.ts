/** SOCKS5 reply codes (RFC 1928, section 6). */
export const SOCKS5 = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

const SOCKS4_GRANTED = 0x5a;
const SOCKS4_REJECTED = 0x5b;
const CMD_CONNECT = 0x01;
const MAX_HANDSHAKE = 1024;

export interface SocksTarget {
  version: 4 | 5;
  host: string;
  port: number;
}

type SocksStep =
  | { kind: 'more' }
  | { kind: 'reply'; bytes: Buffer; close: boolean; reason?: string }
  | { kind: 'connect'; target: SocksTarget; rest: Buffer };

/** What the handshake asks of its caller after a chunk arrived. */
export interface SocksProgress {
  /** Bytes to write back to the client now (may be empty). */
  reply: Buffer;
  /** End the connection after writing the reply. */
  close: boolean;
  reason?: string;
  /** The request is complete: open the channel, then forward `rest` (pipelined bytes). */
  connect?: { target: SocksTarget; rest: Buffer };
}

/**
 * The server side of a SOCKS4, 4a and 5 handshake (no authentication, CONNECT only) as a
 * parser that takes any TCP chunking: bytes are buffered until a whole message is in, and
 * bytes after the request are handed back to be forwarded.
 */
export class SocksHandshake {
  private buffer: Buffer = Buffer.alloc(0);
  private phase: 'greeting' | 'request' | 'done' = 'greeting';
  /** Bytes taken by handshake messages (not forwarded). */
  consumed = 0;

  push(chunk: Buffer): SocksProgress {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const replies: Buffer[] = [];
    // A client may pipeline its request right behind the greeting: parse until it runs dry.
    for (;;) {
      const step = this.parse();
      if (step.kind === 'more') {
        if (this.buffer.length > MAX_HANDSHAKE) return { reply: Buffer.concat(replies), close: true, reason: 'SOCKS handshake too long' };
        return { reply: Buffer.concat(replies), close: false };
      }
      if (step.kind === 'connect') return { reply: Buffer.concat(replies), close: false, connect: { target: step.target, rest: step.rest } };
      replies.push(step.bytes);
      if (step.close) return { reply: Buffer.concat(replies), close: true, reason: step.reason };
    }
  }

  private take(n: number): void {
    this.consumed += n;
    this.buffer = this.buffer.subarray(n);
  }

  private parse(): SocksStep {
    const b = this.buffer;
    if (this.phase === 'done' || b.length < 1) return { kind: 'more' };
    if (this.phase === 'greeting') {
      if (b[0] === 0x05) return this.greeting5();
      if (b[0] === 0x04) return this.request4();
      return { kind: 'reply', bytes: Buffer.alloc(0), close: true, reason: `not a SOCKS client (first byte 0x${b[0].toString(16)})` };
    }
    return this.request5();
  }

  private greeting5(): SocksStep {
    const b = this.buffer;
    if (b.length < 2) return { kind: 'more' };
    const count = b[1];
    if (b.length < 2 + count) return { kind: 'more' };
    const methods = b.subarray(2, 2 + count);
    this.take(2 + count);
    if (!methods.includes(0x00)) {
      this.phase = 'done';
      return { kind: 'reply', bytes: Buffer.from([0x05, 0xff]), close: true, reason: 'client offered no method without authentication' };
    }
    this.phase = 'request';
    return { kind: 'reply', bytes: Buffer.from([0x05, 0x00]), close: false };
  }

  private request5(): SocksStep {
    const b = this.buffer;
    if (b.length < 4) return { kind: 'more' };
    if (b[0] !== 0x05) return this.fail5(SOCKS5.GENERAL_FAILURE, `bad SOCKS5 request version ${b[0]}`);
    const command = b[1];
    const atyp = b[3];
    let host: string;
    let end: number;
    if (atyp === 0x01) {
      if (b.length < 10) return { kind: 'more' };
      host = `${b[4]}.${b[5]}.${b[6]}.${b[7]}`;
      end = 8;
    } else if (atyp === 0x04) {
      if (b.length < 22) return { kind: 'more' };
      const groups: string[] = [];
      for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(4 + i * 2).toString(16));
      host = compressIPv6(groups.join(':'));
      end = 20;
    } else if (atyp === 0x03) {
      if (b.length < 5) return { kind: 'more' };
      const len = b[4];
      if (b.length < 5 + len + 2) return { kind: 'more' };
      host = b.subarray(5, 5 + len).toString('latin1');
      end = 5 + len;
      if (len === 0) return this.fail5(SOCKS5.HOST_UNREACHABLE, 'empty host name');
    } else {
      return this.fail5(SOCKS5.ADDRESS_TYPE_NOT_SUPPORTED, `address type ${atyp} not supported`);
    }
    const port = b.readUInt16BE(end);
    this.take(end + 2);
    if (command !== CMD_CONNECT) {
      const name = command === 0x02 ? 'BIND' : command === 0x03 ? 'UDP ASSOCIATE' : `command ${command}`;
      return this.fail5(SOCKS5.COMMAND_NOT_SUPPORTED, `${name} is not supported (CONNECT only)`);
    }
    this.phase = 'done';
    return { kind: 'connect', target: { version: 5, host, port }, rest: this.buffer };
  }

  private fail5(code: number, reason: string): SocksStep {
    this.phase = 'done';
    return { kind: 'reply', bytes: socks5Reply(code), close: true, reason };
  }

  private request4(): SocksStep {
    const b = this.buffer;
    if (b.length < 9) return { kind: 'more' };
    const command = b[1];
    const port = b.readUInt16BE(2);
    const userEnd = b.indexOf(0x00, 8);
    if (userEnd < 0) return b.length > 8 + 255 ? this.fail4('user id too long') : { kind: 'more' };
    let host = `${b[4]}.${b[5]}.${b[6]}.${b[7]}`;
    let end = userEnd + 1;
    // SOCKS4a: 0.0.0.x (x ≠ 0) means a host name follows the user id.
    if (b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] !== 0) {
      const nameEnd = b.indexOf(0x00, end);
      if (nameEnd < 0) return b.length > end + 255 ? this.fail4('host name too long') : { kind: 'more' };
      host = b.subarray(end, nameEnd).toString('latin1');
      end = nameEnd + 1;
      if (!host) return this.fail4('empty host name');
    }
    this.take(end);
    if (command !== CMD_CONNECT) return this.fail4(command === 0x02 ? 'BIND is not supported (CONNECT only)' : `command ${command} not supported`);
    this.phase = 'done';
    return { kind: 'connect', target: { version: 4, host, port }, rest: this.buffer };
  }

  private fail4(reason: string): SocksStep {
    this.phase = 'done';
    return { kind: 'reply', bytes: socks4Reply(false), close: true, reason };
  }
}

function compressIPv6(address: string): string {
  // Let Node normalise it; net.isIPv6 accepts the long form, and URL gives the short one.
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}

export function socks5Reply(code: number): Buffer {
  return Buffer.from([0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
}

export function socks4Reply(granted: boolean): Buffer {
  return Buffer.from([0x00, granted ? SOCKS4_GRANTED : SOCKS4_REJECTED, 0, 0, 0, 0, 0, 0]);
}

export function successReply(version: 4 | 5): Buffer {
  return version === 5 ? socks5Reply(SOCKS5.SUCCEEDED) : socks4Reply(true);
}

/** Maps why a channel did not open to the SOCKS5 code that says the same. */
export function socks5CodeFor(details: { code?: string; reason?: number; description?: string }): number {
  if (details.reason === 1) return SOCKS5.NOT_ALLOWED;
  const text = details.description ?? '';
  if (/refused/i.test(text)) return SOCKS5.CONNECTION_REFUSED;
  if (/network is unreachable/i.test(text)) return SOCKS5.NETWORK_UNREACHABLE;
  if (/no route|unreachable|name|not known|lookup|resolve|nodename|servname/i.test(text)) return SOCKS5.HOST_UNREACHABLE;
  if (details.code === 'TIMEOUT' || /timed? ?out/i.test(text)) return SOCKS5.TTL_EXPIRED;
  if (details.code === 'CLOSED') return SOCKS5.NETWORK_UNREACHABLE;
  return SOCKS5.GENERAL_FAILURE;
}
