/**
 * AES-GCM channel data without ssh2's extra copies.
 *
 * The extension runs ssh2 without its native add-on, so packets go through ssh2's Node-crypto
 * AES-GCM classes, which copy more than they must:
 * - every outgoing CHANNEL_DATA is first copied into a fresh packet buffer, then encrypted;
 * - every incoming packet split across two socket reads (most 32 KiB packets, as reads are
 *   64 KiB) is decrypted piece by piece and the pieces copied into a fresh buffer.
 * A Node cipher takes its input in pieces just as well, so here:
 * - outgoing CHANNEL_DATA is encrypted as header, data and padding, with no packet buffer;
 * - an incoming CHANNEL_DATA split across reads is handed to its channel piece by piece, and
 *   only once the packet's tag has been verified: nothing unauthenticated is ever delivered.
 * The random padding of every packet comes from a pool refilled by one CSPRNG call, not from
 * one call per packet (which costs as much as encrypting a small packet).
 * Every packet whose encrypted part is at most 96 bytes (opens, confirmations, window
 * adjustments, EOFs, closes, a keystroke's data) is sealed and opened by `gcmSmall.ts` instead,
 * without a Node cipher object per packet, and goes out in one write. The bytes on the wire
 * are the same. Other ciphers and compression take ssh2's own path.
 * `test/unit/gcmFastPath.test.ts` and `gcmSmall.test.ts` cover it.
 * Installed by the adapter (`index.ts`), once its shapes are checked.
 */
import { createCipheriv, createDecipheriv, randomFillSync, type DecipherGCM } from 'node:crypto';
import { isSmallPacket, SmallGcm } from './gcmSmall';
import { missing, notFunctions, type Ssh2Internals } from './internals';

const CHANNEL_DATA = 94;
/** ssh2's bound on an incoming packet, kept as is. */
const MAX_PACKET_SIZE = 35000;
/** byte padding length, byte type, uint32 recipient, uint32 data length. */
const HEADER = 10;
/** The additional authenticated data of an incoming packet: its length field. */
const AAD = Buffer.alloc(4);

interface GcmCipher {
  _dead: boolean;
  _encSSLName: string;
  _encKey: Buffer;
  _encIV: Buffer;
  _onWrite: (data: Buffer) => void;
  outSeqno: number;
  /** Set here: this key's small-packet sealer. */
  _small?: SmallGcm;
  encrypt(packet: Buffer): void;
  free(): void;
}

interface GcmDecipher {
  inSeqno: number;
  _onPayload: (payload: Buffer) => unknown;
  _decipherSSLName: string;
  _decipherKey: Buffer;
  _decipherIV: Buffer;
  _len: number;
  _lenBytes: number;
  _pktLen: number;
  _tag: Buffer;
  _tagPos: number;
  /** Set here: the cipher for the packet being read, and its decrypted pieces. */
  _gcm?: DecipherGCM;
  _pieces?: Buffer[];
  /** Set here, by `parse`: the Protocol this decipher reads for. */
  _owner?: ProtocolLike;
  /** Set here: this key's small-packet opener. */
  _small?: SmallGcm;
  decrypt(data: Buffer, p: number, dataLen: number): number | undefined;
  free(): void;
}

interface ProtocolLike {
  _cipher: object;
  _decipher?: object;
  _kexinit: unknown;
  _packetRW: { read: object; write: object };
  _handlers: { CHANNEL_DATA?: (proto: ProtocolLike, recipient: number, data: Buffer) => void };
  _onPacket: () => void;
  _debug?: (message: string) => void;
  channelData(recipient: number, data: Buffer | string): void;
  parse(chunk: Buffer, i: number, len: number): void;
}

/**
 * How often each path ran, for tests: CHANNEL_DATA packets sent here, split packets delivered
 * in pieces, and packets sealed, opened and rejected (tag not verified) by the small-packet path.
 */
export const gcmFastPathCounters = { sent: 0, deliveredInPieces: 0, smallSealed: 0, smallOpened: 0, smallRejected: 0 };

/** Increments the invocation counter in the last 8 bytes of the IV, as ssh2 does. */
function ivIncrement(iv: Buffer): void {
  for (let i = 11; i >= 4; i--) {
    iv[i] = (iv[i] + 1) & 0xff;
    if (iv[i] !== 0) return;
  }
}

