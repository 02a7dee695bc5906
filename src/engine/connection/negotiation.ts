import { BaseAgent, createAgent, type ConnectConfig, type IdentityCallback, type ParsedKey, type SignCallback, type SigningRequestOptions } from 'ssh2';
import { certAuthoritiesFor } from '../hostkeys/knownHosts';
import { knownHostsFiles, knownHostsTarget } from '../hostkeys/hostKeyCheck';
import { hostKeyAlgorithmsWithCertificates, isCertificateAlgorithm } from '../ssh2';
import type { ServerConfig } from '../base/types';

/** ssh2's `algorithms` option from the server's lists; unset lists keep ssh2's defaults. */
export function ssh2Algorithms(config: ServerConfig, host: string, port: number): ConnectConfig['algorithms'] | undefined {
  const algorithms: Record<string, string[]> = {};
  if (config.ciphers?.length) algorithms.cipher = config.ciphers;
  if (config.macs?.length) algorithms.hmac = config.macs;
  if (config.kexAlgorithms?.length) algorithms.kex = config.kexAlgorithms;
  const hostKey = hostKeyAlgorithms(config, host, port);
  if (hostKey?.length) algorithms.serverHostKey = hostKey;
  return Object.keys(algorithms).length ? (algorithms as ConnectConfig['algorithms']) : undefined;
}

/**
 * The host key algorithms to offer, as ssh's order_hostkeyalgs does for certificates: when a
 * @cert-authority line names the host (and HostKeyAlgorithms is unset or written with + or -),
 * the certificate algorithms come first, so the server shows its certificate. Undefined keeps
 * ssh2's defaults.
 */
export function hostKeyAlgorithms(config: ServerConfig, host: string, port: number): string[] | undefined {
  const configured = config.hostKeyAlgorithms?.length ? config.hostKeyAlgorithms : undefined;
  if (configured && config.hostKeyAlgorithmsVerbatim) return configured;
  const [name, namePort] = knownHostsTarget(config, host, port);
  if (!certAuthoritiesFor(knownHostsFiles(config).all, name, namePort).length) return configured;
  const base = configured ?? hostKeyAlgorithmsWithCertificates();
  return [...base.filter(isCertificateAlgorithm), ...base.filter((a) => !isCertificateAlgorithm(a))];
}

/** ssh2's "Handshake failed: no matching …" messages: the option that decides, and what ssh calls it. */
const NO_MATCH: Array<{ test: RegExp; keyword: string; field: keyof ServerConfig; what: string }> = [
  { test: /no matching key exchange/, keyword: 'KexAlgorithms', field: 'kexAlgorithms', what: 'key exchange method' },
  { test: /no matching host key/, keyword: 'HostKeyAlgorithms', field: 'hostKeyAlgorithms', what: 'host key type' },
  { test: /no matching .*cipher/, keyword: 'Ciphers', field: 'ciphers', what: 'cipher' },
  { test: /no matching .*MAC/, keyword: 'MACs', field: 'macs', what: 'MAC' },
];

/**
 * A failed negotiation in words a person can act on: which list found nothing in common, and
 * what this side offered. Undefined for other errors.
 */
export function describeNoMatch(message: string, config: ServerConfig): string | undefined {
  const hit = NO_MATCH.find((m) => m.test.test(message));
  if (!hit) return undefined;
  const offered = config[hit.field] as string[] | undefined;
  const ours = offered?.length ? `this side offers only ${offered.join(', ')} (${hit.keyword})` : `ssh2's default ${hit.keyword} found none it offers`;
  return (
    `${config.host} and this side have no ${hit.what} in common (ssh: "no matching ${hit.what} found"): ${ours}. ` +
    `Change ${hit.keyword} for ${config.host} (e.g. ${hit.keyword} +NAME for a name the server offers), or the server's settings.`
  );
}

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
