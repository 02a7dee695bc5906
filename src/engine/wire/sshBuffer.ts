/**
 * SSH's wire encoding (RFC 4251 section 5), read and written in one place: a `string` is a
 * uint32 length then that many bytes, and key blobs, certificates, signatures and agent
 * messages are sequences of them.
 */

/** `data` as an SSH string: its length (uint32, big-endian) then its bytes. */
export function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

/** Reads SSH's types in order; any read past the end throws `truncated`. */
export class SshReader {
  private at: number;

  constructor(private readonly buf: Buffer, start = 0) {
    this.at = start;
  }

  private take(n: number): Buffer {
    if (this.at + n > this.buf.length) throw new Error('truncated');
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  byte(): number {
    return this.take(1)[0];
  }

  uint32(): number {
    return this.take(4).readUInt32BE(0);
  }

  uint64(): bigint {
    return this.take(8).readBigUInt64BE(0);
  }

  /** A string's bytes. */
  bytes(): Buffer {
    return this.take(this.uint32());
  }

  /** A string with its length prefix, as it sits in the buffer. */
  raw(): Buffer {
    const start = this.at;
    this.bytes();
    return this.buf.subarray(start, this.at);
  }

  text(encoding: BufferEncoding = 'utf8'): string {
    return this.bytes().toString(encoding);
  }

  get position(): number {
    return this.at;
  }

  get done(): boolean {
    return this.at === this.buf.length;
  }
}

/** Up to `count` strings from the start of `blob`; stops at the first that does not fit. */
export function readStrings(blob: Buffer, count: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (out.length < count && at + 4 <= blob.length) {
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) break;
    out.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

/** The type named at the start of a key, certificate or signature blob (`ssh-ed25519`, …); '' when there is none. */
export function blobType(blob: Buffer): string {
  return readStrings(blob, 1)[0]?.toString('latin1') ?? '';
}
