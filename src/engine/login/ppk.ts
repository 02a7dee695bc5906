/**
 * PuTTY private key files (`.ppk`, versions 2 and 3, as PuTTYgen writes them): read, checked
 * against their MAC, decrypted with their passphrase, and turned into an OpenSSH private key
 * that ssh2's `utils.parseKey` takes (ssh2 reads only version 2 RSA and DSA files itself).
 * Version 2 derives its keys with SHA-1 and signs with HMAC-SHA1; version 3 derives them with
 * Argon2 (id, i or d, as the file says) and signs with HMAC-SHA256; both encrypt with AES-256-CBC.
 */
import { createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { argon2id as Argon2 } from 'hash-wasm';
import { parseCertificateBlob } from '../wire/certificate';
import { certifiedKeyType, isCertificateType } from '../wire/keyTypes';
import { SshReader, sshString } from '../wire/sshBuffer';

// hash-wasm's Argon2 alone (WASM, 30 KB bundled): its `main` is a UMD file of every hash it has.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const argon2 = require('hash-wasm/dist/argon2.umd.min.js') as Record<'argon2id' | 'argon2i' | 'argon2d', typeof Argon2>;

/** Why a .ppk cannot be used: `malformed` (or a kind it does not hold), `needs-passphrase`, `wrong-passphrase`. */
export class PpkError extends Error {
  constructor(
    message: string,
    readonly kind: 'malformed' | 'unsupported' | 'needs-passphrase' | 'wrong-passphrase',
  ) {
    super(message);
  }
}

/** What a .ppk holds, read from its text (nothing decrypted yet). */
export interface PpkFile {
  version: 2 | 3;
  keyType: string;
  encrypted: boolean;
  comment: string;
  publicBlob: Buffer;
  privateBlob: Buffer;
  mac: Buffer;
  /** Version 3 with a passphrase: how its keys are derived. */
  argon2?: { flavour: 'argon2id' | 'argon2i' | 'argon2d'; memory: number; passes: number; parallelism: number; salt: Buffer };
}

/** A PPK's key in a form ssh2 takes, and the certificate it carries, if any. */
export interface PpkKey {
  /** An unencrypted OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`). */
  openssh: string;
  comment: string;
  /** The certificate blob PuTTYgen put in the file (`--certificate`): the key logs in with it. */
  certificate?: Buffer;
}

const MAGIC = /^PuTTY-User-Key-File-(\d+): *(.*)$/;
/** Bounds that keep a hostile file from asking for gigabytes or hours; PuTTYgen's defaults are 8 MiB and a few passes. */
const MAX_ARGON2_MEMORY_KIB = 1024 * 1024;
const MAX_ARGON2_PASSES = 10_000;

/** Whether `raw` is a PuTTY key file (of any version). */
export function isPpk(raw: Buffer | string): boolean {
  const head = Buffer.isBuffer(raw) ? raw.subarray(0, 40).toString('utf8') : raw.slice(0, 40);
  return /^\uFEFF?PuTTY-User-Key-File-\d+:/.test(head);
}

function malformed(why: string): PpkError {
  return new PpkError(`not a valid PuTTY key file: ${why}`, 'malformed');
}

/** Reads the text of a .ppk as PuTTY's ppk_load does: fixed headers in a fixed order. */
export function readPpk(raw: Buffer | string): PpkFile {
  const lines = raw.toString().replace(/^\uFEFF/, '').replace(/(\r?\n)+$/, '').split(/\r?\n/);
  let at = 0;
  const next = (what: string): string => {
    if (at >= lines.length) throw malformed(`it ends before its ${what} line`);
    return lines[at++];
  };
  const header = (name: string): string => {
    const line = next(`"${name}:"`);
    const colon = line.indexOf(': ');
    if (colon < 0 || line.slice(0, colon) !== name) throw malformed(`line ${at} should be "${name}: …", not ${JSON.stringify(line.slice(0, 60))}`);
    return line.slice(colon + 2);
  };
  const count = (name: string): number => {
    const value = header(name);
    if (!/^\d{1,10}$/.test(value)) throw malformed(`line ${at}: ${name} must be a number, not ${JSON.stringify(value)}`);
    return Number(value);
  };
  const base64Lines = (name: string): Buffer => {
    const n = count(name);
    const text: string[] = [];
    for (let i = 0; i < n; i++) {
      const line = next(`${name.replace('-Lines', '')} key data`).trim();
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(line)) throw malformed(`line ${at} is not base64 (${name} says ${n} lines of it)`);
      text.push(line);
    }
    return Buffer.from(text.join(''), 'base64');
  };

  const first = MAGIC.exec(next('"PuTTY-User-Key-File-N:"'));
  if (!first) throw malformed('it does not start with "PuTTY-User-Key-File-"');
  const version = Number(first[1]);
  if (version === 1) throw new PpkError('a PuTTY key file of version 1 (PuTTY before 0.52): load it in PuTTYgen and save it again', 'unsupported');
  if (version !== 2 && version !== 3) throw new PpkError(`a PuTTY key file of version ${version}, newer than this reads (2 and 3)`, 'unsupported');
  const keyType = first[2];
  const encryption = header('Encryption');
  if (encryption !== 'none' && encryption !== 'aes256-cbc') throw new PpkError(`encrypted with ${JSON.stringify(encryption)}; PuTTY key files use aes256-cbc or none`, 'unsupported');
  const encrypted = encryption !== 'none';
  const comment = header('Comment');
  const publicBlob = base64Lines('Public-Lines');
  let argon: PpkFile['argon2'];
  if (version === 3 && encrypted) {
    const kdf = header('Key-Derivation');
    const flavour = ({ Argon2id: 'argon2id', Argon2i: 'argon2i', Argon2d: 'argon2d' } as const)[kdf];
    if (!flavour) throw new PpkError(`its Key-Derivation is ${JSON.stringify(kdf)}; PuTTY uses Argon2id, Argon2i or Argon2d`, 'unsupported');
    const memory = count('Argon2-Memory');
    const passes = count('Argon2-Passes');
    const parallelism = count('Argon2-Parallelism');
    const salt = header('Argon2-Salt');
    if (!/^([0-9a-fA-F]{2})+$/.test(salt)) throw malformed(`line ${at}: Argon2-Salt must be hexadecimal`);
    if (memory < 8 * parallelism || memory > MAX_ARGON2_MEMORY_KIB) throw malformed(`Argon2-Memory ${memory} KiB is out of range (8 × parallelism to ${MAX_ARGON2_MEMORY_KIB})`);
    if (passes < 1 || passes > MAX_ARGON2_PASSES) throw malformed(`Argon2-Passes ${passes} is out of range (1 to ${MAX_ARGON2_PASSES})`);
    if (parallelism < 1 || parallelism > 255) throw malformed(`Argon2-Parallelism ${parallelism} is out of range (1 to 255)`);
    argon = { flavour, memory, passes, parallelism, salt: Buffer.from(salt, 'hex') };
  }
  const privateBlob = base64Lines('Private-Lines');
  const mac = header('Private-MAC');
  const macLength = version === 2 ? 20 : 32;
  if (!new RegExp(`^[0-9a-fA-F]{${macLength * 2}}$`).test(mac)) throw malformed(`line ${at}: Private-MAC must be ${macLength * 2} hexadecimal digits`);
  if (encrypted && (privateBlob.length === 0 || privateBlob.length % 16 !== 0)) throw malformed('its encrypted private key is not a whole number of AES blocks');
  return { version, keyType, encrypted, comment, publicBlob, privateBlob, mac: Buffer.from(mac, 'hex'), ...(argon ? { argon2: argon } : {}) };
}

