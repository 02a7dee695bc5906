/**
 * Reads the forward notations people already know from OpenSSH (`-L 8080:db:5432`,
 * `-R 9000:localhost:3000`, `-D 1080`, or a bare `8080:localhost:80`), with Unix sockets
 * (`-L 2375:/var/run/docker.sock`, `-L /tmp/db.sock:db:5432`) and the reverse SOCKS proxy
 * (`-R 1080`), into the fields of a TunnelSpec. Pure: no I/O, no `vscode`; the create-tunnel
 * input box validates with it as the person types.
 */
import { parseSshTarget, type TunnelSpec, type TunnelType } from '../engine';

/** A forward as written: a TunnelSpec without its server, name and origin. */
export type ParsedForward = Omit<TunnelSpec, 'server' | 'name' | 'openedBy'>;

export type ForwardParse = { ok: true; forward: ParsedForward } | { ok: false; error: string };

const FLAG: Record<string, TunnelType> = { L: 'local', R: 'remote', D: 'dynamic' };

/** What each type looks like, for placeholders and error messages. */
export const FORWARD_EXAMPLES: Record<TunnelType, string> = {
  local: '[bind_address:]port:host:hostport, port:/remote.sock or /local.sock:host:hostport   e.g. 8080:localhost:80, 2375:/var/run/docker.sock',
  remote: '[bind_address:]port:host:hostport, /remote.sock:host:hostport, port:/local.sock, or [bind_address:]port alone for a SOCKS proxy on the server   e.g. 9000:localhost:3000, 1080',
  dynamic: '[bind_address:]port   e.g. 1080 or -D 127.0.0.1:1080',
};

interface Field {
  text: string;
  /** As OpenSSH decides: a field with a `/` in it is a socket path. */
  isPath: boolean;
}

/**
 * Splits on ':' as OpenSSH's parse_fwd_field does: a field in `[...]` is taken literally
 * (IPv6 addresses, paths with ':'), `\` escapes the next character.
 */
function splitFields(text: string): Field[] | string {
  const fields: Field[] = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '[') {
      const close = text.indexOf(']', i + 1);
      if (close < 0 || (close + 1 < text.length && text[close + 1] !== ':')) {
        return `Unbalanced brackets in ${JSON.stringify(text)}: write IPv6 addresses as [::1], and a bracketed field must end at its ']'.`;
      }
      const inner = text.slice(i + 1, close);
      fields.push({ text: inner, isPath: inner.includes('/') });
      i = close + 2;
      if (close + 1 >= text.length) break;
      continue;
    }
    let current = '';
    let isPath = false;
    for (; i < text.length && text[i] !== ':'; i++) {
      let ch = text[i];
      if (ch === '\\') {
        if (i + 1 >= text.length) return `A trailing \\ in ${JSON.stringify(text)} escapes nothing.`;
        ch = text[++i];
      }
      if (ch === '/') isPath = true;
      if (ch === '[' || ch === ']') return `Unbalanced brackets in ${JSON.stringify(text)}: write IPv6 addresses as [::1].`;
      current += ch;
    }
    fields.push({ text: current, isPath });
    i++;
  }
  return fields;
}

function port(field: Field, what: string, allowZero: boolean): number | string {
  if (field.isPath) return `${what} must be a port number, not a path; got ${JSON.stringify(field.text)}.`;
  if (!/^\d{1,5}$/.test(field.text)) return `${what} must be a number from ${allowZero ? 0 : 1} to 65535; got ${JSON.stringify(field.text)}.`;
  const value = Number(field.text);
  if (value > 65535 || (!allowZero && value === 0)) return `${what} must be from ${allowZero ? 0 : 1} to 65535; got ${value}.`;
  return value;
}

function host(field: Field, what: string): string | { error: string } {
  const value = field.text;
  if (value === '' || /[\s[\]/]/.test(value)) return { error: `${what} must be a host name or address; got ${JSON.stringify(value)}.` };
  return value;
}

function socketPath(field: Field, what: string, local: boolean): string | { error: string } {
  const value = field.text;
  if (local && !value.startsWith('/') && !value.startsWith('~/')) return { error: `${what} must be an absolute path (or start with ~/); got ${JSON.stringify(value)}.` };
  return value;
}

/** One end of a forward: a host and port, or a socket path. */
type End = { host?: string; port: number; path?: undefined } | { path: string; port: 0; host?: undefined };

/**
 * Parses one forward. `type` is the type already chosen (the quick-pick step); a flag in the
 * text (`-L`, `-R`, `-D`) overrides it. Without either, the type is `local`.
 */
