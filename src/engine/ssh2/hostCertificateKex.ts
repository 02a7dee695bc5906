/**
 * Host certificates (PROTOCOL.certkeys), which ssh2 1.17 cannot negotiate. With a certificate
 * algorithm (`ssh-ed25519-cert-v01@openssh.com`, `rsa-sha2-256-cert-v01@openssh.com`, …) the
 * server's K_S is the whole certificate, which goes into the exchange hash as it is, while the
 * signature over that hash is made by the certified key with the plain algorithm (`ssh-ed25519`,
 * `rsa-sha2-256`). ssh2 checks the signature type against the negotiated name and parses K_S as
 * a plain key; here each client key exchange that negotiated a certificate is adjusted so that
 * ssh2 hashes the certificate, then verifies the signature with the key inside it. The
 * certificate itself reaches the hostVerifier, where the engine checks it as ssh does.
 */
import { utils } from 'ssh2';
import { parseCertificateBlob } from '../wire/certificate';
import { CERTIFICATE_ALGORITHMS, isCertificateType, plainAlgorithm } from '../wire/keyTypes';
import { readStrings } from '../wire/sshBuffer';
import { missing, notFunctions, type Ssh2Internals } from './internals';

/** The certificate host key algorithms this adapter lets ssh2 negotiate, in OpenSSH's order. */
export const HOST_CERTIFICATE_ALGORITHMS = CERTIFICATE_ALGORITHMS;

/** The type named inside the certificate blob: an RSA certificate is `ssh-rsa-cert-v01@openssh.com` whatever hash signs. */
function certificateBlobType(certificateAlgorithm: string): string {
  return certificateAlgorithm.startsWith('rsa-sha2-') ? 'ssh-rsa-cert-v01@openssh.com' : certificateAlgorithm;
}

/** ssh's default certificate host key algorithms that ssh2 can verify, then ssh2's own default list. */
export function hostKeyDefaultsWithCertificates(found: Ssh2Internals): string[] {
  const supported = found.constants.SUPPORTED_SERVER_HOST_KEY;
  // ssh-rsa-cert (SHA-1) is not in ssh's default list: offered only when HostKeyAlgorithms adds it.
  const certificates = HOST_CERTIFICATE_ALGORITHMS.filter((a) => a !== 'ssh-rsa-cert-v01@openssh.com' && supported.includes(a));
  return [...certificates, ...found.constants.DEFAULT_SERVER_HOST_KEY];
}

/** What the adapter touches of a key exchange in progress (ssh2's KeyExchange, not exported). */
interface KexLike {
  negotiated: { serverHostKey: string };
  _protocol: { _server?: boolean };
  _hostKey?: Buffer;
  finish(...args: unknown[]): unknown;
  getPublicKey(): Buffer;
}

const KEX = Symbol('kex');

export function hostCertificateShapeProblems(found: Ssh2Internals): string[] {
  const problems = [
    ...missing('protocol constants', found.constants, ['SUPPORTED_SERVER_HOST_KEY', 'DEFAULT_SERVER_HOST_KEY']),
    ...notFunctions('protocol utils', found.protocolUtils, ['sigSSHToASN1']),
  ];
  if (found.constants && !Array.isArray(found.constants.SUPPORTED_SERVER_HOST_KEY)) problems.push('protocol constants.SUPPORTED_SERVER_HOST_KEY is not a list');
  const own = Object.getOwnPropertyDescriptor(found.Protocol?.prototype ?? {}, '_kex');
  if (own && !(own.set as { hostCerts?: boolean } | undefined)?.hostCerts) problems.push('Protocol.prototype._kex is already defined');
  return problems;
}

/** Why a key exchange instance cannot be adjusted (ssh2 moved its fields); empty when it can. */
export function kexShapeProblems(kex: object): string[] {
  return [...missing('key exchange', kex, ['negotiated', '_protocol', '_hostKey']), ...notFunctions('key exchange', kex, ['finish', 'getPublicKey'])];
}

