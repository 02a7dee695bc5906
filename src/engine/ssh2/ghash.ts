/**
 * GHASH, the authenticator of AES-GCM (NIST SP 800-38D), in constant time, for the small-packet
 * AES-GCM path (`gcmSmall.ts`).
 *
 * Constant time because H is secret: no branch and no memory index depends on H or on the data,
 * so a table-based multiply's cache timing cannot leak it. The multiply is BearSSL's `ctmul32`
 * (Thomas Pornin): a carry-less 32 × 32 product is four integer products of operands with
 * "holes" (every fourth bit), whose carries land in bits that are masked away; `Math.imul` gives
 * the low 32 bits, the high ones come from the product of the bit-reversed operands. Karatsuba
 * makes the 128 × 128 product nine such 32 × 32 products (eighteen multiplications by `bmul32`).
 *
 * Blocks are big-endian 128-bit integers in GCM's reflected bit order (the first bit of a block is
 * the coefficient of x^0); words are kept least significant first: w0 = bytes 12-15.
 */

/** The low 32 bits of the carry-less product of x and y. */
function bmul32(x: number, y: number): number {
  const x0 = x & 0x11111111;
  const x1 = x & 0x22222222;
  const x2 = x & 0x44444444;
  const x3 = x & 0x88888888;
  const y0 = y & 0x11111111;
  const y1 = y & 0x22222222;
  const y2 = y & 0x44444444;
  const y3 = y & 0x88888888;
  const z0 = (Math.imul(x0, y0) ^ Math.imul(x1, y3) ^ Math.imul(x2, y2) ^ Math.imul(x3, y1)) & 0x11111111;
  const z1 = (Math.imul(x0, y1) ^ Math.imul(x1, y0) ^ Math.imul(x2, y3) ^ Math.imul(x3, y2)) & 0x22222222;
  const z2 = (Math.imul(x0, y2) ^ Math.imul(x1, y1) ^ Math.imul(x2, y0) ^ Math.imul(x3, y3)) & 0x44444444;
  const z3 = (Math.imul(x0, y3) ^ Math.imul(x1, y2) ^ Math.imul(x2, y1) ^ Math.imul(x3, y0)) & 0x88888888;
  return z0 | z1 | z2 | z3;
}

/** x with its 32 bits in reverse order. */
function rev32(x: number): number {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return (x >>> 16) | (x << 16);
}

/** The GHASH key H as the nine operands of the Karatsuba product, each also bit-reversed. */
export class GhashKey {
  readonly b = new Int32Array(9);
  readonly br = new Int32Array(9);

  /** `h`: the 16 bytes of H = AES_K(0^128). */
  constructor(h: Buffer) {
    const b = this.b;
    b[0] = h.readInt32BE(12);
    b[1] = h.readInt32BE(8);
    b[2] = h.readInt32BE(4);
    b[3] = h.readInt32BE(0);
    b[4] = b[0] ^ b[1];
    b[5] = b[2] ^ b[3];
    b[6] = b[0] ^ b[2];
    b[7] = b[1] ^ b[3];
    b[8] = b[6] ^ b[7];
    for (let i = 0; i < 9; i++) this.br[i] = rev32(b[i]);
  }

  /** Forgets H. */
  wipe(): void {
    this.b.fill(0);
    this.br.fill(0);
  }
}

/** The running GHASH value Y, four words, least significant first. */
export type GhashState = Int32Array;

export function ghashState(): GhashState {
  return new Int32Array(4);
}

const lo = new Int32Array(9);
const hi = new Int32Array(9);

