/**
 * OpenSSH user certificates (PROTOCOL.certkeys): read a `-cert.pub` file, and say before
 * offering one whether the server will refuse it for a reason we can see (expired, not yet
 * valid, another user's), so the final error names the certificate and why.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Certificate {
  /** Where it was read from, for messages (~ for the home directory). */
  label: string;
  /** `ssh-ed25519-cert-v01@openssh.com`, … */
  type: string;
  /** The certified key's own type: `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`. */
  keyType: string;
  /** The whole certificate, as sent in publickey authentication. */
  blob: Buffer;
  /** The certified public key as a plain key blob, to match it with a private key. */
  publicKey: Buffer;
  /** 1 user, 2 host. */
  certType: number;
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  /** The critical options, as sent (empty when there are none). */
  criticalOptions: Buffer;
  /** The CA's public key blob. */
  signatureKey: Buffer;
  /** The CA's signature (algorithm and bytes), over `signed`. */
  signature: Buffer;
  /** The part of the blob the CA signed: all of it before the signature. */
  signed: Buffer;
}

const CERT_SUFFIX = '-cert-v01@openssh.com';
const FOREVER = 0xffffffffffffffffn;

/** The fields after the nonce that make up each key type's public key. */
const KEY_FIELDS: Record<string, Array<'string' | 'mpint'>> = {
  'ssh-ed25519': ['string'],
  'ssh-rsa': ['mpint', 'mpint'],
  'ecdsa-sha2-nistp256': ['string', 'string'],
  'ecdsa-sha2-nistp384': ['string', 'string'],
  'ecdsa-sha2-nistp521': ['string', 'string'],
  'ssh-dss': ['mpint', 'mpint', 'mpint', 'mpint'],
  'sk-ssh-ed25519@openssh.com': ['string', 'string'],
  'sk-ecdsa-sha2-nistp256@openssh.com': ['string', 'string', 'string'],
};

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  private take(n: number): Buffer {
    if (this.at + n > this.buf.length) throw new Error('truncated');
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  uint32(): number {
    return this.take(4).readUInt32BE(0);
  }
  uint64(): bigint {
    return this.take(8).readBigUInt64BE(0);
  }
  bytes(): Buffer {
    return this.take(this.uint32());
  }
  /** A string with its length prefix, as it sits in the blob. */
  raw(): Buffer {
    const start = this.at;
    this.bytes();
    return this.buf.subarray(start, this.at);
  }
  text(): string {
    return this.bytes().toString('utf8');
  }
  get position(): number {
    return this.at;
  }
  get done(): boolean {
    return this.at === this.buf.length;
  }
}

const sshString = (b: Buffer) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length, 0);
  return Buffer.concat([len, b]);
};

/** Reads a certificate blob; throws with what is wrong with it. */
export function parseCertificateBlob(blob: Buffer, label: string): Certificate {
  const r = new Reader(blob);
  try {
    const type = r.text();
    if (!type.endsWith(CERT_SUFFIX)) throw new Error(`${type} is not a certificate type`);
    // sk-ssh-ed25519-cert-v01@openssh.com certifies an sk-ssh-ed25519@openssh.com key.
    const keyType = type.startsWith('sk-') ? type.replace(CERT_SUFFIX, '@openssh.com') : type.slice(0, -CERT_SUFFIX.length);
    const fields = KEY_FIELDS[keyType];
    if (!fields) throw new Error(`unknown certificate type ${type}`);
    r.bytes(); // nonce
    const publicKey = Buffer.concat([sshString(Buffer.from(keyType)), ...fields.map(() => r.raw())]);
    r.uint64(); // serial
    const certType = r.uint32();
    const keyId = r.text();
    const principalsReader = new Reader(r.bytes());
    const principals: string[] = [];
    while (!principalsReader.done) principals.push(principalsReader.text());
    const validAfter = r.uint64();
    const validBefore = r.uint64();
    const criticalOptions = r.bytes();
    r.bytes(); // extensions
    r.bytes(); // reserved
    const signatureKey = r.bytes();
    const signed = blob.subarray(0, r.position);
    const signature = r.bytes();
    if (!r.done) throw new Error('bytes after the signature');
    return { label, type, keyType, blob, publicKey, certType, keyId, principals, validAfter, validBefore, criticalOptions, signatureKey, signature, signed };
  } catch (err) {
    throw new Error(`certificate ${label} cannot be read: ${(err as Error).message}`);
  }
}

/** `~/…` for a path under the home directory, as people wrote it. */
export function displayPath(p: string): string {
  const home = os.homedir();
  return p === home ? '~' : p.startsWith(home + path.sep) ? `~${p.slice(home.length)}` : p;
}

/** Reads a `-cert.pub` file (`TYPE BASE64 [comment]`); throws with the file's name and what is wrong. */
export function readCertificate(file: string): Certificate {
  const label = displayPath(file);
  const text = fs.readFileSync(file, 'utf8').trim();
  const [type, b64] = text.split(/\s+/);
  if (!type?.endsWith(CERT_SUFFIX) || !b64) throw new Error(`certificate ${label} cannot be read: it is not an OpenSSH certificate (TYPE-cert-v01@openssh.com BASE64)`);
  const cert = parseCertificateBlob(Buffer.from(b64, 'base64'), label);
  if (cert.type !== type) throw new Error(`certificate ${label} cannot be read: it says ${type} but holds ${cert.type}`);
  return cert;
}

/** A certificate time as people read it: `2026-12-02 01:35 UTC`. */
export function when(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
}

/**
 * Why the server would refuse this certificate for `user` at `now` (seconds), as sshd checks
 * it; undefined when nothing here says so. An empty principals list is left to the server
 * (an authorized_keys `cert-authority` line may accept it).
 */
export function certificateProblem(cert: Certificate, user: string, now = BigInt(Math.floor(Date.now() / 1000))): string | undefined {
  if (cert.certType !== 1) return `certificate ${cert.label} is a host certificate, not a user certificate`;
  if (now >= cert.validBefore && cert.validBefore !== FOREVER) return `certificate ${cert.label} expired at ${when(cert.validBefore)}`;
  if (now < cert.validAfter) return `certificate ${cert.label} is not valid until ${when(cert.validAfter)}`;
  if (cert.principals.length && !cert.principals.includes(user)) {
    return `certificate ${cert.label} is not for user ${user} (its principals: ${cert.principals.join(', ')})`;
  }
  return undefined;
}
