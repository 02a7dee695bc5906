/**
 * Reads the forward notations people already know from OpenSSH (`-L 8080:db:5432`,
 * `-R 9000:localhost:3000`, `-D 1080`, or a bare `8080:localhost:80`) into the fields of
 * a TunnelSpec. Pure: no I/O, no `vscode`; the create-tunnel input box validates with it as
 * the person types.
 */

export type ForwardType = 'local' | 'remote' | 'dynamic';

export interface ParsedForward {
  type: ForwardType;
  localHost?: string;
  localPort: number;
  remoteHost?: string;
  remotePort?: number;
}

export type ForwardParse = { ok: true; forward: ParsedForward } | { ok: false; error: string };

const FLAG: Record<string, ForwardType> = { L: 'local', R: 'remote', D: 'dynamic' };

/** What each type looks like, for placeholders and error messages. */
export const FORWARD_EXAMPLES: Record<ForwardType, string> = {
  local: '[bind_address:]port:host:hostport   e.g. 8080:localhost:80 or -L 127.0.0.1:5432:db:5432',
  remote: '[bind_address:]port:host:hostport   e.g. 9000:localhost:3000 or -R 9000:localhost:3000',
  dynamic: '[bind_address:]port   e.g. 1080 or -D 127.0.0.1:1080',
};

/** Splits on ':' outside `[...]`, so IPv6 addresses can be written as `[::1]`. */
function splitFields(text: string): string[] | undefined {
  const fields: string[] = [];
  let current = '';
  let depth = 0;
  for (const ch of text) {
    if (ch === '[') depth++;
    else if (ch === ']') depth--;
    if (depth < 0 || depth > 1) return undefined;
    if (ch === ':' && depth === 0) {
      fields.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (depth !== 0) return undefined;
  fields.push(current);
  return fields;
}

function port(field: string, what: string, allowZero: boolean): number | string {
  if (!/^\d{1,5}$/.test(field)) return `${what} must be a number from ${allowZero ? 0 : 1} to 65535; got ${JSON.stringify(field)}.`;
  const value = Number(field);
  if (value > 65535 || (!allowZero && value === 0)) return `${what} must be from ${allowZero ? 0 : 1} to 65535; got ${value}.`;
  return value;
}

function host(field: string, what: string): string | { error: string } {
  const value = field.replace(/^\[(.*)\]$/, '$1');
  if (value === '' || /[\s[\]/]/.test(value)) return { error: `${what} must be a host name or address; got ${JSON.stringify(field)}.` };
  return value;
}

/**
 * Parses one forward. `type` is the type already chosen (the quick-pick step); a flag in the
 * text (`-L`, `-R`, `-D`) overrides it. Without either, the type is `local`.
 */
export function parseForward(input: string, type?: ForwardType): ForwardParse {
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
  if (!fields) return fail(`Unbalanced brackets in ${JSON.stringify(text)}: write IPv6 addresses as [::1].`);

  if (type === 'dynamic') {
    if (fields.length > 2) return fail(`A SOCKS (-D) forward is [bind_address:]port, e.g. 1080 or 127.0.0.1:1080; got ${JSON.stringify(text)}.`);
    const p = port(fields[fields.length - 1], 'The SOCKS port', true);
    if (typeof p === 'string') return fail(p);
    const forward: ParsedForward = { type, localPort: p };
    if (fields.length === 2) {
      const h = host(fields[0], 'The bind address');
      if (typeof h !== 'string') return fail(h.error);
      forward.localHost = h;
    }
    return { ok: true, forward };
  }

  if (fields.length !== 3 && fields.length !== 4) {
    return fail(`A ${type === 'local' ? 'local (-L)' : 'remote (-R)'} forward is ${FORWARD_EXAMPLES[type]}; got ${JSON.stringify(text)}.`);
  }
  const [bind, listenPort, targetHost, targetPort]: [string | undefined, string, string, string] =
    fields.length === 4 ? [fields[0], fields[1], fields[2], fields[3]] : [undefined, fields[0], fields[1], fields[2]];
  let bindHost: string | undefined;
  if (bind !== undefined) {
    const h = host(bind, 'The bind address');
    if (typeof h !== 'string') return fail(h.error);
    bindHost = h;
  }
  const target = host(targetHost, 'The target host');
  if (typeof target !== 'string') return fail(target.error);
  const tp = port(targetPort, 'The target port', false);
  if (typeof tp === 'string') return fail(tp);

  if (type === 'local') {
    const lp = port(listenPort, 'The local port', true);
    if (typeof lp === 'string') return fail(lp);
    return { ok: true, forward: { type, localHost: bindHost, localPort: lp, remoteHost: target, remotePort: tp } };
  }
  // -R: the server listens on [bind:]port and each connection reaches target:targetPort from here.
  const rp = port(listenPort, 'The server port', true);
  if (typeof rp === 'string') return fail(rp);
  return { ok: true, forward: { type, localHost: target, localPort: tp, remoteHost: bindHost ?? '127.0.0.1', remotePort: rp } };
}

/** `[user@]host[:port]` (IPv6 as `[addr]:port`). */
export function parseDestination(text: string): { user?: string; hostName: string; port?: number } | undefined {
  const m = /^(?:([^@\s]+)@)?(\[[0-9a-fA-F:.]+\]|[^\s:@[\]]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) return undefined;
  const port = m[3] ? Number(m[3]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { user: m[1], hostName: m[2].replace(/^\[(.*)\]$/, '$1'), port };
}
