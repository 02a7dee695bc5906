/**
 * Checks the `sshTunnels.servers` setting. An unknown field is a warning (with the field it
 * probably meant) and the entry still works; a bad value of a known field drops that entry
 * only, and the entry's name keeps its problem so a tunnel naming it can say what is wrong.
 */
import type { ServerConfig } from '../engine/types';

/** Every field a settings entry may have, with what it must be. */
const FIELDS: Record<string, string> = {
  host: 'a name without spaces or wildcards',
  hostName: 'a host name or address',
  port: 'a whole number from 1 to 65535',
  user: 'a user name',
  identityFile: 'a path or a list of paths',
  identitiesOnly: 'true or false',
  identityAgent: 'a socket path, or false to not use an agent',
  proxyJump: 'a comma-separated list of [user@]host[:port] or server names',
  proxyCommand: 'a command line whose stdin/stdout carry the connection, e.g. "nc %h %p"',
  streamLocalBindUnlink: 'true or false',
  userKnownHostsFile: 'a path or a list of paths',
  globalKnownHostsFile: 'a path or a list of paths',
  strictHostKeyChecking: '"yes", "accept-new", "no" or "ask"',
  serverAliveInterval: 'a whole number of seconds, 0 to turn keepalives off',
  serverAliveCountMax: 'a whole number from 1 up',
  ciphers: 'a list of cipher names, e.g. ["aes128-gcm@openssh.com"]',
  connectTimeout: 'a whole number of seconds from 1 up',
};
const SECRETS = new Set(['password', 'passphrase', 'privateKey']);

export interface SettingsValidation {
  /** The entries that are valid, normalized (strictHostKeyChecking "ask" becomes unset). */
  servers: ServerConfig[];
  /** One message per problem that kept an entry out; the others still load. */
  errors: string[];
  /** Problems that did not keep the entry out (an unknown field, which is ignored). */
  warnings: string[];
  /** Entries left out that have a usable name: the name, and its first problem. */
  broken: { name: string; problem: string }[];
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const keep = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = keep;
    }
  }
  return row[b.length];
}

/** The field a typo most likely meant (case differences, or up to two edits). */
export function closest(name: string, candidates: string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** Checks `sshTunnels.servers` entries; every error names the entry, the field and what it must be. */
export function validateServerSettings(raw: unknown): SettingsValidation {
  const errors: string[] = [];
  const warnings: string[] = [];
  const broken: SettingsValidation['broken'] = [];
  const servers: ServerConfig[] = [];
  if (raw === undefined || raw === null) return { servers, errors, warnings, broken };
  if (!Array.isArray(raw)) {
    return { servers, errors: [`sshTunnels.servers must be a list of server objects; got ${typeof raw}.`], warnings, broken };
  }
  const seen = new Set<string>();
  raw.forEach((entry: unknown, index) => {
    const at = `sshTunnels.servers[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      errors.push(`${at} must be an object like { "host": "db", "hostName": "10.0.0.5", "user": "me" }; got ${JSON.stringify(entry)}.`);
      return;
    }
    const e = entry as Record<string, unknown>;
    const name = typeof e.host === 'string' ? e.host : undefined;
    const label = name ? `${at} (${name})` : at;
    const problems: string[] = [];
    const bad = (field: string) => problems.push(`${label}: ${field} must be ${FIELDS[field]}; got ${JSON.stringify(e[field])}.`);
    for (const key of Object.keys(e)) {
      if (SECRETS.has(key)) {
        problems.push(`${label}: ${key} does not belong in settings (they are shared and synced). Leave it out; you will be asked, and may choose to remember it securely.`);
      } else if (!(key in FIELDS)) {
        const hint = closest(key, Object.keys(FIELDS));
        warnings.push(`${label}: unknown field ${JSON.stringify(key)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}; ignored, the entry is used without it.`);
      }
    }
    const validName = !(name === undefined || name.trim() === '' || /[\s*?!,]/.test(name));
    if (!validName) bad('host');
    else if (seen.has(name)) problems.push(`${label}: another entry already uses host ${JSON.stringify(name)}; names must be unique.`);
    const isString = (v: unknown) => typeof v === 'string' && v.trim() !== '';
    const isStrings = (v: unknown) => isString(v) || (Array.isArray(v) && v.length > 0 && v.every(isString));
    const isInt = (v: unknown, min: number, max = 2 ** 31 - 1) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
    const checks: Record<string, (v: unknown) => boolean> = {
      hostName: (v) => isString(v) && !/\s/.test(v as string),
      port: (v) => isInt(v, 1, 65535),
      user: isString,
      identityFile: isStrings,
      identitiesOnly: (v) => typeof v === 'boolean',
      identityAgent: (v) => v === false || isString(v),
      proxyJump: isString,
      proxyCommand: isString,
      streamLocalBindUnlink: (v) => typeof v === 'boolean',
      userKnownHostsFile: isStrings,
      globalKnownHostsFile: isStrings,
      strictHostKeyChecking: (v) => v === 'yes' || v === 'accept-new' || v === 'no' || v === 'ask',
      serverAliveInterval: (v) => isInt(v, 0),
      serverAliveCountMax: (v) => isInt(v, 1),
      ciphers: (v) => Array.isArray(v) && v.length > 0 && v.every(isString),
      connectTimeout: (v) => isInt(v, 1),
    };
    for (const [field, ok] of Object.entries(checks)) {
      if (e[field] !== undefined && !ok(e[field])) bad(field);
    }
    if (problems.length) {
      errors.push(...problems);
      // A duplicate's name belongs to the first entry, which still works.
      if (validName && !seen.has(name!)) {
        seen.add(name!);
        broken.push({ name: name!, problem: problems[0] });
      }
      return;
    }
    seen.add(name!);
    if (e.proxyJump !== undefined && e.proxyCommand !== undefined) {
      // ssh takes the first of the two in its file; an object has no order, so say which one wins.
      warnings.push(`${label}: sets both proxyJump and proxyCommand; the connection goes through proxyJump and proxyCommand is ignored. Remove one of them.`);
    }
    const server: Record<string, unknown> = {};
    for (const key of Object.keys(FIELDS)) if (e[key] !== undefined) server[key] = e[key];
    // "ask" is the default; kept as an explicit undefined so it overrides a file's value.
    if (server.strictHostKeyChecking === 'ask') server.strictHostKeyChecking = undefined;
    servers.push(server as unknown as ServerConfig);
  });
  return { servers, errors, warnings, broken };
}
