/**
 * The algorithm lists of ssh_config (Ciphers, MACs, KexAlgorithms, HostKeyAlgorithms,
 * PubkeyAcceptedAlgorithms): OpenSSH's defaults and names, the `+`, `-` and `^` forms applied
 * as its kex_assemble_names does, and the subset ssh2 can speak.
 */
import { CERTIFICATE_ALGORITHMS } from '../engine';
import { matchPattern } from './sshConfigPatterns';

export type AlgorithmOption = 'ciphers' | 'macs' | 'kexAlgorithms' | 'hostKeyAlgorithms' | 'pubkeyAcceptedAlgorithms';

interface AlgorithmTable {
  /** The ssh_config keyword, for messages. */
  keyword: string;
  /** What one name is, for messages ("a cipher"). */
  noun: string;
  /**
   * OpenSSH's default (myproposal.h, as Debian's 9.2p1 prints it with `ssh -G`: it also carries
   * the later `sntrup761x25519-sha512` name): what `+`, `-` and `^` apply to.
   */
  defaults: readonly string[];
  /** Every name OpenSSH 9.2 knows, in `ssh -Q` order (wildcards expand in this order). */
  all: readonly string[];
  /** The names ssh2 1.17 can use (its SUPPORTED_* lists in lib/protocol/constants.js; for logins, certificates too). */
  ssh2: ReadonlySet<string>;
}

const CIPHERS_ALL = [
  '3des-cbc',
  'aes128-cbc',
  'aes192-cbc',
  'aes256-cbc',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
];

const MACS_ALL = [
  'hmac-sha1',
  'hmac-sha1-96',
  'hmac-sha2-256',
  'hmac-sha2-512',
  'hmac-md5',
  'hmac-md5-96',
  'umac-64@openssh.com',
  'umac-128@openssh.com',
  'hmac-sha1-etm@openssh.com',
  'hmac-sha1-96-etm@openssh.com',
  'hmac-sha2-256-etm@openssh.com',
  'hmac-sha2-512-etm@openssh.com',
  'hmac-md5-etm@openssh.com',
  'hmac-md5-96-etm@openssh.com',
  'umac-64-etm@openssh.com',
  'umac-128-etm@openssh.com',
];

const KEX_ALL = [
  'diffie-hellman-group1-sha1',
  'diffie-hellman-group14-sha1',
  'diffie-hellman-group14-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group-exchange-sha1',
  'diffie-hellman-group-exchange-sha256',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'sntrup761x25519-sha512',
  'sntrup761x25519-sha512@openssh.com',
];

/** Signature algorithms of keys, as `ssh -Q HostKeyAlgorithms` and `-Q PubkeyAcceptedAlgorithms` list them. */
const KEY_ALGORITHMS_ALL = [
  'ssh-ed25519',
  'ssh-ed25519-cert-v01@openssh.com',
  'sk-ssh-ed25519@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'webauthn-sk-ecdsa-sha2-nistp256@openssh.com',
  'ssh-dss',
  'ssh-dss-cert-v01@openssh.com',
  'ssh-rsa',
  'ssh-rsa-cert-v01@openssh.com',
  'rsa-sha2-256',
  'rsa-sha2-256-cert-v01@openssh.com',
  'rsa-sha2-512',
  'rsa-sha2-512-cert-v01@openssh.com',
];

/** KEX_DEFAULT_PK_ALG: the default of both HostKeyAlgorithms and PubkeyAcceptedAlgorithms. */
const KEY_ALGORITHMS_DEFAULT = [
  'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'rsa-sha2-512-cert-v01@openssh.com',
  'rsa-sha2-256-cert-v01@openssh.com',
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'rsa-sha2-512',
  'rsa-sha2-256',
];

/** Key algorithms ssh2 can verify a host key with or sign with (its own SUPPORTED_SERVER_HOST_KEY). */
const SSH2_KEY_ALGORITHMS = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-dss']);

/**
 * Key algorithms a login may offer, and host key algorithms: ssh2's, and the certificates of
 * those (the engine offers certificates itself, and teaches ssh2 to take host certificates:
 * src/engine/ssh2/hostCertificateKex.ts; their list is the engine's CERTIFICATE_ALGORITHMS).
 */
const PUBKEY_ALGORITHMS = new Set([...SSH2_KEY_ALGORITHMS, ...CERTIFICATE_ALGORITHMS]);

/** What a login may offer: those, and security keys (and their certificates) an agent holds (src/engine/login/securityKeys.ts). */
const LOGIN_ALGORITHMS = new Set([
  ...PUBKEY_ALGORITHMS,
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
]);

