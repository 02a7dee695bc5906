/**
 * A host certificate checked as ssh checks one (sshconnect.c check_host_cert and
 * sshkey_cert_check_authority): the CA's signature, a host (not user) certificate, the
 * validity window, the principals, no critical options, and a CA signature algorithm that
 * CASignatureAlgorithms' default accepts.
 */
import { when, type Certificate } from '../wire/certificate';
import { blobType } from '../wire/sshBuffer';
import { verifySignature } from '../ssh2';

const HOST_CERTIFICATE = 2;
/** OpenSSH's default CASignatureAlgorithms: a CA that signs with ssh-rsa (SHA-1) is not accepted. */
const CA_SIGNATURE_ALGORITHMS = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com', 'rsa-sha2-512', 'rsa-sha2-256']);

/** `ssh-ed25519-cert`: a certificate's type as ssh-keygen -L names it. */
export function shortCertificateType(cert: Certificate): string {
  return cert.type.replace(/-v01@openssh\.com$/, '');
}

/** Whether the CA named in the certificate made its signature: a certificate that fails this cannot be read at all (ssh's kex fails). */
export function signedByItsCa(cert: Certificate): boolean {
  try {
    return verifySignature(cert.signatureKey, cert.signature, cert.signed);
  } catch {
    return false;
  }
}

/** Why ssh would not accept `cert` for the host `name` at `now` (seconds), in words that follow "The host certificate of X"; undefined when it would. */
export function hostCertificateProblem(cert: Certificate, name: string, now = BigInt(Math.floor(Date.now() / 1000))): string | undefined {
  if (cert.certType !== HOST_CERTIFICATE) return 'is a user certificate, not a host certificate';
  const algorithm = blobType(cert.signature);
  if (!CA_SIGNATURE_ALGORITHMS.has(algorithm)) return `is signed with ${algorithm}, which ssh's CASignatureAlgorithms does not accept`;
  if (now < cert.validAfter) return `is not valid until ${when(cert.validAfter)}`;
  if (now >= cert.validBefore) return `expired at ${when(cert.validBefore)}`;
  if (cert.principals.length && !cert.principals.includes(name)) return `is not valid for the name ${name}: its principals are ${cert.principals.join(', ')}`;
  if (cert.criticalOptions.length) return 'carries critical options, which a host certificate may not';
  return undefined;
}
