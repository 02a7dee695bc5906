/**
 * AES-GCM for small packets without a Node cipher object per packet.
 *
 * Node cannot give a GCM cipher a new IV, so ssh2 (and `gcmFastPath.ts` for channel data) makes a
 * new `Cipheriv`/`Decipheriv` for every packet: about 7 µs for a 32-byte packet, most of it the
 * object, not the AES. A new connection through a tunnel is about nine small packets each way
 * (open, confirmation, data, window, EOF, close), so this is a fifth of the engine's CPU per
 * connection. Here a packet whose encrypted part is at most `SMALL_PACKET_MAX` bytes is sealed and
 * opened as NIST SP 800-38D defines GCM, from pieces Node can reuse:
 * - the counter blocks are encrypted by one AES-ECB context kept for the key, for 32 packets'
 *   IVs at a time (J0 for the tag, then the counters for the data);
 * - GHASH is `ghash.ts`, constant time.
 * The bytes on the wire are those of Node's GCM (`test/unit/gcmSmall.test.ts` compares them, and
 * opens Node's output), a tag is checked in constant time before anything is decrypted, and a
 * packet that fails it throws `IntegrityError` with Node's words. Larger packets keep Node's GCM.
 */
import { createCipheriv, type Cipher } from 'node:crypto';
import { GhashKey, ghashBlock, ghashState, ghashWrite, type GhashState } from './ghash';

/** The largest encrypted part (padding length, payload, padding) sealed here: past it Node's GCM is cheaper. */
export const SMALL_PACKET_MAX = 96;
/** Packets whose keystream is made in one ECB call. */
const BATCH = 32;
/** Per packet: E(J0) for the tag, then the keystream for SMALL_PACKET_MAX bytes. */
const STRIDE = 16 + SMALL_PACKET_MAX;

/** A packet's tag did not verify. The message is Node's, which the session already names. */
export class IntegrityError extends Error {
  readonly code = 'ERR_SSH_INTEGRITY';
  constructor() {
    super('Unsupported state or unable to authenticate data');
    this.name = 'IntegrityError';
  }
}

/** Whether an encrypted part of `length` bytes is sealed and opened here. */
export function isSmallPacket(length: number): boolean {
  return length <= SMALL_PACKET_MAX && length >= 16 && (length & 15) === 0;
}

/** The AES-GCM state of one key in one direction. */
export class SmallGcm {
  private readonly ecb: Cipher;
  /** H and H², as GHASH keys. */
  private readonly h1: GhashKey;
  private readonly h2: GhashKey;
  /**
   * For each size of n blocks, the part of GHASH that depends only on the size (public: it is the
   * packet's length field): A·H^(n+2) ⊕ L·H, where A is the length field as AAD and L the block of
   * bit lengths. Four words each, least significant first.
   */
  private readonly bySize = new Int32Array(4 * (SMALL_PACKET_MAX / 16 + 1));
  private readonly y: GhashState = ghashState();
  /** Counter blocks for a batch, encrypted into `keystream`: IV || 1, IV || 2, ... for each packet. */
  private readonly counters = Buffer.alloc(BATCH * STRIDE);
  private keystream: Buffer | undefined;
  /** The IV of the batch's first packet: fixed field, then the invocation counter's two words. */
  private fixed = -1;
  private high = -1;
  private low = 0;
  /** Packets in the batch: BATCH, fewer where the counter's low word would wrap. */
  private count = 0;

  /** `algorithm`: Node's name of the GCM cipher, 'aes-128-gcm' or 'aes-256-gcm'. */
  constructor(algorithm: string, key: Buffer) {
    this.ecb = createCipheriv(algorithm.replace(/-gcm$/, '-ecb'), key, null);
    this.ecb.setAutoPadding(false);
    const h = this.ecb.update(Buffer.alloc(16));
    this.h1 = new GhashKey(h);
    const y = ghashState();
    ghashBlock(y, this.h1, h.readInt32BE(0), h.readInt32BE(4), h.readInt32BE(8), h.readInt32BE(12));
    h.fill(0);
    const hh = Buffer.alloc(16);
    ghashWrite(y, hh, 0);
    this.h2 = new GhashKey(hh);
    hh.fill(0);
    for (let n = 1; n <= SMALL_PACKET_MAX / 16; n++) {
      // GHASH of (A, n zero blocks, L) is exactly A·H^(n+2) ⊕ L·H.
      y.fill(0);
      ghashBlock(y, this.h1, 16 * n, 0, 0, 0);
      for (let i = 0; i < n; i++) ghashBlock(y, this.h1, 0, 0, 0, 0);
      ghashBlock(y, this.h1, 0, 32, 0, 16 * n * 8);
      this.bySize.set(y, 4 * n);
    }
    y.fill(0);
    for (let p = 0; p < BATCH; p++) {
      for (let b = 0; b < STRIDE / 16; b++) this.counters.writeUInt32BE(b + 1, p * STRIDE + b * 16 + 12); // J0 = IV || 1; the data from IV || 2
    }
  }

  /** Where the keystream for the packet with this IV starts: E(J0), then its counter blocks. */
  private keystreamAt(iv: Buffer): number {
    const fixed = iv.readUInt32BE(0);
    const high = iv.readUInt32BE(4);
    const low = iv.readUInt32BE(8);
    // Packets that took Node's GCM in between moved the IV on: their keystream is skipped.
    const index = (low - this.low) >>> 0;
    if (index < this.count && fixed === this.fixed && high === this.high) return index * STRIDE;
    this.fill(iv, fixed, high, low);
    return 0;
  }

