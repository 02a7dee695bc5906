/**
 * Publickey authentication with an OpenSSH certificate, which ssh2 1.17 cannot do: its
 * `authPK` writes one algorithm name both into the request and into the signature blob,
 * while a certificate login names the certificate algorithm in the request
 * (`ssh-ed25519-cert-v01@openssh.com`, `rsa-sha2-256-cert-v01@openssh.com`) and the plain
 * one in the signature (`ssh-ed25519`, `rsa-sha2-256`). A certified key is the private key
 * with the certificate as its public blob; ssh2 otherwise treats it as that key (its type
 * picks rsa-sha2-256/512 from server-sig-algs, and it signs), and `authPK` below writes the
 * request for it.
 */
import type { ParsedKey } from 'ssh2';
import { notFunctions, type Ssh2Internals } from './internals';

const CERTIFICATE = Symbol('certificate');
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

/** The private key `key`, presenting `certificate` (a certificate blob for that key) as its public key. */
export function certifiedKey(key: ParsedKey, certificate: Buffer): ParsedKey {
  const certified = Object.create(key) as CertifiedKey;
  certified[CERTIFICATE] = certificate;
  certified.getPublicSSH = () => certificate;
  return certified;
}

/** The certificate algorithm for a signature algorithm: `rsa-sha2-256` → `rsa-sha2-256-cert-v01@openssh.com`. */
export function certificateAlgorithm(signatureAlgorithm: string): string {
  return `${signatureAlgorithm}-cert-v01@openssh.com`;
}

export function certAuthShapeProblems(found: Ssh2Internals): string[] {
  return [
    ...notFunctions('Protocol.prototype', found.Protocol?.prototype, ['authPK']),
    ...notFunctions('protocol utils', found.protocolUtils, ['sendPacket', 'convertSignature']),
  ];
}

const str = (b: Buffer | string) => {
  const data = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32BE(data.length, 0);
  return Buffer.concat([len, data]);
};

export function installCertAuth(found: Ssh2Internals): void {
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
    const certificate = (pubKey as Partial<CertifiedKey> | undefined)?.[CERTIFICATE];
    if (!certificate) return original.call(this, username, pubKey, keyAlgo, cbSign);
    if (typeof keyAlgo === 'function') [cbSign, keyAlgo] = [keyAlgo, undefined];
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
