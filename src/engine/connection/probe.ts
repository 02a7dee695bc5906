import * as net from 'node:net';

/** How long a server that waits for the client's banner first may stay silent and still count as there. */
const QUIET_SERVER_MS = 500;

/**
 * A cheap check, between redials, that an SSH server answers at host:port: it sends its
 * banner ("SSH-…"), or at least keeps the connection open for a moment. A connection that is
 * accepted and closed at once (sshd past MaxStartups, a port forwarder with nothing behind it)
 * is not an answer. Sends nothing; `timeoutMs` bounds it.
 */
export function probeSsh(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect({ host, port });
    let quiet: NodeJS.Timeout | undefined;
    const done = (answered: boolean) => {
      clearTimeout(quiet);
      probe.destroy();
      resolve(answered);
    };
    probe.setTimeout(timeoutMs, () => done(false));
    probe.once('connect', () => {
      quiet = setTimeout(() => done(true), QUIET_SERVER_MS);
    });
    probe.once('data', (d: Buffer) => done(d.subarray(0, 4).toString('latin1') === 'SSH-'));
    probe.once('error', () => done(false));
    probe.once('close', () => done(false));
  });
}
