/**
 * FIDO security keys (OpenSSH's PROTOCOL.u2f): `sk-ssh-ed25519@openssh.com` and
 * `sk-ecdsa-sha2-nistp256@openssh.com`, and their certificates. SSH Tunnels cannot talk to a
 * FIDO device; it logs in with one only through an agent, which asks the device to sign.
 * This file reads their blobs, names them as ssh does ("ED25519-SK SHA256:…") and recognises
 * an `id_*_sk` file, so a person is told to `ssh-add` it.
 */
import { createHash } from 'node:crypto';
import { utils, type ParsedKey } from 'ssh2';
import { securityKey } from '../ssh2';
import { certifiedKeyType } from '../wire/keyTypes';
import { blobType, readStrings as strings, sshString } from '../wire/sshBuffer';

/** Each security key type, the plain key type its public point is read as, and how ssh names it. */
const SK_TYPES: Record<string, { plain: string; name: string; pointFields: number }> = {
  'sk-ssh-ed25519@openssh.com': { plain: 'ssh-ed25519', name: 'ED25519-SK', pointFields: 1 },
  'sk-ecdsa-sha2-nistp256@openssh.com': { plain: 'ecdsa-sha2-nistp256', name: 'ECDSA-SK', pointFields: 2 },
};

/** Whether `type` is a security key, or a certificate of one. */
export function isSecurityKeyType(type: string): boolean {
  return certifiedKeyType(type) in SK_TYPES;
}

/** How ssh names a security key in "Confirm user presence for key ED25519-SK SHA256:…": its type and the fingerprint of its plain key. */
export function describeSecurityKey(plainBlob: Buffer, certificate = false): string {
  const name = SK_TYPES[blobType(plainBlob)]?.name ?? blobType(plainBlob);
  const fingerprint = createHash('sha256').update(plainBlob).digest('base64').replace(/=+$/, '');
  return `${name}${certificate ? '-CERT' : ''} SHA256:${fingerprint}`;
}

/**
 * A key ssh2 can carry through publickey authentication for a security key held by an agent:
 * `plainBlob` is the sk public key (type, point, application), `blob` what is offered (the same,
 * or its certificate). Undefined when the blob is not a security key this side reads.
 */
export function securityKeyFromBlob(plainBlob: Buffer, blob: Buffer = plainBlob, comment = ''): ParsedKey | undefined {
  const type = blobType(plainBlob);
  const sk = SK_TYPES[type];
  if (!sk) return undefined;
  // type, the point's fields (key; or curve and Q), application
  const all = strings(plainBlob, sk.pointFields + 2);
  if (all.length !== sk.pointFields + 2) return undefined;
  // The public point as the plain key type, so ssh2 holds a key object it knows; it never signs with it.
  const plain = utils.parseKey(Buffer.concat([sshString(sk.plain), ...all.slice(1, -1).map((f) => sshString(f))]));
  if (plain instanceof Error) return undefined;
  plain.comment = comment;
  const certificate = blob !== plainBlob;
  return securityKey(plain, { algorithm: blobType(blob), blob, description: describeSecurityKey(plainBlob, certificate) });
}

/**
 * The public key of a security key's OpenSSH private key file (`id_ed25519_sk`), read from its
 * clear header, passphrase or not; undefined for any other key.
 */
export function securityKeyOfFile(raw: Buffer | string): Buffer | undefined {
  const text = raw.toString();
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)?.[1];
  if (!body) return undefined;
  const data = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  const magic = Buffer.from('openssh-key-v1\0');
  if (!data.subarray(0, magic.length).equals(magic)) return undefined;
  // ciphername, kdfname, kdfoptions, then uint32 count and the first public key.
  const head = strings(data.subarray(magic.length), 3);
  if (head.length !== 3) return undefined;
  const at = magic.length + head.reduce((n, s) => n + 4 + s.length, 0) + 4;
  const publicKey = strings(data.subarray(at), 1)[0];
  return publicKey && blobType(publicKey) in SK_TYPES ? publicKey : undefined;
}