/** Random padding bytes, drawn from a pool refilled from the CSPRNG (one call, not one per packet). */
const pool = Buffer.allocUnsafe(4096);
let poolOffset = pool.length;
function randomPadding(length: number): Buffer {
  if (poolOffset + length > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += length;
  return pool.subarray(poolOffset - length, poolOffset);
}

/** ssh2's AESGCMCipherNative.allocPacket, with the padding from the pool: one CSPRNG call costs as much as the encryption of a small packet. */
function allocPacket(payloadLen: number): Buffer {
  const bodyLen = 1 + payloadLen;
  let padLen = 16 - (bodyLen & 15);
  if (padLen < 4) padLen += 16;
  const packet = Buffer.allocUnsafe(4 + bodyLen + padLen);
  packet.writeUInt32BE(bodyLen + padLen, 0);
  packet[4] = padLen;
  packet.set(randomPadding(padLen), 4 + bodyLen);
  return packet;
}

/** Writes one CHANNEL_DATA packet: uint32 length, then header, data and padding encrypted, then the tag. */
function encryptChannelData(cipher: GcmCipher, recipient: number, data: Buffer): void {
  const bodyLen = HEADER + data.length;
  let padLen = 16 - (bodyLen & 15);
  if (padLen < 4) padLen += 16;
  if (isSmallPacket(bodyLen + padLen)) {
    const packet = allocPacket(HEADER - 1 + data.length);
    packet[5] = CHANNEL_DATA;
    packet.writeUInt32BE(recipient, 6);
    packet.writeUInt32BE(data.length, 10);
    packet.set(data, 14);
    sealSmall(cipher, packet);
    gcmFastPathCounters.sent++;
    return;
  }
  const head = Buffer.allocUnsafe(4 + HEADER);
  head.writeUInt32BE(bodyLen + padLen, 0);
  head[4] = padLen;
  head[5] = CHANNEL_DATA;
  head.writeUInt32BE(recipient, 6);
  head.writeUInt32BE(data.length, 10);

  const gcm = createCipheriv(cipher._encSSLName as 'aes-128-gcm', cipher._encKey, cipher._encIV);
  const lengthField = head.subarray(0, 4);
  gcm.setAAD(lengthField);
  cipher._onWrite(Buffer.concat([lengthField, gcm.update(head.subarray(4))]));
  cipher._onWrite(gcm.update(data));
  cipher._onWrite(Buffer.concat([gcm.update(randomPadding(padLen)), gcm.final(), gcm.getAuthTag()]));

  ivIncrement(cipher._encIV);
  cipher.outSeqno = (cipher.outSeqno + 1) >>> 0;
  gcmFastPathCounters.sent++;
}

/** Seals a whole small packet (built by allocPacket) and writes it at once. */
function sealSmall(cipher: GcmCipher, packet: Buffer): void {
  cipher._small ??= new SmallGcm(cipher._encSSLName, cipher._encKey);
  cipher._onWrite(cipher._small.seal(cipher._encIV, packet));
  ivIncrement(cipher._encIV);
  cipher.outSeqno = (cipher.outSeqno + 1) >>> 0;
  gcmFastPathCounters.smallSealed++;
}

/**
 * Delivers a verified CHANNEL_DATA packet that arrived in several pieces, piece by piece.
 * Returns false when the packet is not one (or not well formed), for ssh2 to handle.
 */
function deliverPieces(owner: ProtocolLike | undefined, pieces: Buffer[], len: number): boolean {
  const first = pieces[0];
  const handler = owner?._handlers.CHANNEL_DATA;
  if (!owner || !handler || first.length < HEADER || first[1] !== CHANNEL_DATA || owner._packetRW.read.constructor !== packetReader) return false;
  const padLen = first[0];
  const recipient = first.readUInt32BE(2);
  const dataLen = first.readUInt32BE(6);
  if (padLen < 4 || HEADER + dataLen + padLen !== len) return false;
  owner._onPacket();
  owner._debug?.(`Inbound: CHANNEL_DATA (r:${recipient}, ${dataLen})`);
  let start = HEADER; // where the data starts in the current piece
  let left = dataLen;
  for (const piece of pieces) {
    if (left === 0) break;
    const take = Math.min(piece.length - start, left);
    if (take > 0) handler(owner, recipient, piece.subarray(start, start + take));
    left -= take;
    start = Math.max(0, start - piece.length);
  }
  gcmFastPathCounters.deliveredInPieces++;
  return true;
}

/** Hands a decrypted packet's payload to ssh2; what ssh2 answers (not undefined) stops `decrypt`. */
function handOver(decipher: GcmDecipher, packet: Buffer): unknown {
  if (packet[0] >= packet.length) throw new Error('Bad packet padding length');
  return decipher._onPayload(packet.subarray(1, packet.length - packet[0]));
}

/** ssh2's AESGCMDecipherNative.decrypt, keeping a packet's decrypted pieces instead of copying them. */
function decrypt(this: GcmDecipher, data: Buffer, p: number, dataLen: number): number | undefined {
  while (p < dataLen) {
    // A small packet that is all in this read is opened at once.
    if (this._lenBytes === 0 && dataLen - p >= 36) {
      const len = data.readUInt32BE(p);
      if (isSmallPacket(len) && dataLen - p >= 4 + len + 16) {
        this._small ??= new SmallGcm(this._decipherSSLName, this._decipherKey);
        let packet: Buffer;
        try {
          packet = this._small.open(this._decipherIV, data, p);
        } catch (err) {
          gcmFastPathCounters.smallRejected++; // the tag did not match: nothing was decrypted
          throw err;
        }
        p += 4 + len + 16;
        this.inSeqno = (this.inSeqno + 1) >>> 0;
        ivIncrement(this._decipherIV);
        gcmFastPathCounters.smallOpened++;
        const ret = handOver(this, packet);
        if (ret !== undefined) return ret === false ? p : (ret as number);
        continue;
      }
    }
    // Packet length: unencrypted, the additional authenticated data.
    if (this._lenBytes < 4) {
      let nb = Math.min(4 - this._lenBytes, dataLen - p);
      this._lenBytes += nb;
      while (nb--) this._len = ((this._len << 8) + data[p++]) >>> 0;
      if (this._lenBytes < 4) return undefined;
      if (this._len + 20 > MAX_PACKET_SIZE || this._len < 16 || (this._len & 15) !== 0) throw new Error('Bad packet length');
      AAD.writeUInt32BE(this._len, 0);
      this._gcm = createDecipheriv(this._decipherSSLName as 'aes-128-gcm', this._decipherKey, this._decipherIV);
      this._gcm.setAAD(AAD); // taken in at once, so one buffer serves every packet
      this._pieces = [];
    }
    const gcm = this._gcm!;
    const pieces = this._pieces!;

    // Padding length, payload and padding, encrypted.
    if (this._pktLen < this._len) {
      if (p >= dataLen) return undefined;
      const nb = Math.min(this._len - this._pktLen, dataLen - p);
      const decrypted = gcm.update(p === 0 && nb === data.length ? data : data.subarray(p, p + nb));
      if (decrypted.length) pieces.push(decrypted);
      p += nb;
      this._pktLen += nb;
      if (this._pktLen < this._len || p >= dataLen) return undefined;
    }

    // Authentication tag.
    const nb = Math.min(16 - this._tagPos, dataLen - p);
    this._tag.set(data.subarray(p, p + nb), this._tagPos);
    p += nb;
    this._tagPos += nb;
    if (this._tagPos < 16) return undefined;
    gcm.setAuthTag(this._tag);
    const last = gcm.final(); // throws when the tag does not match: nothing below runs
    if (last.length) pieces.push(last);

    const len = this._len;
    this.inSeqno = (this.inSeqno + 1) >>> 0;
    ivIncrement(this._decipherIV);
    this._len = 0;
    this._lenBytes = 0;
    this._pktLen = 0;
    this._tagPos = 0;
    this._gcm = undefined;
    this._pieces = undefined;

    if (pieces.length > 1 && deliverPieces(this._owner, pieces, len)) continue;
    const ret = handOver(this, pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, len));
    if (ret !== undefined) return ret === false ? p : (ret as number);
  }
  return undefined;
}

