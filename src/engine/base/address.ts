// Addresses as ssh and URLs write them: `host:port` (IPv6 in brackets), and a server on ssh's
// command line or in ProxyJump, `[user@]host[:port]`.

/** `host:port`, with brackets around an IPv6 address (as ssh and URLs write it). */
export function makeAddress(host: string | undefined, port: number | undefined): string {
  return host?.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `[user@]host[:port]` as ssh's command line takes it (an IPv6 address with a port in brackets). */
export function formatSshTarget(t: { user?: string; host: string; port?: number }): string {
  const host = t.port !== undefined && t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.user ? `${t.user}@` : ''}${host}${t.port ? `:${t.port}` : ''}`;
}

/** What a server's settings say it is, written as `[user@]host[:port]`: what the person set, not ssh's defaults. */
export function configuredTarget(config: { alias: string; hostName?: string; user?: string; port?: number }): string {
  return formatSshTarget({ user: config.user, host: config.hostName ?? config.alias, port: config.port });
}

export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
}

/** The parts of `text`, or a message saying what is wrong with it. */
export function parseSshTarget(text: string): SshTarget | { error: string } {
  let rest = text.startsWith('ssh://') ? text.slice('ssh://'.length).replace(/\/$/, '') : text;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (user === '') return { error: `${JSON.stringify(text)} has an empty user name before "@".` };
  }
  let host = rest;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
  } else if (rest.split(':').length === 2) {
    // One colon is host:port; more is a bare IPv6 address.
    [host, portText] = rest.split(':');
  }
  if (host === '' || /[\s/]/.test(host)) return { error: `${JSON.stringify(text)} is not a host name: write [user@]host[:port].` };
  if (portText === undefined) return { ...(user !== undefined ? { user } : {}), host };
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) return { error: `${JSON.stringify(text)}: the port ${JSON.stringify(portText)} must be a number from 1 to 65535.` };
  return { ...(user !== undefined ? { user } : {}), host, port };
}
