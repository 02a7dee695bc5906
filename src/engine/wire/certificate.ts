/**
 * OpenSSH certificates (PROTOCOL.certkeys), user and host: the blob's fields, read from the
 * blob or from a `-cert.pub` file.
 */
import * as fs from 'node:fs';
import { displayPath } from '../base/paths';
import { certifiedKeyType, isCertificateType } from './keyTypes';
import { SshReader, sshString } from './sshBuffer';

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

/** validBefore of a certificate that never expires. */
export const FOREVER = 0xffffffffffffffffn;

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

/** Reads a certificate blob; throws with what is wrong with it. */
export function parseCertificateBlob(blob: Buffer, label: string): Certificate {
  const r = new SshReader(blob);
  try {
    const type = r.text();
    if (!isCertificateType(type)) throw new Error(`${type} is not a certificate type`);
    const keyType = certifiedKeyType(type);
    const fields = KEY_FIELDS[keyType];
    if (!fields) throw new Error(`unknown certificate type ${type}`);
    r.bytes(); // nonce
    const publicKey = Buffer.concat([sshString(keyType), ...fields.map(() => r.raw())]);
    r.uint64(); // serial
    const certType = r.uint32();
    const keyId = r.text();
    const principalsReader = new SshReader(r.bytes());
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

/** Reads a `-cert.pub` file (`TYPE BASE64 [comment]`); throws with the file's name and what is wrong. */
export function readCertificate(file: string): Certificate {
  const label = displayPath(file);
  const text = fs.readFileSync(file, 'utf8').trim();
  const [type, b64] = text.split(/\s+/);
  if (!type || !isCertificateType(type) || !b64) throw new Error(`certificate ${label} cannot be read: it is not an OpenSSH certificate (TYPE-cert-v01@openssh.com BASE64)`);
  const cert = parseCertificateBlob(Buffer.from(b64, 'base64'), label);
  if (cert.type !== type) throw new Error(`certificate ${label} cannot be read: it says ${type} but holds ${cert.type}`);
  return cert;
}

/** A certificate time as people read it: `2026-12-02 01:35 UTC`. */
export function when(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
}
