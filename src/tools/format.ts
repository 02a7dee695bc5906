import * as os from 'node:os';
import type { ServerConfig, ServerStatus, TunnelInfo, TunnelOrigin } from '../engine';

/** `host:port`, with brackets around an IPv6 address. */
export function address(host: string | undefined, port: number | undefined): string {
  const h = host ?? '?';
  return `${h.includes(':') ? `[${h}]` : h}:${port ?? '?'}`;
}

/** `user@host:port` as ssh would connect. */
export function serverTarget(config: ServerConfig): string {
  return `${config.user ?? os.userInfo().username}@${address(config.hostName ?? config.host, config.port ?? 22)}`;
}

const ORIGIN_WORDS: Record<TunnelOrigin, string> = {
  settings: 'settings',
  sshConfig: '~/.ssh/config',
  person: 'the user',
  agent: 'an agent',
};

export function originWords(origin: TunnelOrigin): string {
  return ORIGIN_WORDS[origin] ?? origin;
}

/** The address a client connects to for a listening address (a wildcard listens on loopback too). */
function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '*') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** How to use a tunnel, in one sentence. */
export function usage(t: TunnelInfo): string {
  if (t.type === 'local') return `Connect to ${address(connectHost(t.localHost), t.localPort)} to reach ${address(t.remoteHost, t.remotePort)} as ${t.server} sees it.`;
  if (t.type === 'dynamic') {
    const proxy = `socks5h://${address(connectHost(t.localHost), t.localPort)}`;
    return `Use the SOCKS5 proxy ${proxy} (e.g. curl --proxy ${proxy} http://internal-host/); names resolve on ${t.server}.`;
  }
  return `On ${t.server}, connect to ${address(t.remoteHost, t.remotePort)} to reach ${address(t.localHost, t.localPort)} on this machine.`;
}

/** The direction and addresses in plain words, as a confirmation says them. */
export function describeForward(type: string, server: string, localHost: string, localPort: number, remoteHost?: string, remotePort?: number): string {
  const local = localPort === 0 ? `${localHost}, on a free port` : address(localHost, localPort);
  if (type === 'local') return `listen on ${local} on this machine and forward each connection through ${server} to ${address(remoteHost, remotePort)} (as ${server} sees it)`;
  if (type === 'dynamic') return `open a SOCKS5 proxy on ${local} on this machine; programs that use it reach any address ${server} can reach`;
  const remote = remotePort === 0 ? `${remoteHost}, on a port the server picks` : address(remoteHost, remotePort);
  return `make ${server} listen on ${remote} and forward each connection to ${address(localHost, localPort)} on this machine`;
}

/** One line naming a tunnel: id, name, endpoints. */
export function tunnelLine(t: TunnelInfo): string {
  const ends =
    t.type === 'dynamic'
      ? `SOCKS ${address(t.localHost, t.localPort)}`
      : t.type === 'local'
        ? `${address(t.localHost, t.localPort)} → ${address(t.remoteHost, t.remotePort)}`
        : `${t.server} ${address(t.remoteHost, t.remotePort)} → ${address(t.localHost, t.localPort)}`;
  return `${t.id} "${t.name}" (${t.type}, ${ends}, server ${t.server})`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A tunnel as structured data for the model. */
export function tunnelData(t: TunnelInfo) {
  return {
    id: t.id,
    name: t.name,
    server: t.server,
    type: t.type,
    state: t.state,
    openedBy: t.openedBy,
    local: { host: t.localHost, port: t.localPort },
    remote: t.type === 'dynamic' ? undefined : { host: t.remoteHost, port: t.remotePort },
    usage: usage(t),
    bytesIn: t.stats.bytesIn,
    bytesOut: t.stats.bytesOut,
    connectionsActive: t.stats.connectionsActive,
    connectionsTotal: t.stats.connectionsTotal,
    errors: t.stats.errors,
    lastError: t.lastError,
    createdAt: iso(t.createdAt),
    lastActivity: iso(t.lastActivity),
  };
}

/** The list's line for a tunnel: everything a person would look at in the tree's tooltip. */
export function tunnelDetailLine(t: TunnelInfo): string {
  const s = t.stats;
  const error = t.lastError ? `; last error: ${t.lastError}` : '';
  return (
    `- ${tunnelLine(t)}: ${t.state}, opened by ${originWords(t.openedBy)} at ${iso(t.createdAt)}; ` +
    `${s.bytesIn} bytes in, ${s.bytesOut} bytes out; connections ${s.connectionsActive} active, ${s.connectionsTotal} total; ` +
    `${s.errors} errors${error}; last activity ${iso(t.lastActivity)}`
  );
}

export function serverData(config: ServerConfig, status: ServerStatus, origin: string | undefined) {
  return {
    server: config.host,
    target: serverTarget(config),
    definedIn: origin === 'both' ? 'settings and ~/.ssh/config' : origin === 'sshConfig' ? '~/.ssh/config' : origin === 'settings' ? 'settings' : origin,
    state: status.state,
    tunnels: status.tunnels,
    lastError: status.lastError,
  };
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
