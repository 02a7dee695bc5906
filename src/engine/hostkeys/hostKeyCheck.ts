import { appendKnownHost, checkHostCertificate, checkHostKey, defaultGlobalKnownHostsFiles, defaultKnownHostsFiles, fingerprint, keyTypeOf, knownHostName } from './knownHosts';
import { displayPath, expandUserPath } from '../base/paths';
import { parseCertificateBlob, type Certificate } from '../wire/certificate';
import { isCertificateType } from '../wire/keyTypes';
import { TunnelError } from '../base/errors';
import { hostCertificateProblem, shortCertificateType, signedByItsCa } from './hostCertificate';
import type { Prompts, ServerConfig } from '../base/types';

/** The known_hosts files ssh reads for this server: the user's (the first is written), then the system's. */
export function knownHostsFiles(config: ServerConfig): { user: string[]; all: string[] } {
  const user = ([] as string[]).concat(config.userKnownHostsFile ?? defaultKnownHostsFiles()).map((p) => expandUserPath(p));
  return { user, all: [...user, ...([] as string[]).concat(config.globalKnownHostsFile ?? defaultGlobalKnownHostsFiles())] };
}

/** The name and port host keys are looked up under: HostKeyAlias alone, with no [ ]:port, as ssh does. */
export function knownHostsTarget(config: ServerConfig, hostAddress: string, portNumber: number): [string, number] {
  return config.hostKeyAlias ? [config.hostKeyAlias, 22] : [hostAddress, portNumber];
}

/**
 * Decides whether to trust a server's host key, as ssh does: known_hosts files (the user's and
 * the system's), @revoked lines, host certificates vouched for by @cert-authority lines,
 * StrictHostKeyChecking, and else a question to a person.
 */
export class HostKeyCheck {
  /** Host keys trusted once by a person during this check's life (one session's): a redial does not ask again. */
  private readonly trustedOnce = new Set<string>();

  constructor(private readonly log: (message: string) => void) {}

  async verify(config: ServerConfig, hostAddress: string, portNumber: number, presented: Buffer, prompts: Prompts | undefined): Promise<void> {
    const [host, port] = knownHostsTarget(config, hostAddress, portNumber);
    const write = { hash: config.hashKnownHosts === true };
    const { user: userFiles, all: files } = knownHostsFiles(config);
    const who = `${config.alias} (${hostAddress}:${portNumber}${config.hostKeyAlias ? `, known as ${config.hostKeyAlias}` : ''})`;
    let key = presented;
    // Why a host certificate did not vouch for the host, told with the plain-key verdict that follows.
    let certNote = '';
    if (isCertificateType(keyTypeOf(presented))) {
      const cert = this.readHostCertificate(presented, config);
      const outcome = this.checkCertificate(cert, config, files, host, port, hostAddress);
      if (outcome === undefined) return;
      // As ssh: a certificate that no trusted CA vouches for (or that is not valid) leaves its plain key to be checked.
      certNote = `${outcome} `;
      this.log(`${config.alias}: ${outcome} Checking its plain key instead, as ssh does.`);
      key = cert.publicKey;
    }
    const keyType = keyTypeOf(key);
    const print = fingerprint(key);
    const check = checkHostKey(files, host, port, key);
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
    const strict = config.strictHostKeyChecking;
    const remember = userFiles[0];
    if (strict === 'no' || strict === 'accept-new') {
      appendKnownHost(remember, host, port, key, write);
      this.log(`${config.alias}: added ${keyType} ${print} to ${remember} (StrictHostKeyChecking ${strict})`);
      return;
    }
    if (strict === 'yes') {
      throw new TunnelError('HOST_KEY_UNKNOWN', `${certNote}The host key of ${who} is not in ${files.join(' or ')} and StrictHostKeyChecking is yes. Its ${keyType} fingerprint is ${print}.`, { fingerprint: print });
    }
    if (!prompts?.hostKey) {
      throw new TunnelError('HOST_KEY_UNKNOWN', `${certNote}The authenticity of ${who} can't be established (${keyType} ${print}) and nothing can ask whether to trust it. Add it to ${remember} or set StrictHostKeyChecking accept-new.`, { fingerprint: print });
    }
    const answer = await prompts.hostKey({ server: config.alias, host: hostAddress, port: portNumber, keyType, fingerprint: print });
    if (answer === 'trust-remember') {
      appendKnownHost(remember, host, port, key, write);
      return;
    }
    if (answer === 'trust-once') {
      this.trustedOnce.add(id);
      return;
    }
    throw new TunnelError('HOST_KEY_UNKNOWN', `${certNote}Host key of ${who} (${keyType} ${print}) was not trusted. Connection cancelled.`);
  }

  /** The certificate the server presented; a certificate ssh could not read (or whose CA did not sign it) is refused outright, as ssh's key exchange fails. */
  private readHostCertificate(blob: Buffer, config: ServerConfig): Certificate {
    let cert: Certificate;
    try {
      cert = parseCertificateBlob(blob, `of ${config.alias}`);
    } catch (err) {
      throw new TunnelError('HOST_KEY_UNKNOWN', `The host ${(err as Error).message}. Refusing to connect.`);
    }
    if (!signedByItsCa(cert)) {
      throw new TunnelError('HOST_KEY_UNKNOWN', `The host certificate of ${config.alias} (${shortCertificateType(cert)}) does not carry a valid signature of the CA it names. Refusing to connect.`);
    }
    return cert;
  }

  /**
   * Checks a host certificate as ssh's check_host_key does: undefined when it vouches for the host, or why it does not
   * for the host (then its plain key is checked). A revoked CA or key throws: ssh does not fall back then.
   */
  private checkCertificate(cert: Certificate, config: ServerConfig, files: string[], host: string, port: number, hostAddress: string): string | undefined {
    const what = `The host certificate of ${config.alias} (${shortCertificateType(cert)})`;
    const check = checkHostCertificate(files, host, port, cert.signatureKey, cert.publicKey);
    if (check.status === 'revoked') {
      const where = `${displayPath(check.entry!.file)}:${check.entry!.line}`;
      const why = check.revokes === 'ca' ? `is signed by a CA that is revoked in ${where}` : `certifies a key that is revoked in ${where}`;
      throw new TunnelError('HOST_KEY_REVOKED', `${what} ${why}. Refusing to connect.`, { file: check.entry!.file, line: check.entry!.line });
    }
    if (check.status === 'unknown') {
      return `${what} is signed by a CA (${keyTypeOf(cert.signatureKey)} ${fingerprint(cert.signatureKey)}) that no @cert-authority line for ${knownHostName(host, port)} names.`;
    }
    // ssh checks the principals against HostKeyAlias when set, else the host name it connects to.
    const problem = hostCertificateProblem(cert, config.hostKeyAlias ?? hostAddress);
    if (problem) return `${what} ${problem}.`;
    this.log(`${config.alias}: host certificate "${cert.keyId}" (${shortCertificateType(cert)}) signed by the CA in ${check.entry!.file}:${check.entry!.line}`);
    return undefined;
  }
}

/** The command that removes a host's keys from one known_hosts file, quoted as ssh's own warning quotes it. */
function removeCommand(file: string, host: string, port: number): string {
  return `ssh-keygen -f "${file}" -R "${knownHostName(host, port)}"`;
}
