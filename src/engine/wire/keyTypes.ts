/** The names of OpenSSH's certificate key types (PROTOCOL.certkeys), written once. */

/** What a certificate type adds to its key's type: `ssh-ed25519` → `ssh-ed25519-cert-v01@openssh.com`. */
export const CERT_SUFFIX = '-cert-v01@openssh.com';

/** Whether a key type or algorithm names a certificate. */
export function isCertificateType(name: string): boolean {
  return name.endsWith(CERT_SUFFIX);
}

/** The certificate algorithm for a signature algorithm: `rsa-sha2-256` → `rsa-sha2-256-cert-v01@openssh.com`. */
export function certificateAlgorithm(signatureAlgorithm: string): string {
  return `${signatureAlgorithm}${CERT_SUFFIX}`;
}

/** The algorithm of the signature a certificate's key makes: `rsa-sha2-256-cert-v01@openssh.com` → `rsa-sha2-256`. */
export function plainAlgorithm(name: string): string {
  return isCertificateType(name) ? name.slice(0, -CERT_SUFFIX.length) : name;
}

/**
 * The type of the key a certificate type certifies: `ssh-ed25519-cert-v01@openssh.com` →
 * `ssh-ed25519`, and for security keys `sk-ssh-ed25519-cert-v01@openssh.com` →
 * `sk-ssh-ed25519@openssh.com`.
 */
export function certifiedKeyType(certificateType: string): string {
  return certificateType.startsWith('sk-') ? certificateType.replace(CERT_SUFFIX, '@openssh.com') : plainAlgorithm(certificateType);
}

/**
 * The certificate host key algorithms the engine can negotiate (its ssh2 adapter teaches ssh2
 * them), in OpenSSH's order; also the certificates a login may offer besides security keys'.
 */
export const CERTIFICATE_ALGORITHMS = [
  'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'rsa-sha2-512-cert-v01@openssh.com',
  'rsa-sha2-256-cert-v01@openssh.com',
  'ssh-rsa-cert-v01@openssh.com',
] as const;