/** ssh2's Node-crypto AES-GCM classes, found through throwaway instances of them. */
function gcmProbes(found: Ssh2Internals): { cipher: object; decipher: object } {
  const cipherInfo = found.crypto.CIPHER_INFO['aes128-gcm@openssh.com'];
  const key = Buffer.alloc(cipherInfo.keyLen);
  const iv = Buffer.alloc(cipherInfo.ivLen);
  return {
    cipher: found.crypto.createCipher({ outbound: { onWrite: () => undefined, cipherInfo, cipherKey: key, cipherIV: iv, seqno: 0, forceNative: true } }),
    decipher: found.crypto.createDecipher({ inbound: { onPayload: () => undefined, decipherInfo: cipherInfo, decipherKey: key, decipherIV: iv, seqno: 0, forceNative: true } }),
  };
}

/** What differs from the fields and methods this module reads, writes and replaces; empty when it can be installed. */
export function gcmShapeProblems(found: Ssh2Internals): string[] {
  const problems = [
    ...notFunctions('crypto', found.crypto, ['createCipher', 'createDecipher']),
    ...missing('crypto.CIPHER_INFO', found.crypto?.CIPHER_INFO, ['aes128-gcm@openssh.com']),
    ...notFunctions('Protocol.prototype', found.Protocol?.prototype, ['channelData', 'parse']),
    ...notFunctions('zlib', found.zlib, ['PacketReader', 'PacketWriter']),
  ];
  if (problems.length) return problems;
  let probes: { cipher: object; decipher: object };
  try {
    probes = gcmProbes(found);
  } catch (err) {
    return [`an AES-GCM cipher could not be made: ${(err as Error).message}`];
  }
  return [
    ...missing('the AES-GCM cipher', probes.cipher, ['_encSSLName', '_encKey', '_encIV', '_onWrite', 'outSeqno', '_dead', 'allocPacket', 'encrypt', 'free']),
    ...missing('the AES-GCM decipher', probes.decipher, ['_onPayload', '_decipherSSLName', '_decipherKey', '_decipherIV', '_len', '_lenBytes', '_pktLen', '_tag', '_tagPos', 'inSeqno', 'decrypt', 'free']),
  ];
}

