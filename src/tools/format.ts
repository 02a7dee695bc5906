import { localEnd, makeAddress, plural, remoteEnd, type ServerConfig, type ServerStatus, targetOf, type TunnelInfo, type TunnelOrigin } from '../engine';
import type { ServerData, TunnelData } from './results';

/** `user@host:port` as ssh would connect. */
export function serverTarget(config: ServerConfig): string {
  const { host, port, user } = targetOf(config);
  return `${user}@${makeAddress(host, port)}`;
}

const ORIGIN_WORDS: Record<TunnelOrigin, string> = {
  settings: 'settings',
  sshConfig: '~/.ssh/config',
  person: 'the user',
  agent: 'an agent',
  extension: 'an extension or a task of VS Code',
};

export function originWords(origin: TunnelOrigin): string {
  return ORIGIN_WORDS[origin] ?? origin;
}

/** The address a client connects to for a listening address (a wildcard listens on loopback too). */
export function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '*') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** How to use a tunnel, in one sentence. */
export function usage(t: TunnelInfo): string {
  const here = t.localPath !== undefined ? `the socket ${t.localPath}` : makeAddress(t.localHost, t.localPort);
  const there = t.remotePath !== undefined ? `the socket ${t.remotePath}` : makeAddress(t.remoteHost, t.remotePort);
  if (t.type === 'local') {
    const entry = t.localPath !== undefined ? `the socket ${t.localPath}` : makeAddress(connectHost(t.localHost), t.localPort);
    return `Connect to ${entry} to reach ${there} as ${t.server} sees it.`;
  }
  if (t.socks) return `On ${t.server}, use the SOCKS5 proxy socks5h://${makeAddress(t.remoteHost, t.remotePort)}; it reaches any address this machine can.`;
  if (t.remotePath !== undefined || t.localPath !== undefined) return `On ${t.server}, connect to ${there} to reach ${here} on this machine.`;
  if (t.type === 'dynamic') {
    const proxy = `socks5h://${makeAddress(connectHost(t.localHost), t.localPort)}`;
    return `Use the SOCKS5 proxy ${proxy} (e.g. curl --proxy ${proxy} http://internal-host/); names resolve on ${t.server}.`;
  }
  return `On ${t.server}, connect to ${makeAddress(t.remoteHost, t.remotePort)} to reach ${makeAddress(t.localHost, t.localPort)} on this machine.`;
}

/** One line naming a tunnel: id, name, endpoints. */
export function tunnelLine(t: TunnelInfo): string {
  const ends =
    t.type === 'dynamic'
      ? `SOCKS ${makeAddress(t.localHost, t.localPort)}`
      : t.type === 'local'
        ? `${localEnd(t)} → ${remoteEnd(t)}`
        : `${t.server} ${remoteEnd(t)} → ${t.socks ? 'SOCKS from this machine' : localEnd(t)}`;
  return `${t.id} "${t.name}" (${t.type}, ${ends}, server ${t.server})`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A tunnel as structured data for the model (its schema: TUNNEL_SCHEMA). */
export function tunnelData(t: TunnelInfo): TunnelData {
  return {
    id: t.id,
    name: t.name,
    server: t.server,
    type: t.type,
    state: t.state,
    openedBy: t.openedBy,
    // A reverse SOCKS proxy has no fixed local end: each client names its own.
    local: t.socks ? undefined : t.localPath !== undefined ? { path: t.localPath } : { host: t.localHost, port: t.localPort },
    remote:
      t.type === 'dynamic' ? undefined : t.remotePath !== undefined ? { path: t.remotePath } : t.remoteHost !== undefined && t.remotePort !== undefined ? { host: t.remoteHost, port: t.remotePort } : undefined,
    socks: t.socks ? true : undefined,
    usage: usage(t),
    bytesIn: t.stats.bytesIn,
    bytesOut: t.stats.bytesOut,
    connectionsActive: t.stats.connectionsActive,
    connectionsTotal: t.stats.connectionsTotal,
    errors: t.stats.errors,
    lastError: t.lastError,
    ...(t.targetError !== undefined ? { targetError: t.targetError } : {}),
    createdAt: iso(t.createdAt),
    lastActivity: iso(t.lastActivity),
  };
}

/** The list's line for a tunnel: everything a person would look at in the tree's tooltip. */
export function tunnelDetailLine(t: TunnelInfo): string {
  const s = t.stats;
  const error = `${t.targetError ? `; ${t.targetError}` : ''}${t.lastError && t.lastError !== t.targetError ? `; last error: ${t.lastError}` : ''}`;
  return (
    `- ${tunnelLine(t)}: ${t.state}, opened by ${originWords(t.openedBy)} at ${iso(t.createdAt)}; ` +
    `${s.bytesIn} bytes in, ${s.bytesOut} bytes out; connections ${s.connectionsActive} active, ${s.connectionsTotal} total; ` +
    `${plural(s.errors, 'error')}${error}; last activity ${iso(t.lastActivity)}`
  );
}

export function serverData(config: ServerConfig, status: ServerStatus, origin: string | undefined): ServerData {
  return {
    server: config.alias,
    target: serverTarget(config),
    definedIn: origin === 'both' ? 'settings and ~/.ssh/config' : origin === 'sshConfig' ? '~/.ssh/config' : origin === 'settings' ? 'settings' : origin,
    state: status.state,
    tunnels: status.tunnels,
    lastError: status.lastError,
  };
}


/** A log line for a refused call; the input checks already start their messages with the tool's name. */
export function refusalLog(tool: string, message: string): string {
  const own = `${tool}: `;
  return `${tool} refused: ${message.startsWith(own) ? message.slice(own.length) : message}`;
}
