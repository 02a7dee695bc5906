import type * as net from 'node:net';
import { Client, type ConnectConfig } from 'ssh2';
import { ssh2Algorithms, describeNoMatch } from './negotiation';
import { createAuthHandler } from '../login/authHandler';
import { socketFailure, TunnelError } from '../base/errors';
import type { HostKeyCheck } from '../hostkeys/hostKeyCheck';
import { pausingPrompts } from './promptClock';
import type { ProxyCommandProcess } from './proxyCommand';
import type { RememberedSecrets } from '../login/rememberedSecrets';
import { dialDirect, targetOf, type Carrier } from './route';
import type { Prompts, ServerConfig } from '../base/types';

/** Seconds for the TCP connection and the SSH handshake when ConnectTimeout is not set. */
export const DEFAULT_CONNECT_TIMEOUT = 20;

/**
 * The SSH handshake with one hop over `via` (or a TCP socket dialled here): host key, then
 * authentication, bounded by ConnectTimeout except while a person is being asked.
 */
export function handshake(
  config: ServerConfig,
  via: Carrier | undefined,
  proxy: ProxyCommandProcess | undefined,
  hostKeys: HostKeyCheck,
  personPrompts: Prompts | undefined,
  secrets?: RememberedSecrets,
): Promise<Client> {
  const { host, port, user } = targetOf(config);
  const timeoutMs = (config.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT) * 1000;
  return new Promise<Client>((resolve, reject) => {
    const client = new Client();
    const attempts: string[] = [];
    let verdict: TunnelError | undefined;
    let accepted: Buffer | undefined;
    let settled = false;
    /** The TCP socket dialled here; until it connects, ssh2 does not own it. */
    let direct: net.Socket | undefined = undefined;
    const fail = (err: TunnelError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.removeAllListeners('ready');
      client.on('error', () => undefined);
      client.end();
      // A connect still pending would otherwise complete later and start a handshake nobody awaits.
      if (direct?.connecting) direct.destroy();
      // A ProxyCommand that exited explains the failure better than the broken pipe does.
      if (proxy && (err.code === 'CONNECT_FAILED' || err.code === 'TIMEOUT')) void proxy.failure().then((why) => reject(why ?? err));
      else reject(err);
    };
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        fail(new TunnelError('TIMEOUT', `Timed out after ${timeoutMs / 1000}s connecting to ${host}:${port} (${config.alias}). Is the server reachable?`, {}, 'timeout'));
        client.destroy(); // as ssh2's own readyTimeout did: a silent server gets no goodbye
      }, timeoutMs);
    };
    arm();
    // The timeout is for the server: it stops while a person is asked, and starts afresh after.
    let asking = 0;
    const prompts = pausingPrompts(personPrompts, {
      pause: () => {
        if (asking++ === 0) clearTimeout(timer);
      },
      resume: () => {
        if (--asking === 0 && !settled) arm();
      },
    });

    const start = (sock: Carrier) => {
      const cfg: ConnectConfig = {
        sock: sock as ConnectConfig['sock'],
        username: user,
        // Our own timer (above) bounds the handshake, paused while a person answers.
        readyTimeout: 0,
        authHandler: createAuthHandler(config, user, prompts, attempts, secrets),
        hostVerifier: ((key: Buffer, verify: (ok: boolean) => void) => {
          // A rekey shows the key again. Accepted already on this connection, it is answered at
          // once: answered later, ssh2 goes on sending channel data while the server has
          // switched keys, and OpenSSH drops the connection (or, worse, data is reordered).
          if (accepted?.equals(key)) return verify(true);
          hostKeys.verify(config, host, port, key, prompts).then(
            () => {
              accepted = Buffer.from(key);
              verify(true);
            },
            (err: TunnelError) => {
              verdict = err;
              verify(false);
            },
          );
        }) as unknown as ConnectConfig['hostVerifier'],
      };
      const algorithms = ssh2Algorithms(config, host, port);
      if (algorithms) cfg.algorithms = algorithms;
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.removeAllListeners('error');
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (err.level === 'agent') return; // an unusable agent is skipped, as ssh does
        if (verdict) return fail(verdict);
        if (err.level === 'client-authentication') {
          const tried = attempts.length ? attempts.join(', ') : 'nothing (no key, agent or password was available)';
          return fail(new TunnelError('AUTH_FAILED', `Authentication as ${user} on ${config.alias} failed. Tried: ${tried}.`));
        }
        const noMatch = describeNoMatch(err.message, config);
        fail(new TunnelError('CONNECT_FAILED', `SSH connection to ${host}:${port} (${config.alias}) failed: ${noMatch ?? err.message}`, {}, noMatch ? 'algorithms' : socketFailure(err)));
      });
      client.once('close', () => fail(verdict ?? new TunnelError('CONNECT_FAILED', `${host}:${port} (${config.alias}) closed the connection during the handshake.`, {}, 'closed')));
      try {
        client.connect(cfg);
      } catch (err) {
        // ssh2 throws at once for a name it cannot use (an algorithm this Node's OpenSSL lacks).
        fail(new TunnelError('CONNECT_FAILED', `Cannot connect to ${config.alias}: ${(err as Error).message}. Check the algorithm options (Ciphers, MACs, KexAlgorithms, HostKeyAlgorithms).`, {}, 'algorithms'));
      }
    };

    if (via) {
      start(via);
      return;
    }
    direct = dialDirect(config, client, start, fail);
  });
}