/** Cipher key, IV and MAC key for a passphrase (empty when the file is not encrypted), as PuTTY derives them. */
async function deriveKeys(ppk: PpkFile, passphrase: string): Promise<{ cipherKey: Buffer; iv: Buffer; macKey: Buffer }> {
  const secret = Buffer.from(passphrase, 'utf8');
  if (ppk.version === 2) {
    // SHA-1 of a counter and the passphrase, twice, for AES-256; the MAC key hashes a fixed label with it.
    const part = (n: number) => createHash('sha1').update(Buffer.from([0, 0, 0, n])).update(secret).digest();
    return {
      cipherKey: Buffer.concat([part(0), part(1)]).subarray(0, 32),
      iv: Buffer.alloc(16),
      macKey: createHash('sha1').update('putty-private-key-file-mac-key').update(secret).digest(),
    };
  }
  if (!ppk.argon2) return { cipherKey: Buffer.alloc(0), iv: Buffer.alloc(0), macKey: Buffer.alloc(0) };
  const { flavour, memory, passes, parallelism, salt } = ppk.argon2;
  const out = Buffer.from(await argon2[flavour]({ password: secret, salt, iterations: passes, memorySize: memory, parallelism, hashLength: 80, outputType: 'binary' }));
  return { cipherKey: out.subarray(0, 32), iv: out.subarray(32, 48), macKey: out.subarray(48, 80) };
}

/**
 * The key of a .ppk as an OpenSSH private key ssh2 reads. Throws a PpkError: `needs-passphrase`
 * when it is encrypted and none is given, `wrong-passphrase` when its MAC does not match.
 */
