// The servers `up` is asked for, taken as ssh takes them: a config alias, or any
// `[user@]host[:port]` (the ssh config still applies to the host part). A name that is neither an
// alias nor a host this machine can look up is a mistake on the command line, with a guess.
import * as dns from 'node:dns';
import * as net from 'node:net';
import { parseSshTarget } from '../engine';
import type { ServerRegistry } from '../config/servers';
import { didYouMean, UsageError } from './args';

/** How long a look-up may take before the name is given the benefit of the doubt (the network may be down). */
const LOOKUP_MS = 5000;

/** Whether `host` resolves (/etc/hosts, DNS); a look-up that cannot tell (no network) counts as yes. */
async function resolvable(host: string): Promise<boolean> {
  if (net.isIP(host)) return true;
  const answer = dns.promises.lookup(host).then(
    () => true,
    (err: NodeJS.ErrnoException) => err.code !== 'ENOTFOUND',
  );
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), LOOKUP_MS)));
  try {
    return await Promise.race([answer, waited]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Makes every named server known to the registry (hosts that are not in the config included),
 * with the identity files given for it (ssh -i).
 * Throws a UsageError for text that is no host, or a name that resolves nowhere.
 */
export async function resolveServers(servers: ServerRegistry, names: readonly string[], identityFiles: (name: string) => string[] = () => []): Promise<void> {
  for (const name of new Set(names)) {
    const identities = identityFiles(name);
    const listed = servers.get(name);
    if (listed && identities.length) servers.addTarget(name, identities);
    // A broken entry of that name says what is wrong with it when the tunnel opens.
    if (listed || servers.problemFor(name)) continue;
    const added = servers.addTarget(name, identities);
    if ('error' in added) throw new UsageError(added.error);
    // A jump host or a ProxyCommand resolves the name on the other side.
    if (added.proxyJump !== undefined || added.proxyCommand !== undefined) continue;
    const hostName = added.hostName ?? name;
    if (await resolvable(hostName)) continue;
    const parsed = parseSshTarget(name);
    const typed = 'error' in parsed ? name : parsed.host;
    const known = servers.list().map((s) => s.alias);
    throw new UsageError(
      `Unknown server ${JSON.stringify(typed)}${didYouMean(typed, known)}: no Host or sshTunnels.servers entry has that name, and no host of that name resolves${hostName !== typed ? ` (HostName ${hostName})` : ''}.` +
        (known.length ? ` Known servers: ${known.join(', ')}.` : ''),
    );
  }
}
