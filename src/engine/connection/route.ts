import * as net from 'node:net';
import * as os from 'node:os';
import type { Duplex } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { coalesceWrites, connectReusingReadBuffer } from '../io/coalesce';
import { parseSshTarget } from '../base/address';
import { TunnelError } from '../base/errors';
import { consumesChunks } from '../ssh2';
import { expandProxyCommand, ProxyCommandProcess } from './proxyCommand';
import type { ServerConfig } from '../base/types';

/** What an SSH handshake runs over: a TCP socket, a channel through a jump host, or a ProxyCommand's stdio. */
export type Carrier = net.Socket | ClientChannel | Duplex;

/** Where a server is dialled and as whom, with ssh's defaults filled in. */
export function targetOf(config: ServerConfig): { host: string; port: number; user: string } {
  return {
    host: config.hostName ?? config.alias,
    port: config.port ?? 22,
    user: config.user ?? os.userInfo().username,
  };
}

/** The ProxyCommand to run for a server, or undefined (unset, empty or `none`). */
export function proxyCommandOf(config: ServerConfig): string | undefined {
  const command = config.proxyCommand?.trim();
  return command && command.toLowerCase() !== 'none' ? command : undefined;
}

/**
 * The hops to dial in order, ending with `config`; a loop in ProxyJump is an error.
 * A server with both ProxyJump and ProxyCommand goes through the jump hosts: the config
 * layer keeps only the first one set, as ssh does, so both reach here only from settings.
 */
export function jumpChain(config: ServerConfig, resolveServer: (name: string) => ServerConfig | undefined): ServerConfig[] {
  const chain: ServerConfig[] = [config];
  const seen = new Set<string>([config.alias]);
  let current = config;
  while (current.proxyJump && current.proxyJump.toLowerCase() !== 'none') {
    // ProxyJump lists hops first to last; the last is dialled directly before `current`.
    const hops = current.proxyJump.split(',').map((s) => s.trim()).filter(Boolean);
    const resolved = hops.map((spec) => {
      const parsed = parseSshTarget(spec);
      if ('error' in parsed) throw new TunnelError('CONNECT_FAILED', `ProxyJump of ${current.alias}: ${parsed.error}`);
      const known = resolveServer(parsed.host);
      return known
        ? { ...known, user: parsed.user ?? known.user, port: parsed.port ?? known.port }
        : { alias: parsed.host, hostName: parsed.host, user: parsed.user, port: parsed.port };
    });
    for (const hop of resolved) {
      if (seen.has(hop.alias)) {
        throw new TunnelError('CONNECT_FAILED', `ProxyJump loop: ${[...seen, hop.alias].join(' → ')}. Fix ProxyJump for ${config.alias}.`);
      }
      seen.add(hop.alias);
    }
    chain.unshift(...resolved);
    current = resolved[0];
  }
  return chain;
}

/** A finished route: the connection to the server and what carries it. */
export interface Route {
  client: Client;
  /** Jump hosts' connections, first hop first; ended when the route is. */
  jumpClients: Client[];
  /** The ProxyCommand carrying the route's first hop. */
  proxy: ProxyCommandProcess | undefined;
}

/** Runs the SSH handshake with one hop over `via` (undefined: dial it directly). */
export type Handshake = (config: ServerConfig, via: Carrier | undefined, proxy?: ProxyCommandProcess) => Promise<Client>;

/**
 * Dials `hops` in order: the first directly or through its ProxyCommand, each later one
 * through a direct-tcpip channel of the hop before it. On failure everything opened is closed.
 */
export async function dialRoute(hops: ServerConfig[], handshake: Handshake, log: (message: string) => void): Promise<Route> {
  let sock: Carrier | undefined;
  const jumpClients: Client[] = [];
  let proxy: ProxyCommandProcess | undefined;
  try {
    // The first hop dialled (this server, or the first jump host) may be reached through its ProxyCommand.
    const command = proxyCommandOf(hops[0]);
    if (command !== undefined) {
      const { host, port, user } = targetOf(hops[0]);
      const expanded = expandProxyCommand(command, { host, port, user, alias: hops[0].alias, hostKeyAlias: hops[0].hostKeyAlias, proxyJump: hops[0].proxyJump });
      log(`${hops[0].alias}: running ProxyCommand ${expanded}`);
      proxy = new ProxyCommandProcess(expanded, hops[0].alias, log);
      sock = proxy.stream;
    }
    for (let i = 0; i < hops.length; i++) {
      const hop = hops[i];
      const client = await handshake(hop, sock, i === 0 ? proxy : undefined);
      if (i === hops.length - 1) return { client, jumpClients, proxy };
      jumpClients.push(client);
      // After the handshake nothing else listens: an error here must not be thrown (its close ends the hops after it).
      client.on('error', (err) => log(`${hop.alias} (jump host): ${err.message}`));
      const next = targetOf(hops[i + 1]);
      sock = await new Promise<ClientChannel>((resolve, reject) =>
        client.forwardOut('127.0.0.1', 0, next.host, next.port, (err, stream) =>
          err ? reject(new TunnelError('CONNECT_FAILED', `Jump host ${hop.alias} could not reach ${next.host}:${next.port}: ${err.message}`, {}, 'jump')) : resolve(stream),
        ),
      );
    }
    throw new Error('unreachable');
  } catch (err) {
    for (const c of jumpClients) c.end();
    proxy?.kill();
    throw err;
  }
}

/**
 * Opens the TCP socket to a directly dialled hop, tuned for `client` (no Nagle, coalesced
 * writes, reads handed over without copies); `onConnect` gets it once it is up.
 */
export function dialDirect(
  config: ServerConfig,
  client: Client,
  onConnect: (sock: net.Socket) => void,
  onFail: (err: TunnelError) => void,
): net.Socket {
  const { host, port } = targetOf(config);
  const sock = connectReusingReadBuffer(host, port, () => consumesChunks(client));
  sock.setNoDelay(true);
  coalesceWrites(sock);
  sock.once('connect', () => onConnect(sock));
  sock.once('error', (err: NodeJS.ErrnoException) => {
    const why = err.code === 'ECONNREFUSED' ? 'connection refused (is sshd running on that port?)'
      : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? 'host name not found'
        : err.message;
    onFail(new TunnelError('CONNECT_FAILED', `Cannot reach ${config.alias} at ${host}:${port}: ${why}.`, { errno: err.code }, 'unreachable'));
  });
  return sock;
}