/** Adjusts one client key exchange that negotiated a certificate host key (see the file's comment). */
function adjust(kex: KexLike): void {
  const negotiated = kex.negotiated.serverHostKey;
  const problems = kexShapeProblems(kex);
  if (problems.length) throw new Error(`ssh2's key exchange differs from what SSH Tunnels was written against (src/engine/ssh2/hostCertificateKex.ts): ${problems.join('; ')}`);
  const signature = plainAlgorithm(negotiated);
  // ssh2 checks that the host key blob is of the negotiated type.
  kex.negotiated.serverHostKey = certificateBlobType(negotiated);
  const finish = kex.finish;
  kex.finish = function (this: KexLike, ...args: unknown[]) {
    const certificate = this._hostKey;
    let plain: Buffer | undefined;
    try {
      plain = certificate && parseCertificateBlob(certificate, 'host certificate').publicKey;
    } catch {
      plain = undefined; // ssh2 then refuses the blob it cannot parse
    }
    if (!plain) return finish.apply(this, args);
    const key = plain;
    const getPublicKey = this.getPublicKey;
    this.getPublicKey = function (this: KexLike) {
      // ssh2 asks for this after K_S (the certificate) is in the exchange hash: from here on it
      // checks the signature, which the certified key made with the plain algorithm.
      this._hostKey = key;
      this.negotiated.serverHostKey = signature;
      return getPublicKey.call(this);
    };
    try {
      return finish.apply(this, args);
    } finally {
      delete (this as Partial<KexLike>).getPublicKey;
      this.negotiated.serverHostKey = negotiated;
    }
  };
}

export function installHostCertificates(found: Ssh2Internals): void {
  const supported = found.constants.SUPPORTED_SERVER_HOST_KEY;
  for (const name of HOST_CERTIFICATE_ALGORITHMS) {
    // ed25519 only where ssh2 (this Node's OpenSSL) can verify ed25519 at all.
    if (supported.includes(plainAlgorithm(name)) && !supported.includes(name)) supported.push(name);
  }
  // ssh2 makes a new key exchange object for each kex and stores it here; that is where it can be reached.
  const set = function (this: Record<symbol, unknown>, kex: unknown) {
    this[KEX] = kex;
    const k = kex as Partial<KexLike> | undefined;
    if (k && typeof k === 'object' && !k._protocol?._server && typeof k.negotiated?.serverHostKey === 'string' && isCertificateType(k.negotiated.serverHostKey)) {
      adjust(k as KexLike);
    }
  };
  (set as { hostCerts?: boolean }).hostCerts = true;
  Object.defineProperty(found.Protocol.prototype, '_kex', {
    configurable: true,
    get(this: Record<symbol, unknown>) {
      return this[KEX];
    },
    set,
  });
}

/**
 * Whether `signature` (an SSH signature blob: algorithm name and bytes) over `data` was made by
 * the key `keyBlob`, as ssh2 verifies a host key's signature. For a CA's signature over a certificate.
 */
export function verifySshSignature(found: Ssh2Internals, keyBlob: Buffer, signature: Buffer, data: Buffer): boolean {
  const [name, raw] = readStrings(signature, 2);
  if (raw === undefined) return false;
  const algorithm = name.toString('latin1');
  const key = utils.parseKey(keyBlob) as { verify?(data: Buffer, signature: Buffer, hash?: string): boolean | Error } | Error;
  if (key instanceof Error || typeof key?.verify !== 'function') return false;
  const converted = found.protocolUtils.sigSSHToASN1(raw, algorithm);
  if (!converted) return false;
  const hash = algorithm === 'rsa-sha2-256' ? 'sha256' : algorithm === 'rsa-sha2-512' ? 'sha512' : undefined;
  return key.verify(data, converted, hash) === true;
}
