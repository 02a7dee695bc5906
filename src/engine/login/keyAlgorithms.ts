/** PubkeyAcceptedAlgorithms: which keys a login may offer, from the files and from the agent. */
import { BaseAgent, createAgent, type IdentityCallback, type ParsedKey, type SignCallback, type SigningRequestOptions } from 'ssh2';
import type { ServerConfig } from '../base/types';

/** Signature algorithms a key (or certificate) of this type can log in with: an RSA key signs with SHA-2 too. */
function algorithmsOfKeyType(type: string): string[] {
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  if (type === 'ssh-rsa-cert-v01@openssh.com') return ['rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com', type];
  return [type];
}

/** Whether PubkeyAcceptedAlgorithms lets a key of `type` be offered (always, when unset). */
export function keyTypeAccepted(type: string, config: ServerConfig): boolean {
  const accepted = config.pubkeyAcceptedAlgorithms;
  return accepted === undefined || algorithmsOfKeyType(type).some((a) => accepted.includes(a));
}

/** The agent to log in through: when PubkeyAcceptedAlgorithms is set, one that lists only the keys it accepts. */
export function acceptedAgent<A extends string | BaseAgent>(agent: A, config: ServerConfig): A | BaseAgent {
  if (config.pubkeyAcceptedAlgorithms === undefined) return agent;
  const inner: BaseAgent = typeof agent === 'string' ? createAgent(agent) : (agent as BaseAgent);
  return new (class extends BaseAgent {
    getIdentities(cb: IdentityCallback): void {
      // ssh2's agents hand out parsed keys; anything else is passed on as it is.
      const accepted = (k: unknown) => typeof (k as ParsedKey).type !== 'string' || keyTypeAccepted((k as ParsedKey).type, config);
      inner.getIdentities((err, keys) => cb(err, keys?.filter(accepted) as typeof keys));
    }
    sign(pubKey: string | Buffer | ParsedKey, data: Buffer, options: SigningRequestOptions | SignCallback, cb?: SignCallback): void {
      if (typeof options === 'function') inner.sign(pubKey, data, options);
      else inner.sign(pubKey, data, options, cb);
    }
  })();
}
