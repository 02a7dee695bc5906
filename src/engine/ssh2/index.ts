/**
 * The one door to ssh2's internals. The engine needs a little more than ssh2's public API
 * (a faster AES-GCM data path, leaner channels, channels relayed straight to sockets, a keepalive probe, certificate and security-key logins, host
 * certificates); every such reach lives in
 * this folder and is put in place by `install()`, which both composition roots call before
 * they build the engine. `install()` checks the exact ssh2 version and every shape it touches
 * first, and throws an error that names each difference rather than run on a changed ssh2.
 * Why at run time and not a patch applied at install: the extension and the command are
 * esbuild bundles of node_modules, a .vsix runs no install step, and the check fails loudly
 * in whatever loads the engine (tests, bench, bundle) instead of silently when a patch did
 * not apply.
 */
import { certificateLoginShapeProblems, installCertificateLogin } from './certificateLogin';
import { channelProbeProblems, channelShapeProblems, installChannelFixes, NO_STDERR, stderrStreamCount } from './channelFixes';
import { clientShapeProblems } from './clientInternals';
import { gcmShapeProblems, installGcmFastPath } from './gcmFastPath';
import { hostCertificateShapeProblems, hostKeyDefaultsWithCertificates, installHostCertificates, verifySshSignature } from './hostCertificateKex';
import { loadSsh2Internals, SSH2_VERSION, type Ssh2Internals } from './internals';
import { relayShapeProblems } from './relayOpen';

export { certifiedKey, securityKey, securityKeyOffer, type SecurityKeyOffer } from './certificateLogin';
export { clientSocket, sendKeepalive, signalCommand } from './clientInternals';
export { consumesChunks, gcmFastPathCounters } from './gcmFastPath';
export { SocketRelay } from './relay';
export { openRelay, relayCount, relayIncoming } from './relayOpen';
export { HOST_CERTIFICATE_ALGORITHMS, kexShapeProblems } from './hostCertificateKex';
export { SSH2_VERSION, type Ssh2Internals } from './internals';

/** ssh2 is not the release the engine was written against, or its internals moved. */
export class Ssh2AdapterError extends Error {
  constructor(readonly problems: string[], found: string) {
    const what = found === SSH2_VERSION ? `ssh2 ${found} is loaded but its internals differ` : `ssh2 ${found} is loaded`;
    super(
      `SSH Tunnels needs ssh2 ${SSH2_VERSION} exactly (its engine reaches into ssh2's internals, src/engine/ssh2), ` +
        `but ${what}: ${problems.join('; ')}. Install the pinned version (npm ci).`,
    );
    this.name = 'Ssh2AdapterError';
  }
}

/** Every difference between `found` and what the adapter was written against; empty when it can be installed. */
export function ssh2Problems(found: Ssh2Internals): string[] {
  const problems: string[] = [];
  if (found.version !== SSH2_VERSION) problems.push(`version ${found.version} is not ${SSH2_VERSION}`);
  for (const check of [gcmShapeProblems, channelShapeProblems, clientShapeProblems, certificateLoginShapeProblems, hostCertificateShapeProblems, relayShapeProblems]) {
    try {
      problems.push(...check(found));
    } catch (err) {
      problems.push(`checking its internals failed: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** Throws an Ssh2AdapterError naming every difference, if any. */
export function checkSsh2(found: Ssh2Internals): void {
  const problems = ssh2Problems(found);
  if (problems.length) throw new Ssh2AdapterError(problems, found.version);
}

let installed = false;

/** Checks ssh2 and puts the adapter's changes in place, once per process; later calls do nothing. */
export function install(): void {
  if (installed) return;
  const found = loadSsh2Internals();
  checkSsh2(found);
  installGcmFastPath(found);
  installChannelFixes(found);
  installCertificateLogin(found);
  installHostCertificates(found);
  const after = channelProbeProblems(found);
  if (after.length) throw new Ssh2AdapterError(after, found.version);
  installed = true;
}

/** Whether `install()` has run. */
export function isInstalled(): boolean {
  return installed;
}

/** Whether `signature` (an SSH signature blob) over `data` was made by the key `keyBlob`: a CA's over a certificate. */
export function verifySignature(keyBlob: Buffer, signature: Buffer, data: Buffer): boolean {
  return verifySshSignature(loadSsh2Internals(), keyBlob, signature, data);
}

/** The host key algorithms to offer by default when a CA vouches for the host: certificates first, as ssh's default list has them. */
export function hostKeyAlgorithmsWithCertificates(): string[] {
  return hostKeyDefaultsWithCertificates(loadSsh2Internals());
}

/** Whether ssh2 loaded its native crypto add-on (the bundle leaves it out). */
export function nativeCryptoLoaded(): boolean {
  return loadSsh2Internals().crypto.bindingAvailable;
}

export { NO_STDERR, stderrStreamCount };
