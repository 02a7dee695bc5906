/**
 * Whether the server will refuse a user certificate for a reason seen here (expired, not yet
 * valid, another user's), said before it is offered, so the final error names it and why.
 */
import { FOREVER, when, type Certificate } from '../wire/certificate';

/**
 * Why the server would refuse this certificate for `user` at `now` (seconds), as sshd checks
 * it; undefined when nothing here says so. An empty principals list is left to the server
 * (an authorized_keys `cert-authority` line may accept it).
 */
export function certificateProblem(cert: Certificate, user: string, now = BigInt(Math.floor(Date.now() / 1000))): string | undefined {
  if (cert.certType !== 1) return `certificate ${cert.label} is a host certificate, not a user certificate`;
  if (now >= cert.validBefore && cert.validBefore !== FOREVER) return `certificate ${cert.label} expired at ${when(cert.validBefore)}`;
  if (now < cert.validAfter) return `certificate ${cert.label} is not valid until ${when(cert.validAfter)}`;
  if (cert.principals.length && !cert.principals.includes(user)) {
    return `certificate ${cert.label} is not for user ${user} (its principals: ${cert.principals.join(', ')})`;
  }
  return undefined;
}
