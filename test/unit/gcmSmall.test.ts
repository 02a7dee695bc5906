import * as assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { GhashKey, ghashBlock, ghashState, ghashWrite } from '../../src/engine/ssh2/ghash';
import { IntegrityError, isSmallPacket, SMALL_PACKET_MAX, SmallGcm } from '../../src/engine/ssh2/gcmSmall';

/** GHASH's multiply by the book (NIST SP 800-38D, algorithm 1), bit by bit, on 16-byte blocks. */
function referenceMultiply(x: Buffer, h: Buffer): Buffer {
  const z = Buffer.alloc(16);
  const v = Buffer.from(h);
  for (let i = 0; i < 128; i++) {
    if ((x[i >> 3] >> (7 - (i & 7))) & 1) for (let j = 0; j < 16; j++) z[j] ^= v[j];
    const lsb = v[15] & 1;
    for (let j = 15; j > 0; j--) v[j] = (v[j] >> 1) | ((v[j - 1] & 1) << 7);
    v[0] >>= 1;
    if (lsb) v[0] ^= 0xe1;
  }
  return z;
}

/** What Node's AES-GCM makes of an SSH packet: length field (AAD), ciphertext, tag. */
function nodeSeal(algorithm: string, key: Buffer, iv: Buffer, packet: Buffer): Buffer {
  const gcm = createCipheriv(algorithm as 'aes-128-gcm', key, iv);
  gcm.setAAD(packet.subarray(0, 4));
  return Buffer.concat([packet.subarray(0, 4), gcm.update(packet.subarray(4)), gcm.final(), gcm.getAuthTag()]);
}

function nodeOpen(algorithm: string, key: Buffer, iv: Buffer, sealed: Buffer): Buffer {
  const length = sealed.readUInt32BE(0);
  const gcm = createDecipheriv(algorithm as 'aes-128-gcm', key, iv);
  gcm.setAAD(sealed.subarray(0, 4));
  const out = gcm.update(sealed.subarray(4, 4 + length));
  gcm.setAuthTag(sealed.subarray(4 + length, 4 + length + 16));
  return Buffer.concat([out, gcm.final()]);
}

/** A packet as ssh2 builds one: uint32 length, then `length` bytes to encrypt. */
function packetOf(length: number): Buffer {
  const packet = randomBytes(4 + length);
  packet.writeUInt32BE(length, 0);
  return packet;
}

/** Increments the invocation counter (the last 8 bytes of the IV), as ssh2 does after each packet. */
function next(iv: Buffer, by = 1): Buffer {
  const out = Buffer.from(iv);
  let carry = by;
  for (let i = 11; i >= 4 && carry > 0; i--) {
    const sum = out[i] + carry;
    out[i] = sum & 0xff;
    carry = sum >> 8;
  }
  return out;
}

const SIZES = Array.from({ length: SMALL_PACKET_MAX / 16 }, (_, i) => 16 * (i + 1));

