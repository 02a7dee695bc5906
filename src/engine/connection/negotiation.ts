import type { ConnectConfig } from 'ssh2';
import { certAuthoritiesFor } from '../hostkeys/knownHosts';
import { knownHostsFiles, knownHostsTarget } from '../hostkeys/hostKeyCheck';
import { hostKeyAlgorithmsWithCertificates } from '../ssh2';
import { isCertificateType } from '../wire/keyTypes';
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
  return [...base.filter(isCertificateType), ...base.filter((a) => !isCertificateType(a))];
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
    `${config.alias} and this side have no ${hit.what} in common (ssh: "no matching ${hit.what} found"): ${ours}. ` +
    `Change ${hit.keyword} for ${config.alias} (e.g. ${hit.keyword} +NAME for a name the server offers), or the server's settings.`
  );
}
