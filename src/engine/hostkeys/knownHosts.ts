import { createHash, createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blobType } from '../wire/sshBuffer';

/** How a host key compares with what the known_hosts files say, as OpenSSH decides it. */
export type HostKeyStatus = 'known' | 'unknown' | 'changed' | 'revoked';

export interface KnownHostLine {
  file: string;
  line: number;
  marker?: '@revoked' | '@cert-authority';
  keyType: string;
  key: Buffer;
}

export interface HostKeyCheck {
  status: HostKeyStatus;
  /** The entry that matched (known, revoked) or that was expected instead (changed). */
  entry?: KnownHostLine;
  /** Other key types recorded for this host when the presented type is unknown. */
  otherTypes?: string[];
}

/** How a host certificate's CA compares with the known_hosts files, as OpenSSH's check_key_in_hostkeys decides it. */
export interface HostCertificateCheck {
  /** known: a `@cert-authority` line for this host names the CA; unknown: none does; revoked: see `revokes`. */
  status: 'known' | 'unknown' | 'revoked';
  /** The `@cert-authority` line (known) or the `@revoked` line (revoked). */
  entry?: KnownHostLine;
  /** What the `@revoked` line names: the CA, or the certified key itself. */
  revokes?: 'ca' | 'key';
}

export function defaultKnownHostsFiles(): string[] {
  return [path.join(os.homedir(), '.ssh', 'known_hosts'), path.join(os.homedir(), '.ssh', 'known_hosts2')];
}

/** OpenSSH's GlobalKnownHostsFile default: the system-wide files an administrator maintains. */
export function defaultGlobalKnownHostsFiles(): string[] {
  if (process.platform === 'win32') {
    const dir = path.join(process.env.PROGRAMDATA ?? 'C:\\ProgramData', 'ssh');
    return [path.join(dir, 'ssh_known_hosts'), path.join(dir, 'ssh_known_hosts2')];
  }
  return ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];
}

/** OpenSSH's name for a host in known_hosts: `host` on port 22, `[host]:port` elsewhere. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:…` (unpadded base64), as `ssh-keygen -l` and OpenSSH's prompts print it. */
export function fingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, …). */
export function keyTypeOf(keyBlob: Buffer): string {
  return blobType(keyBlob) || 'unknown';
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [salt, hash] = field.slice(3).split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  let matched = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (globToRegExp(pattern).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

export function parseKnownHosts(text: string, file: string): Array<KnownHostLine & { hosts: string }> {
  const entries: Array<KnownHostLine & { hosts: string }> = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    let marker: KnownHostLine['marker'];
    if (parts[0] === '@revoked' || parts[0] === '@cert-authority') marker = parts.shift() as KnownHostLine['marker'];
    const [hosts, keyType, keyB64] = parts;
    if (!hosts || !keyType || !keyB64) return;
    entries.push({ file, line: index + 1, marker, hosts, keyType, key: Buffer.from(keyB64, 'base64') });
  });
  return entries;
}

function readEntries(files: string[]): Array<KnownHostLine & { hosts: string }> {
  const all: Array<KnownHostLine & { hosts: string }> = [];
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    all.push(...parseKnownHosts(text, file));
  }
  return all;
}

/** Checks a presented host key against known_hosts files the way OpenSSH does. */
export function checkHostKey(files: string[], host: string, port: number, keyBlob: Buffer): HostKeyCheck {
  const name = knownHostName(host, port);
  const keyType = keyTypeOf(keyBlob);
  const entries = readEntries(files).filter((e) => hostFieldMatches(e.hosts, name));
  const revoked = entries.find((e) => e.marker === '@revoked' && e.key.equals(keyBlob));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = entries.filter((e) => e.marker === undefined);
  const exact = plain.find((e) => e.key.equals(keyBlob));
  if (exact) return { status: 'known', entry: exact };
  const sameType = plain.find((e) => e.keyType === keyType);
  if (sameType) return { status: 'changed', entry: sameType };
  const otherTypes = [...new Set(plain.map((e) => e.keyType))];
  return { status: 'unknown', otherTypes: otherTypes.length ? otherTypes : undefined };
}

/** The `@cert-authority` lines that name this host: when there is one, ssh asks for certificate host keys first. */
export function certAuthoritiesFor(files: string[], host: string, port: number): KnownHostLine[] {
  const name = knownHostName(host, port);
  return readEntries(files).filter((e) => e.marker === '@cert-authority' && hostFieldMatches(e.hosts, name));
}

/**
 * Checks a host certificate's CA (`caKey`) and certified key (`certifiedKey`) against the
 * known_hosts files as OpenSSH does: a `@revoked` line for either refuses it, else a
 * `@cert-authority` line for this host with that CA vouches for it.
 */
export function checkHostCertificate(files: string[], host: string, port: number, caKey: Buffer, certifiedKey: Buffer): HostCertificateCheck {
  const name = knownHostName(host, port);
  const entries = readEntries(files).filter((e) => hostFieldMatches(e.hosts, name));
  for (const e of entries) {
    if (e.marker !== '@revoked') continue;
    if (e.key.equals(caKey)) return { status: 'revoked', entry: e, revokes: 'ca' };
    if (e.key.equals(certifiedKey)) return { status: 'revoked', entry: e, revokes: 'key' };
  }
  const ca = entries.find((e) => e.marker === '@cert-authority' && e.key.equals(caKey));
  return ca ? { status: 'known', entry: ca } : { status: 'unknown' };
}

/** A known_hosts host field hashed as ssh writes it with HashKnownHosts: `|1|salt|HMAC-SHA1(salt, name)`. */
export function hashedHostName(name: string, salt: Buffer = randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

/** Appends a line OpenSSH reads back: `[host]:port type base64`, the name hashed when asked. */
export function appendKnownHost(file: string, host: string, port: number, keyBlob: Buffer, options: { hash?: boolean } = {}): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const existing = fs.readFileSync(file, 'utf8');
    if (existing.length > 0 && !existing.endsWith('\n')) prefix = '\n';
  } catch {
    // A new file.
  }
  const name = options.hash ? hashedHostName(knownHostName(host, port)) : knownHostName(host, port);
  const line = `${name} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}\n`;
  fs.appendFileSync(file, prefix + line, { mode: 0o600 });
}