export async function ppkToOpenSsh(raw: Buffer | string, passphrase?: string): Promise<PpkKey> {
  const ppk = readPpk(raw);
  if (ppk.encrypted && passphrase === undefined) throw new PpkError('Encrypted PuTTY key: it needs a passphrase', 'needs-passphrase');
  const { cipherKey, iv, macKey } = await deriveKeys(ppk, ppk.encrypted ? passphrase! : '');
  let clear = ppk.privateBlob;
  if (ppk.encrypted) {
    const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv).setAutoPadding(false);
    clear = Buffer.concat([decipher.update(ppk.privateBlob), decipher.final()]);
  }
  // The MAC covers the header fields and the decrypted key, padding included.
  const macked = Buffer.concat([ppk.keyType, ppk.encrypted ? 'aes256-cbc' : 'none', ppk.comment, ppk.publicBlob, clear].map((f) => sshString(f)));
  const mac = createHmac(ppk.version === 2 ? 'sha1' : 'sha256', macKey).update(macked).digest();
  if (!timingSafeEqual(mac, ppk.mac)) {
    if (ppk.encrypted) throw new PpkError('wrong passphrase (the PuTTY key file\'s MAC does not match)', 'wrong-passphrase');
    throw malformed('its Private-MAC does not match its contents (the file was changed or damaged)');
  }
  return opensshOf(ppk, clear);
}

/** Reads `n` SSH strings from a blob (mpints are strings with a sign byte, copied as they are). */
function fields(blob: Buffer, n: number, what: string): Buffer[] {
  const r = new SshReader(blob);
  try {
    return Array.from({ length: n }, () => r.bytes());
  } catch {
    throw malformed(`its ${what} is cut short`);
  }
}

/** The OpenSSH private key (PROTOCOL.key, unencrypted) of the PPK's key, from its public and private blobs. */
function opensshOf(ppk: PpkFile, clear: Buffer): PpkKey {
  const certificate = isCertificateType(ppk.keyType) ? ppk.publicBlob : undefined;
  let publicBlob = ppk.publicBlob;
  if (certificate) {
    try {
      publicBlob = parseCertificateBlob(certificate, 'in the PuTTY key file').publicKey;
    } catch (e) {
      throw malformed((e as Error).message);
    }
  }
  const keyType = certifiedKeyType(ppk.keyType);
  const [blobType, ...pub] = fields(publicBlob, keyType === 'ssh-rsa' ? 3 : keyType === 'ssh-dss' ? 5 : keyType.startsWith('ecdsa-') ? 3 : 2, 'public key');
  if (blobType.toString('latin1') !== keyType) throw malformed(`its first line says ${ppk.keyType}, its public key is ${blobType.toString('latin1')}`);
  let secret: Buffer[];
  switch (keyType) {
    case 'ssh-rsa': {
      const [e, n] = pub;
      const [d, p, q, iqmp] = fields(clear, 4, 'private key');
      secret = [n, e, d, iqmp, p, q];
      break;
    }
    case 'ssh-dss':
      secret = [...pub, ...fields(clear, 1, 'private key')];
      break;
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      secret = [...pub, ...fields(clear, 1, 'private key')];
      break;
    case 'ssh-ed25519': {
      const [point] = pub;
      // PuTTY keeps the secret as a little-endian integer: older versions drop its high zero bytes.
      let [seed] = fields(clear, 1, 'private key');
      if (seed.length === 33 && seed[32] === 0) seed = seed.subarray(0, 32);
      if (point.length !== 32 || seed.length > 32) throw malformed('its Ed25519 key has the wrong length');
      seed = Buffer.concat([seed, Buffer.alloc(32 - seed.length)]);
      secret = [point, Buffer.concat([seed, point])];
      break;
    }
    default:
      throw new PpkError(`a ${ppk.keyType} key, which SSH Tunnels cannot use (RSA, ECDSA and Ed25519 keys can be; DSA too)`, 'unsupported');
  }
  const check = randomBytes(4);
  const body = Buffer.concat([check, check, sshString(keyType), ...secret.map((f) => sshString(f)), sshString(ppk.comment)]);
  // Padded with 1, 2, 3… to the cipher block size ("none": 8), as ssh-keygen writes it.
  const padding = Buffer.from(Array.from({ length: (8 - (body.length % 8)) % 8 }, (_, i) => i + 1));
  const whole = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    Buffer.from([0, 0, 0, 1]),
    sshString(publicBlob),
    sshString(Buffer.concat([body, padding])),
  ]);
  const lines = whole.toString('base64').match(/.{1,70}/g) ?? [];
  const openssh = ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----'].join('\n');
  return { openssh, comment: ppk.comment, ...(certificate ? { certificate } : {}) };
}