/** ssh2 frees a cipher when its keys are replaced or the connection ends: its small-packet state is wiped then. */
function wipeOnFree(proto: { free(): void; _small?: SmallGcm }): void {
  const free = proto.free;
  proto.free = function (this: { _small?: SmallGcm }) {
    free.call(this);
    this._small?.wipe();
    this._small = undefined;
  };
}

let packetReader: unknown;
let decipherPrototype: object | undefined;

/** Puts the fast path in place; the adapter has checked `gcmShapeProblems` first. */
export function installGcmFastPath(found: Ssh2Internals): void {
  const probes = gcmProbes(found);
  const protos = { cipher: Object.getPrototypeOf(probes.cipher) as object, decipher: Object.getPrototypeOf(probes.decipher) as object };
  const Protocol = found.Protocol as unknown as { prototype: ProtocolLike };
  const PacketWriter = found.zlib.PacketWriter;
  packetReader = found.zlib.PacketReader;

  const originalChannelData = Protocol.prototype.channelData;
  Protocol.prototype.channelData = function channelData(this: ProtocolLike, recipient: number, data: Buffer | string) {
    const cipher = this._cipher as GcmCipher;
    if (
      !Buffer.isBuffer(data) ||
      this._kexinit !== undefined ||
      Object.getPrototypeOf(cipher) !== protos.cipher ||
      cipher._dead ||
      this._packetRW.write.constructor !== PacketWriter
    ) {
      originalChannelData.call(this, recipient, data);
      return;
    }
    this._debug?.(`Outbound: Sending CHANNEL_DATA (r:${recipient}, ${data.length})`);
    encryptChannelData(cipher, recipient, data);
  };

  const originalParse = Protocol.prototype.parse;
  Protocol.prototype.parse = function parse(this: ProtocolLike, chunk: Buffer, i: number, len: number) {
    const d = this._decipher as GcmDecipher | undefined;
    if (d && d._owner !== this) d._owner = this;
    originalParse.call(this, chunk, i, len);
  };

  // Every other packet ssh2 builds itself, with its padding now from the pool; a small one is sealed here.
  const cipherProto = protos.cipher as GcmCipher & { allocPacket: (payloadLen: number) => Buffer };
  cipherProto.allocPacket = allocPacket;
  const originalEncrypt = cipherProto.encrypt;
  cipherProto.encrypt = function encrypt(this: GcmCipher, packet: Buffer) {
    if (this._dead || !isSmallPacket(packet.length - 4)) return originalEncrypt.call(this, packet);
    sealSmall(this, packet);
  };
  const decipherProto = protos.decipher as GcmDecipher;
  decipherProto.decrypt = decrypt;
  wipeOnFree(cipherProto);
  wipeOnFree(decipherProto);
  decipherPrototype = protos.decipher;
}

/**
 * Whether ssh2 is done with a chunk of the SSH stream once `parse` returns: true while the
 * connection reads through this module's decrypt, which decrypts into new buffers and copies
 * the tag. ssh2's other deciphers (the plaintext handshake, other ciphers) may keep slices.
 */
export function consumesChunks(client: unknown): boolean {
  const decipher = (client as { _protocol?: { _decipher?: object } } | undefined)?._protocol?._decipher;
  return decipher !== undefined && decipherPrototype !== undefined && Object.getPrototypeOf(decipher) === decipherPrototype;
}
