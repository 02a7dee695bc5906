import { appendKnownHost, checkHostKey, defaultGlobalKnownHostsFiles, defaultKnownHostsFiles, fingerprint, keyTypeOf, knownHostName } from '../config/knownHosts';
import { expandHome } from './auth';
import { TunnelError } from './errors';
import type { Prompts, ServerConfig } from './types';

/**
 * Decides whether to trust a server's host key, as ssh does: known_hosts files (the user's and
 * the system's), @revoked lines, StrictHostKeyChecking, and else a question to a person.
 */
export class HostKeyCheck {
  /** Host keys trusted once by a person during this check's life (one session's): a redial does not ask again. */
  private readonly trustedOnce = new Set<string>();

  constructor(private readonly log: (message: string) => void) {}

  async verify(config: ServerConfig, hostAddress: string, portNumber: number, key: Buffer, prompts: Prompts | undefined): Promise<void> {
    // HostKeyAlias: keys are looked up and written under the alias alone, with no [ ]:port, as ssh does.
    const [host, port] = config.hostKeyAlias ? [config.hostKeyAlias, 22] : [hostAddress, portNumber];
    const write = { hash: config.hashKnownHosts === true };
    // As ssh: the user's files and the system-wide ones vouch alike; only the user's are written.
    const userFiles = ([] as string[]).concat(config.userKnownHostsFile ?? defaultKnownHostsFiles()).map(expandHome);
    const files = [...userFiles, ...([] as string[]).concat(config.globalKnownHostsFile ?? defaultGlobalKnownHostsFiles())];
    const keyType = keyTypeOf(key);
    const print = fingerprint(key);
    const check = checkHostKey(files, host, port, key);
    const who = `${config.host} (${hostAddress}:${portNumber}${config.hostKeyAlias ? `, known as ${config.hostKeyAlias}` : ''})`;
    if (check.status === 'known') return;
    if (check.status === 'revoked') {
      throw new TunnelError('HOST_KEY_REVOKED', `The ${keyType} host key of ${who} is marked @revoked in ${check.entry!.file}:${check.entry!.line}. Refusing to connect.`);
    }
    if (check.status === 'changed') {
      throw new TunnelError(
        'HOST_KEY_CHANGED',
        `WARNING: the host key of ${who} has changed! Someone could be eavesdropping on you (man-in-the-middle), or the host key was just replaced. ` +
          `The server sent ${keyType} ${print}; the expected key is in ${check.entry!.file}:${check.entry!.line}. ` +
          `Connection refused. If the change is legitimate, remove the old key with ${removeCommand(check.entry!.file, host, port)} and connect again.`,
        { fingerprint: print, file: check.entry!.file, line: check.entry!.line },
      );
    }
    const id = `${host}:${port}:${print}`;
    if (this.trustedOnce.has(id)) return;
    const ca = check.certAuthority;
    const caNote = ca
      ? ` (${ca.file}:${ca.line} has a @cert-authority line for this host, but host certificates are not supported: the host's own key must be trusted.)`
      : '';
    if (caNote) this.log(`${config.host}:${caNote}`);
    const strict = config.strictHostKeyChecking;
    const remember = userFiles[0];
    if (strict === 'no' || strict === 'accept-new') {
      appendKnownHost(remember, host, port, key, write);
      this.log(`${config.host}: added ${keyType} ${print} to ${remember} (StrictHostKeyChecking ${strict})`);
      return;
    }
    if (strict === 'yes') {
      throw new TunnelError('HOST_KEY_UNKNOWN', `The host key of ${who} is not in ${files.join(' or ')} and StrictHostKeyChecking is yes. Its ${keyType} fingerprint is ${print}.${caNote}`, { fingerprint: print });
    }
    if (!prompts?.hostKey) {
      throw new TunnelError('HOST_KEY_UNKNOWN', `The authenticity of ${who} can't be established (${keyType} ${print}) and nothing can ask whether to trust it. Add it to ${remember} or set StrictHostKeyChecking accept-new.${caNote}`, { fingerprint: print });
    }
    const answer = await prompts.hostKey({ server: config.host, host: hostAddress, port: portNumber, keyType, fingerprint: print });
    if (answer === 'trust-remember') {
      appendKnownHost(remember, host, port, key, write);
      return;
    }
    if (answer === 'trust-once') {
      this.trustedOnce.add(id);
      return;
    }
    throw new TunnelError('HOST_KEY_UNKNOWN', `Host key of ${who} (${keyType} ${print}) was not trusted. Connection cancelled.${caNote}`);
  }
}

/** The command that removes a host's keys from one known_hosts file, quoted as ssh's own warning quotes it. */
function removeCommand(file: string, host: string, port: number): string {
  return `ssh-keygen -f "${file}" -R "${knownHostName(host, port)}"`;
}