export const ALGORITHMS: Record<AlgorithmOption, AlgorithmTable> = {
  ciphers: {
    keyword: 'Ciphers',
    noun: 'a cipher',
    defaults: ['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'],
    all: CIPHERS_ALL,
    ssh2: new Set(CIPHERS_ALL),
  },
  macs: {
    keyword: 'MACs',
    noun: 'a MAC',
    defaults: [
      'umac-64-etm@openssh.com',
      'umac-128-etm@openssh.com',
      'hmac-sha2-256-etm@openssh.com',
      'hmac-sha2-512-etm@openssh.com',
      'hmac-sha1-etm@openssh.com',
      'umac-64@openssh.com',
      'umac-128@openssh.com',
      'hmac-sha2-256',
      'hmac-sha2-512',
      'hmac-sha1',
    ],
    all: MACS_ALL,
    ssh2: new Set(['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha1-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1', 'hmac-md5', 'hmac-sha1-96', 'hmac-md5-96']),
  },
  kexAlgorithms: {
    keyword: 'KexAlgorithms',
    noun: 'a key exchange algorithm',
    defaults: [
      'sntrup761x25519-sha512',
      'sntrup761x25519-sha512@openssh.com',
      'curve25519-sha256',
      'curve25519-sha256@libssh.org',
      'ecdh-sha2-nistp256',
      'ecdh-sha2-nistp384',
      'ecdh-sha2-nistp521',
      'diffie-hellman-group-exchange-sha256',
      'diffie-hellman-group16-sha512',
      'diffie-hellman-group18-sha512',
      'diffie-hellman-group14-sha256',
    ],
    all: KEX_ALL,
    ssh2: new Set(KEX_ALL.filter((k) => !k.startsWith('sntrup761'))),
  },
  hostKeyAlgorithms: { keyword: 'HostKeyAlgorithms', noun: 'a host key algorithm', defaults: KEY_ALGORITHMS_DEFAULT, all: KEY_ALGORITHMS_ALL, ssh2: PUBKEY_ALGORITHMS },
  pubkeyAcceptedAlgorithms: { keyword: 'PubkeyAcceptedAlgorithms', noun: 'a public key algorithm', defaults: KEY_ALGORITHMS_DEFAULT, all: KEY_ALGORITHMS_ALL, ssh2: LOGIN_ALGORITHMS },
};

export interface AssembledAlgorithms {
  /** The list as ssh computes it (what `ssh -G` prints). */
  names: string[];
  /** Of those, what ssh2 can use, in the same order. */
  usable: string[];
  /** Names written in the value that give ssh2 nothing it can use (unknown, or beyond ssh2). */
  dropped: string[];
}

/** kex_assemble_names: `+` appends to the default, `-` removes patterns from it, `^` puts names first, else replaces. */
export function assembleAlgorithms(option: AlgorithmOption, spec: string): AssembledAlgorithms {
  const table = ALGORITHMS[option];
  const split = (text: string) => text.split(',').filter(Boolean);
  const cat = (a: readonly string[], b: string[]) => [...a, ...b.filter((n) => !a.includes(n))];
  const usableOf = (names: string[]) => names.filter((n) => table.ssh2.has(n));
  if (spec.startsWith('-')) {
    const patterns = split(spec.slice(1));
    const names = table.defaults.filter((n) => !patterns.some((p) => matchPattern(n, p)));
    return { names, usable: usableOf(names), dropped: [] };
  }
  let list: string[];
  if (spec.startsWith('+')) list = cat(table.defaults, split(spec.slice(1)));
  else if (spec.startsWith('^')) list = cat(split(spec.slice(1)), [...table.defaults]);
  else list = split(spec);
  const written = new Set(split(spec.replace(/^[+^]/, '')));
  const names: string[] = [];
  const dropped: string[] = [];
  for (const pattern of list) {
    const known = table.all.filter((n) => matchPattern(n, pattern));
    if (written.has(pattern) && !known.some((n) => table.ssh2.has(n))) dropped.push(pattern);
    for (const n of known) if (!names.includes(n)) names.push(n);
  }
  return { names, usable: usableOf(names), dropped };
}

/**
 * An algorithm option's value as the engine takes it: what ssh2 can use, and warnings naming
 * what it cannot. `where` says where the value was written ("file:line", a settings entry).
 */
export function algorithmSetting(option: AlgorithmOption, spec: string, where: string, host: string): { list?: string[]; warnings: string[] } {
  const { keyword, noun } = ALGORITHMS[option];
  const { usable, dropped } = assembleAlgorithms(option, spec);
  const warnings: string[] = [];
  if (dropped.length) warnings.push(`${where}: ${keyword} for ${host}: ${dropped.join(', ')} ${dropped.length > 1 ? 'are' : 'is'} not ${noun} ssh2 supports; left out.`);
  if (usable.length) return { list: usable, warnings };
  warnings.push(`${where}: ${keyword} ${spec} for ${host} leaves no ${noun.replace(/^an? /, '')} ssh2 can use; ssh2's defaults are used.`);
  return { warnings };
}