  /** Encrypts the counter blocks of the batch of packets from this IV on. */
  private fill(iv: Buffer, fixed: number, high: number, low: number): void {
    // A batch stops before the counter's low word wraps, so keystreamAt compares the high word plainly.
    const count = Math.min(BATCH, 0x100000000 - low);
    const counters = this.counters;
    const blocks = STRIDE / 16;
    if (fixed !== this.fixed || high !== this.high) {
      for (let b = 0; b < BATCH * blocks; b++) iv.copy(counters, b * 16, 0, 8);
    }
    for (let p = 0; p < count; p++) {
      const l = low + p;
      for (let o = p * STRIDE + 8, end = o + STRIDE; o < end; o += 16) {
        counters[o] = l >>> 24;
        counters[o + 1] = l >>> 16;
        counters[o + 2] = l >>> 8;
        counters[o + 3] = l;
      }
    }
    this.keystream?.fill(0);
    const length = count * STRIDE;
    this.keystream = this.ecb.update(count === BATCH ? counters : counters.subarray(0, length));
    if (this.keystream.length !== length) throw new Error(`AES-ECB returned ${this.keystream.length} bytes for ${length}`);
    this.fixed = fixed;
    this.high = high;
    this.low = low;
    this.count = count;
  }

  /** GHASH of the length field as AAD, `length` bytes of ciphertext at `offset`, and the bit lengths. */
  private authenticate(data: Buffer, offset: number, length: number): GhashState {
    const y = this.y;
    y.fill(0);
    // Horner's rule over the ciphertext with H, the last block with H²: Σ C_j·H^(n+2-j).
    const last = offset + length - 16;
    for (let o = offset; o < last; o += 16) ghashBlock(y, this.h1, data.readInt32BE(o), data.readInt32BE(o + 4), data.readInt32BE(o + 8), data.readInt32BE(o + 12));
    ghashBlock(y, this.h2, data.readInt32BE(last), data.readInt32BE(last + 4), data.readInt32BE(last + 8), data.readInt32BE(last + 12));
    const k = 4 * (length >>> 4);
    const bySize = this.bySize;
    y[0] ^= bySize[k];
    y[1] ^= bySize[k + 1];
    y[2] ^= bySize[k + 2];
    y[3] ^= bySize[k + 3];
    return y;
  }

  /**
   * Seals `packet` (uint32 length, then the part to encrypt, `isSmallPacket` long) with this IV:
   * returns the length field, the ciphertext and the tag in one buffer.
   */
  seal(iv: Buffer, packet: Buffer): Buffer {
    const length = packet.length - 4;
    if (!isSmallPacket(length) || packet.readUInt32BE(0) !== length) throw new Error(`not a small packet of ${length} bytes`);
    const at = this.keystreamAt(iv);
    const ks = this.keystream!;
    const out = Buffer.allocUnsafe(4 + length + 16);
    out.writeUInt32BE(length, 0);
    for (let i = 0; i < length; i++) out[4 + i] = packet[4 + i] ^ ks[at + 16 + i];
    const y = this.authenticate(out, 4, length);
    const t = 4 + length;
    out.writeInt32BE(y[3] ^ ks.readInt32BE(at), t);
    out.writeInt32BE(y[2] ^ ks.readInt32BE(at + 4), t + 4);
    out.writeInt32BE(y[1] ^ ks.readInt32BE(at + 8), t + 8);
    out.writeInt32BE(y[0] ^ ks.readInt32BE(at + 12), t + 12);
    return out;
  }

  /**
   * Opens the packet at `offset` of `data` (uint32 length, that many bytes of ciphertext, the tag;
   * the caller has checked `isSmallPacket` and that it is all there) with this IV: returns the
   * decrypted part in a new buffer, or throws IntegrityError, having decrypted nothing, when the
   * tag does not verify.
   */
  open(iv: Buffer, data: Buffer, offset: number): Buffer {
    const length = data.readUInt32BE(offset);
    if (!isSmallPacket(length)) throw new Error(`not a small packet of ${length} bytes`);
    const at = this.keystreamAt(iv);
    const ks = this.keystream!;
    const y = this.authenticate(data, offset + 4, length);
    const t = offset + 4 + length;
    const diff =
      (y[3] ^ ks.readInt32BE(at) ^ data.readInt32BE(t)) |
      (y[2] ^ ks.readInt32BE(at + 4) ^ data.readInt32BE(t + 4)) |
      (y[1] ^ ks.readInt32BE(at + 8) ^ data.readInt32BE(t + 8)) |
      (y[0] ^ ks.readInt32BE(at + 12) ^ data.readInt32BE(t + 12));
    if (diff !== 0) throw new IntegrityError();
    const out = Buffer.allocUnsafe(length);
    const from = offset + 4;
    for (let i = 0; i < length; i++) out[i] = data[from + i] ^ ks[at + 16 + i];
    return out;
  }

  /** Forgets the key's material: H and the keystream made ahead. */
  wipe(): void {
    this.h1.wipe();
    this.h2.wipe();
    this.bySize.fill(0);
    this.y.fill(0);
    this.keystream?.fill(0);
    this.keystream = undefined;
    this.count = 0;
  }
}
