/**
 * The certificates among the login steps: which ones ssh would offer for a server, and the
 * step that offers one, signed with the identity file that holds its key.
 */
import * as fs from 'node:fs';
import type { ParsedKey } from 'ssh2';
import type { KeyCandidate, NextAuth } from './identities';
import { readCertificate } from '../wire/certificate';
import { certificateProblem } from './userCertificate';
import { certifiedKey } from '../ssh2';

/** Each identity file's `KEY-cert.pub` that exists: what ssh offers when no CertificateFile is set (ssh.c, load_public_identity_files). */
export function certificatesBeside(identities: string[]): Map<string, string> {
  const beside = new Map<string, string>();
  for (const file of identities) if (fs.existsSync(`${file}-cert.pub`)) beside.set(file, `${file}-cert.pub`);
  return beside;
}

/** Whether `file.pub` exists and holds another public key than `publicKey`: no need to load (or unlock) the private key to know. */
function otherPublicKey(file: string, publicKey: Buffer): boolean {
  let text: string;
  try {
    text = fs.readFileSync(`${file}.pub`, 'utf8');
  } catch {
    return false;
  }
  const blob = text.trim().split(/\s+/)[1];
  return blob !== undefined && !Buffer.from(blob, 'base64').equals(publicKey);
}

/**
 * A step that offers the certificate in `file`, signed with whichever of `owners` holds its
 * key (`beside`: the one identity file it sits next to). A certificate the server would refuse for a reason seen here (expired, not yet valid,
 * another user's) is not offered; `attempts` says why.
 */
export function certificateStep(
  file: string,
  owners: KeyCandidate[],
  loadKey: (candidate: KeyCandidate) => Promise<ParsedKey | undefined>,
  username: string,
  attempts: string[],
  wanted: () => boolean,
  beside = false,
): () => Promise<NextAuth | undefined> {
  return async () => {
    if (!wanted()) return undefined;
    let cert;
    try {
      cert = readCertificate(file);
    } catch (err) {
      attempts.push((err as NodeJS.ErrnoException).code === 'ENOENT' ? `certificate ${file} (no such file)` : (err as Error).message);
      return undefined;
    }
    const problem = certificateProblem(cert, username);
    if (problem) {
      attempts.push(problem);
      return undefined;
    }
    const unusable: string[] = [];
    for (const owner of owners) {
      if (owner.file && otherPublicKey(owner.file, cert.publicKey)) continue;
      const key = await loadKey(owner);
      if (!key) unusable.push(owner.label);
      if (!key?.getPublicSSH().equals(cert.publicKey)) continue;
      attempts.push(`certificate ${cert.label}`);
      return { type: 'publickey', username, key: certifiedKey(key, cert.blob) } as NextAuth;
    }
    const among = beside ? `it is not for key ${owners[0].label}` : `its key is in none of the identity files (${owners.map((o) => o.label).join(', ') || 'none given'})`;
    const why = unusable.length ? `its key may be ${unusable.join(' or ')}, which could not be used` : among;
    attempts.push(`certificate ${cert.label} (${why})`);
    return undefined;
  };
}