export function parseForward(input: string, type?: TunnelType): ForwardParse {
  const fail = (error: string): ForwardParse => ({ ok: false, error });
  let text = input.trim().replace(/^ssh\s+/, '');
  const flag = /^-([LRD])\s*/.exec(text);
  if (flag) {
    type = FLAG[flag[1]];
    text = text.slice(flag[0].length).trim();
  }
  type ??= 'local';
  if (text === '') return fail(`Type a forward: ${FORWARD_EXAMPLES[type]}.`);
  if (/\s/.test(text)) return fail(`Write one forward without spaces inside it: ${FORWARD_EXAMPLES[type]}.`);
  const fields = splitFields(text);
  if (typeof fields === 'string') return fail(fields);
  const listenWhat = type === 'remote' ? 'The server port' : type === 'dynamic' ? 'The SOCKS port' : 'The local port';

  /** `[bind:]port`, the listening end of a SOCKS proxy (-D here, -R on the server). */
  const bindPort = (bind: Field | undefined, p: Field): { host?: string; port: number } | string => {
    const n = port(p, listenWhat, true);
    if (typeof n === 'string') return n;
    if (!bind) return { port: n };
    const h = host(bind, 'The bind address');
    return typeof h === 'string' ? { host: h, port: n } : h.error;
  };

  if (type === 'dynamic' || (type === 'remote' && fields.length <= 2 && !fields.some((f) => f.isPath))) {
    if (fields.length > 2) return fail(`A SOCKS (-D) forward is [bind_address:]port, e.g. 1080 or 127.0.0.1:1080; got ${JSON.stringify(text)}.`);
    if (fields.some((f) => f.isPath)) return fail(`A SOCKS (-D) forward listens on a port; a socket path is not supported: ${JSON.stringify(text)}.`);
    const end = bindPort(fields.length === 2 ? fields[0] : undefined, fields[fields.length - 1]);
    if (typeof end === 'string') return fail(end);
    if (type === 'dynamic') return { ok: true, forward: { type, localPort: end.port, ...(end.host !== undefined ? { localHost: end.host } : {}) } };
    // -R [bind:]port with no target: OpenSSH's reverse dynamic forward.
    return { ok: true, forward: { type, localPort: 0, remoteHost: end.host ?? '127.0.0.1', remotePort: end.port, socks: true } };
  }

  const shape = `A ${type === 'local' ? 'local (-L)' : 'remote (-R)'} forward is ${FORWARD_EXAMPLES[type]}; got ${JSON.stringify(text)}.`;
  const listenIsLocal = type === 'local';
  const pathEnd = (f: Field, local: boolean, what: string): End | string => {
    const p = socketPath(f, what, local);
    return typeof p === 'string' ? { path: p, port: 0 } : p.error;
  };
  const hostEnd = (h: Field | undefined, p: Field, what: string, portWhat: string, allowZero: boolean): End | string => {
    const n = port(p, portWhat, allowZero);
    if (typeof n === 'string') return n;
    if (!h) return { port: n };
    const name = host(h, what);
    return typeof name === 'string' ? { host: name, port: n } : name.error;
  };
  const listenPathWhat = listenIsLocal ? 'The local socket path' : 'The server socket path';
  const targetPathWhat = listenIsLocal ? 'The server socket path' : 'The local socket path';
  let listen: End | string;
  let target: End | string;
  const [a, b, c, d] = fields;
  if (fields.length === 2 && a.isPath && b.isPath) {
    listen = pathEnd(a, listenIsLocal, listenPathWhat);
    target = pathEnd(b, !listenIsLocal, targetPathWhat);
  } else if (fields.length === 2 && b.isPath) {
    listen = hostEnd(undefined, a, 'The bind address', listenWhat, true);
    target = pathEnd(b, !listenIsLocal, targetPathWhat);
  } else if (fields.length === 3 && a.isPath) {
    listen = pathEnd(a, listenIsLocal, listenPathWhat);
    target = hostEnd(b, c, 'The target host', 'The target port', false);
  } else if (fields.length === 3 && c.isPath) {
    listen = hostEnd(a, b, 'The bind address', listenWhat, true);
    target = pathEnd(c, !listenIsLocal, targetPathWhat);
  } else if (fields.length === 3) {
    listen = hostEnd(undefined, a, 'The bind address', listenWhat, true);
    target = hostEnd(b, c, 'The target host', 'The target port', false);
  } else if (fields.length === 4) {
    listen = hostEnd(a, b, 'The bind address', listenWhat, true);
    target = hostEnd(c, d, 'The target host', 'The target port', false);
  } else {
    return fail(shape);
  }
  if (typeof listen === 'string') return fail(listen);
  if (typeof target === 'string') return fail(target);
  const [local, remote] = listenIsLocal ? [listen, target] : [target, listen];
  const forward: ParsedForward = { type, localHost: local.host, localPort: local.port };
  if (local.path !== undefined) {
    delete forward.localHost;
    forward.localPath = local.path;
  }
  if (remote.path !== undefined) forward.remotePath = remote.path;
  else {
    // -R: with no bind address the server listens on loopback, as sshd does by default.
    forward.remoteHost = remote.host ?? (listenIsLocal ? undefined : '127.0.0.1');
    forward.remotePort = remote.port;
  }
  return { ok: true, forward };
}

/** `[user@]host[:port]` (IPv6 as `[addr]:port`) as a server's fields, or undefined when it is not one. */
export function parseDestination(text: string): { user?: string; hostName: string; port?: number } | undefined {
  const target = parseSshTarget(text.trim());
  return 'error' in target ? undefined : { user: target.user, hostName: target.host, port: target.port };
}
