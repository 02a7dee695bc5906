/**
 * Publickey authentication with an OpenSSH certificate, which ssh2 1.17 cannot do: its
 * `authPK` writes one algorithm name both into the request and into the signature blob,
 * while a certificate login names the certificate algorithm in the request
 * (`ssh-ed25519-cert-v01@openssh.com`, `rsa-sha2-256-cert-v01@openssh.com`) and the plain
 * one in the signature (`ssh-ed25519`, `rsa-sha2-256`). A certified key is the private key
 * with the certificate as its public blob; ssh2 otherwise treats it as that key (its type
 * picks rsa-sha2-256/512 from server-sig-algs, and it signs), and `authPK` below writes the
 * request for it.
 *
 * A security key held by an agent (PROTOCOL.u2f) goes the same way: ssh2 cannot parse its
 * blob, and its agent's signature carries the authenticator's flags and counter after the
 * signature proper, which ssh2's agent client would strip. A security key is the plain key of
 * its point (never used to sign) carrying the blob and algorithm to offer; `authPK` sends the
 * agent's signature blob as it came.
 */
import type { ParsedKey } from 'ssh2';
import { certificateAlgorithm } from '../wire/keyTypes';
import { sshString as str } from '../wire/sshBuffer';
import { notFunctions, type Ssh2Internals } from './internals';

const CERTIFICATE = Symbol('certificate');
const SECURITY_KEY = Symbol('security key');
const USERAUTH_REQUEST = 50;

/** A private key whose public blob is a certificate. */
type CertifiedKey = ParsedKey & { [CERTIFICATE]: Buffer };

interface ProtocolLike {
  _kex: { sessionID: Buffer };
  _packetRW: { write: { allocStart: number; alloc(size: number): Buffer; finalize(packet: Buffer): Buffer } };
  _authsQueue: string[];
  _debug?: (message: string) => void;
}

type Sign = (data: Buffer, done: (signature: Buffer) => void) => void;

/** What is offered for a security key: its algorithm (`sk-ssh-ed25519@openssh.com`, or the certificate's), its blob, and how ssh names it. */
export interface SecurityKeyOffer {
  algorithm: string;
  blob: Buffer;
  description: string;
}

type SecurityKey = ParsedKey & { [SECURITY_KEY]: SecurityKeyOffer };

/** `plain` (the key of the security key's point) offered as the security key `offer` describes; an agent signs for it. */
export function securityKey(plain: ParsedKey, offer: SecurityKeyOffer): ParsedKey {
  const key = Object.create(plain) as SecurityKey;
  key[SECURITY_KEY] = offer;
  (key as { type: string }).type = offer.algorithm;
  key.getPublicSSH = () => offer.blob;
  (key as unknown as { sign: () => Error }).sign = () => new Error(`${offer.description} is a security key: only its agent signs`);
  return key;
}

/** The offer of a security key made by `securityKey()`, if `key` is one. */
export function securityKeyOffer(key: unknown): SecurityKeyOffer | undefined {
  return (key as Partial<SecurityKey> | undefined)?.[SECURITY_KEY];
}

/** The private key `key`, presenting `certificate` (a certificate blob for that key) as its public key. */
export function certifiedKey(key: ParsedKey, certificate: Buffer): ParsedKey {
  const certified = Object.create(key) as CertifiedKey;
  certified[CERTIFICATE] = certificate;
  certified.getPublicSSH = () => certificate;
  return certified;
}

export function certificateLoginShapeProblems(found: Ssh2Internals): string[] {
  return [
    ...notFunctions('Protocol.prototype', found.Protocol?.prototype, ['authPK']),
    ...notFunctions('protocol utils', found.protocolUtils, ['sendPacket', 'convertSignature']),
  ];
}

export function installCertificateLogin(found: Ssh2Internals): void {
  const proto = found.Protocol.prototype as { authPK: (this: ProtocolLike, ...args: unknown[]) => void };
  const { sendPacket, convertSignature } = found.protocolUtils;
  const send = (self: ProtocolLike, payload: Buffer, what: string) => {
    const w = self._packetRW.write;
    const packet = w.alloc(payload.length);
    packet.set(payload, w.allocStart);
    self._authsQueue.push('publickey');
    self._debug?.(`Outbound: Sending USERAUTH_REQUEST (publickey${what})`);
    sendPacket(self, w.finalize(packet));
  };

  const original = proto.authPK;
  proto.authPK = function authPK(this: ProtocolLike, username: unknown, pubKey: unknown, keyAlgo?: unknown, cbSign?: unknown) {
    if (typeof keyAlgo === 'function') [cbSign, keyAlgo] = [keyAlgo, undefined];
    const sk = securityKeyOffer(pubKey);
    if (sk) {
      const request = Buffer.concat([Buffer.from([USERAUTH_REQUEST]), str(username as string), str('ssh-connection'), str('publickey'), Buffer.from([typeof cbSign === 'function' ? 1 : 0]), str(sk.algorithm), str(sk.blob)]);
      if (typeof cbSign !== 'function') return send(this, request, ' -- check');
      // The agent's whole signature blob (algorithm, signature, flags, counter), as sshd verifies it.
      (cbSign as Sign)(Buffer.concat([str(this._kex.sessionID), request]), (signature) => send(this, Buffer.concat([request, str(signature)]), ''));
      return;
    }
    const certificate = (pubKey as Partial<CertifiedKey> | undefined)?.[CERTIFICATE];
    if (!certificate) return original.call(this, username, pubKey, keyAlgo, cbSign);
    const key = pubKey as CertifiedKey;
    // ssh2 picked the signature algorithm for the plain key (rsa-sha2-256 for an RSA key when the server lists it).
    const signatureAlgorithm = typeof keyAlgo === 'string' && keyAlgo ? keyAlgo : key.type;
    const head = (signed: boolean) =>
      Buffer.concat([Buffer.from([USERAUTH_REQUEST]), str(username as string), str('ssh-connection'), str('publickey'), Buffer.from([signed ? 1 : 0]), str(certificateAlgorithm(signatureAlgorithm)), str(certificate)]);
    if (typeof cbSign !== 'function') {
      send(this, head(false), ' -- check');
      return;
    }
    const request = head(true);
    (cbSign as Sign)(Buffer.concat([str(this._kex.sessionID), request]), (signature) => {
      const converted = convertSignature(signature, key.type) as Buffer | false;
      if (converted === false) throw new Error('Error while converting handshake signature');
      send(this, Buffer.concat([request, str(Buffer.concat([str(signatureAlgorithm), str(converted)]))]), '');
    });
  };
}