describe('AES-GCM for small packets (src/engine/ssh2/gcmSmall.ts, ghash.ts)', () => {
  it("GHASH's constant-time multiply equals the bit-by-bit one of the standard on 2,000 random pairs", () => {
    for (let t = 0; t < 2000; t++) {
      const h = randomBytes(16);
      const x = t < 3 ? [Buffer.alloc(16), Buffer.alloc(16, 0xff), Buffer.from('80'.padEnd(32, '0'), 'hex')][t] : randomBytes(16);
      const y = ghashState();
      ghashBlock(y, new GhashKey(h), x.readInt32BE(0), x.readInt32BE(4), x.readInt32BE(8), x.readInt32BE(12));
      const got = Buffer.alloc(16);
      ghashWrite(y, got, 0);
      assert.deepEqual(got, referenceMultiply(x, h), `H ${h.toString('hex')}, X ${x.toString('hex')}`);
    }
  });

  for (const algorithm of ['aes-128-gcm', 'aes-256-gcm']) {
    it(`${algorithm}: seals every small size byte for byte as Node's GCM does, and opens Node's output`, () => {
      for (let t = 0; t < 300; t++) {
        const key = randomBytes(algorithm === 'aes-128-gcm' ? 16 : 32);
        const gcm = new SmallGcm(algorithm, key);
        let iv: Buffer = randomBytes(12);
        for (const length of SIZES) {
          const packet = packetOf(length);
          const expected = nodeSeal(algorithm, key, iv, packet);
          assert.deepEqual(gcm.seal(iv, packet), expected, `${length} bytes, IV ${iv.toString('hex')}`);
          assert.deepEqual(gcm.open(iv, expected, 0), packet.subarray(4));
          iv = next(iv);
        }
      }
    });
  }

  it('follows the IV through batches, skipped packets, a wrap of the counter and jumps back', () => {
    const key = randomBytes(16);
    const sealer = new SmallGcm('aes-128-gcm', key);
    const opener = new SmallGcm('aes-128-gcm', key);
    // The counter's low word 40 packets before it wraps, so the run crosses the wrap (and batches end early there).
    let iv: Buffer = Buffer.concat([randomBytes(4), Buffer.from('00000007ffffffd8', 'hex')]);
    const seen: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const packet = packetOf(SIZES[i % SIZES.length]);
      const expected = nodeSeal('aes-128-gcm', key, iv, packet);
      assert.deepEqual(sealer.seal(iv, packet), expected, `packet ${i}, IV ${iv.toString('hex')}`);
      assert.deepEqual(opener.open(iv, expected, 0), packet.subarray(4), `packet ${i}`);
      seen.push(iv);
      // Now and then some packets go through Node's GCM instead (large ones): their IVs are skipped.
      iv = next(iv, i % 7 === 0 ? 1 + (i % 45) : 1);
    }
    assert.ok(seen.some((v) => v.readUInt32BE(4) === 8), 'the run crossed into the next high word');
    // An IV from before the current batch (only a test does that) is still answered right.
    const old = seen[3];
    const packet = packetOf(32);
    assert.deepEqual(sealer.seal(old, packet), nodeSeal('aes-128-gcm', key, old, packet));
  });

  it('rejects a packet with any one bit changed (length, ciphertext or tag) before decrypting anything', () => {
    const key = randomBytes(16);
    const iv = randomBytes(12);
    const gcm = new SmallGcm('aes-128-gcm', key);
    for (const length of [16, 48]) {
      const sealed = gcm.seal(iv, packetOf(length));
      assert.deepEqual(gcm.open(iv, sealed, 0), nodeOpen('aes-128-gcm', key, iv, sealed));
      for (let bit = 0; bit < sealed.length * 8; bit++) {
        const bad = Buffer.from(sealed);
        bad[bit >> 3] ^= 1 << (bit & 7);
        // A changed length field is either not a small packet or has the wrong AAD.
        if (bit < 32 && !isSmallPacket(bad.readUInt32BE(0))) continue;
        if (bit < 32 && bad.readUInt32BE(0) > length) continue; // it would read past the packet
        assert.throws(() => gcm.open(iv, bad, 0), (err: Error) => err instanceof IntegrityError && /unable to authenticate data/.test(err.message), `bit ${bit}`);
      }
      // The wrong IV (a replayed or reordered packet) fails too.
      assert.throws(() => gcm.open(next(iv), sealed, 0), IntegrityError);
    }
  });

  it('opens a packet at an offset in a larger read, as it arrives among others', () => {
    const key = randomBytes(32);
    const gcm = new SmallGcm('aes-256-gcm', key);
    const iv = randomBytes(12);
    const packet = packetOf(80);
    const chunk = Buffer.concat([randomBytes(37), nodeSeal('aes-256-gcm', key, iv, packet), randomBytes(11)]);
    assert.deepEqual(gcm.open(iv, chunk, 37), packet.subarray(4));
  });

  it('takes only what it can seal: whole blocks of 16 to 96 bytes', () => {
    assert.deepEqual([0, 15, 16, 17, 96, 112].map(isSmallPacket), [false, false, true, false, true, false]);
    const gcm = new SmallGcm('aes-128-gcm', randomBytes(16));
    assert.throws(() => gcm.seal(randomBytes(12), packetOf(112)), /not a small packet/);
    const mislabelled = packetOf(32);
    mislabelled.writeUInt32BE(16, 0);
    assert.throws(() => gcm.seal(randomBytes(12), mislabelled), /not a small packet/);
  });
});