/** Y = (Y ⊕ X) · H for the block X given as words (x3 = its first four bytes). */
export function ghashBlock(y: GhashState, key: GhashKey, x3: number, x2: number, x1: number, x0: number): void {
  const a0 = y[0] ^ x0;
  const a1 = y[1] ^ x1;
  const a2 = y[2] ^ x2;
  const a3 = y[3] ^ x3;
  const r0 = rev32(a0);
  const r1 = rev32(a1);
  const r2 = rev32(a2);
  const r3 = rev32(a3);
  const b = key.b;
  const br = key.br;
  // The nine 32 × 32 products: y[0,1]·h[0,1] → 0, 1, 4; y[2,3]·h[2,3] → 2, 3, 5;
  // (y[0,1] ⊕ y[2,3])·(h[0,1] ⊕ h[2,3]) → 6, 7, 8. Each as 64 bits: lo, hi.
  lo[0] = bmul32(a0, b[0]);
  hi[0] = rev32(bmul32(r0, br[0])) >>> 1;
  lo[1] = bmul32(a1, b[1]);
  hi[1] = rev32(bmul32(r1, br[1])) >>> 1;
  lo[2] = bmul32(a2, b[2]);
  hi[2] = rev32(bmul32(r2, br[2])) >>> 1;
  lo[3] = bmul32(a3, b[3]);
  hi[3] = rev32(bmul32(r3, br[3])) >>> 1;
  lo[4] = bmul32(a0 ^ a1, b[4]);
  hi[4] = rev32(bmul32(r0 ^ r1, br[4])) >>> 1;
  lo[5] = bmul32(a2 ^ a3, b[5]);
  hi[5] = rev32(bmul32(r2 ^ r3, br[5])) >>> 1;
  const a6 = a0 ^ a2;
  const a7 = a1 ^ a3;
  const r6 = r0 ^ r2;
  const r7 = r1 ^ r3;
  lo[6] = bmul32(a6, b[6]);
  hi[6] = rev32(bmul32(r6, br[6])) >>> 1;
  lo[7] = bmul32(a7, b[7]);
  hi[7] = rev32(bmul32(r7, br[7])) >>> 1;
  lo[8] = bmul32(a6 ^ a7, b[8]);
  hi[8] = rev32(bmul32(r6 ^ r7, br[8])) >>> 1;

  // Three 64 × 64 products of 128 bits each (Karatsuba: middle = product of sums ⊕ the others).
  let m0 = lo[4] ^ lo[0] ^ lo[1];
  let m1 = hi[4] ^ hi[0] ^ hi[1];
  const c00 = lo[0];
  const c01 = hi[0] ^ m0;
  const c02 = lo[1] ^ m1;
  const c03 = hi[1];
  m0 = lo[5] ^ lo[2] ^ lo[3];
  m1 = hi[5] ^ hi[2] ^ hi[3];
  const c10 = lo[2];
  const c11 = hi[2] ^ m0;
  const c12 = lo[3] ^ m1;
  const c13 = hi[3];
  m0 = lo[8] ^ lo[6] ^ lo[7];
  m1 = hi[8] ^ hi[6] ^ hi[7];
  // The middle 128 bits of the 256-bit product: (A0 ⊕ A1)(B0 ⊕ B1) ⊕ A0·B0 ⊕ A1·B1.
  const d0 = lo[6] ^ c00 ^ c10;
  const d1 = hi[6] ^ m0 ^ c01 ^ c11;
  const d2 = lo[7] ^ m1 ^ c02 ^ c12;
  const d3 = hi[7] ^ c03 ^ c13;

  // The 256-bit product, then shifted left by one bit: the product of two reflected values is
  // the reflected product shifted right by one.
  let z0 = c00;
  let z1 = c01;
  let z2 = c02 ^ d0;
  let z3 = c03 ^ d1;
  let z4 = c10 ^ d2;
  let z5 = c11 ^ d3;
  let z6 = c12;
  let z7 = c13;
  z7 = (z7 << 1) | (z6 >>> 31);
  z6 = (z6 << 1) | (z5 >>> 31);
  z5 = (z5 << 1) | (z4 >>> 31);
  z4 = (z4 << 1) | (z3 >>> 31);
  z3 = (z3 << 1) | (z2 >>> 31);
  z2 = (z2 << 1) | (z1 >>> 31);
  z1 = (z1 << 1) | (z0 >>> 31);
  z0 = z0 << 1;

  // Reduction modulo x^128 + x^7 + x^2 + x + 1, reflected: each low word folds into the two above
  // it, in order, as the first fold reaches word 3.
  z4 ^= z0 ^ (z0 >>> 1) ^ (z0 >>> 2) ^ (z0 >>> 7);
  z3 ^= (z0 << 31) ^ (z0 << 30) ^ (z0 << 25);
  z5 ^= z1 ^ (z1 >>> 1) ^ (z1 >>> 2) ^ (z1 >>> 7);
  z4 ^= (z1 << 31) ^ (z1 << 30) ^ (z1 << 25);
  z6 ^= z2 ^ (z2 >>> 1) ^ (z2 >>> 2) ^ (z2 >>> 7);
  z5 ^= (z2 << 31) ^ (z2 << 30) ^ (z2 << 25);
  z7 ^= z3 ^ (z3 >>> 1) ^ (z3 >>> 2) ^ (z3 >>> 7);
  z6 ^= (z3 << 31) ^ (z3 << 30) ^ (z3 << 25);
  y[0] = z4;
  y[1] = z5;
  y[2] = z6;
  y[3] = z7;
}

/** Writes Y as 16 bytes at `offset`. */
export function ghashWrite(y: GhashState, out: Buffer, offset: number): void {
  out.writeInt32BE(y[3], offset);
  out.writeInt32BE(y[2], offset + 4);
  out.writeInt32BE(y[1], offset + 8);
  out.writeInt32BE(y[0], offset + 12);
}
