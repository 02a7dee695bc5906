/**
 * Checks the `sshTunnels.servers` setting. An unknown field is a warning (with the field it
 * probably meant) and the entry still works; a bad value of a known field drops that entry
 * only, and the entry's name keeps its problem so a tunnel naming it can say what is wrong.
 */
import type { ServerConfig } from '../engine';
import { entryLabel, isEntry, unknownFieldWarnings } from './settingsFields';
import { algorithmSetting, type AlgorithmOption } from './sshAlgorithms';

const isString = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
const isStrings = (v: unknown) => isString(v) || (Array.isArray(v) && v.length > 0 && v.every(isString));
const isInt = (v: unknown, min: number, max = 2 ** 31 - 1) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isBoolean = (v: unknown) => typeof v === 'boolean';

/** Every field a settings entry may have: what it must be, and the check of that. */
const FIELDS: Record<string, { must: string; ok: (v: unknown) => boolean }> = {
  host: { must: 'a name without spaces or wildcards', ok: (v) => isString(v) && !/[\s*?!,]/.test(v) },
  hostName: { must: 'a host name or address', ok: (v) => isString(v) && !/\s/.test(v) },
  port: { must: 'a whole number from 1 to 65535', ok: (v) => isInt(v, 1, 65535) },
  user: { must: 'a user name', ok: isString },
  identityFile: { must: 'a path or a list of paths', ok: isStrings },
  certificateFile: { must: 'a path or a list of paths', ok: isStrings },
  identitiesOnly: { must: 'true or false', ok: isBoolean },
  identityAgent: { must: 'a socket path, or false to not use an agent', ok: (v) => v === false || isString(v) },
  proxyJump: { must: 'a comma-separated list of [user@]host[:port] or server names', ok: isString },
  proxyCommand: { must: 'a command line whose stdin/stdout carry the connection, e.g. "nc %h %p"', ok: isString },
  streamLocalBindUnlink: { must: 'true or false', ok: isBoolean },
  userKnownHostsFile: { must: 'a path or a list of paths', ok: isStrings },
  globalKnownHostsFile: { must: 'a path or a list of paths', ok: isStrings },
  strictHostKeyChecking: { must: '"yes", "accept-new", "no" or "ask"', ok: (v) => v === 'yes' || v === 'accept-new' || v === 'no' || v === 'ask' },
  serverAliveInterval: { must: 'a whole number of seconds, 0 to turn keepalives off', ok: (v) => isInt(v, 0) },
  serverAliveCountMax: { must: 'a whole number from 1 up', ok: (v) => isInt(v, 1) },
  ciphers: { must: 'a list of cipher names, e.g. ["aes128-gcm@openssh.com"], or a change to the default as in ssh_config, e.g. "+aes128-cbc"', ok: isStrings },
  macs: { must: 'a list of MAC names, e.g. ["hmac-sha2-256"], or a change to the default as in ssh_config, e.g. "+hmac-md5"', ok: isStrings },
  kexAlgorithms: { must: 'a list of key exchange names, e.g. ["curve25519-sha256"], or a change to the default as in ssh_config, e.g. "+diffie-hellman-group14-sha1"', ok: isStrings },
  hostKeyAlgorithms: { must: 'a list of host key algorithms, e.g. ["ssh-ed25519"], or a change to the default as in ssh_config, e.g. "+ssh-rsa"', ok: isStrings },
  pubkeyAcceptedAlgorithms: { must: 'a list of key algorithms, e.g. ["ssh-ed25519"], or a change to the default as in ssh_config, e.g. "+ssh-rsa"', ok: isStrings },
  hostKeyAlias: { must: 'a name to look host keys up under in known_hosts', ok: (v) => isString(v) && !/\s/.test(v) },
  hashKnownHosts: { must: 'true or false', ok: isBoolean },
  connectTimeout: { must: 'a whole number of seconds from 1 up', ok: (v) => isInt(v, 1) },
};
const ALGORITHM_FIELDS: AlgorithmOption[] = ['ciphers', 'macs', 'kexAlgorithms', 'hostKeyAlgorithms', 'pubkeyAcceptedAlgorithms'];
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
  raw.forEach((e: unknown, index) => {
    const at = `sshTunnels.servers[${index}]`;
    if (!isEntry(e)) {
      errors.push(`${at} must be an object like { "host": "db", "hostName": "10.0.0.5", "user": "me" }; got ${JSON.stringify(e)}.`);
      return;
    }
    const name = typeof e.host === 'string' ? e.host : undefined;
    const label = entryLabel(at, name);
    const problems: string[] = [];
    const bad = (field: string) => problems.push(`${label}: ${field} must be ${FIELDS[field].must}; got ${JSON.stringify(e[field])}.`);
    for (const key of Object.keys(e).filter((k) => SECRETS.has(k))) {
      problems.push(`${label}: ${key} does not belong in settings (they are shared and synced). Leave it out; you will be asked, and may choose to remember it securely.`);
    }
    warnings.push(...unknownFieldWarnings(label, e, Object.keys(FIELDS), (key) => SECRETS.has(key)));
    // The name is required, and checked first: a duplicate is an error of its own.
    const validName = FIELDS.host.ok(name);
    if (!validName) bad('host');
    else if (seen.has(name!)) problems.push(`${label}: another entry already uses host ${JSON.stringify(name)}; names must be unique.`);
    for (const [field, { ok }] of Object.entries(FIELDS)) {
      if (field !== 'host' && e[field] !== undefined && !ok(e[field])) bad(field);
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
    for (const option of ALGORITHM_FIELDS) {
      if (server[option] === undefined) continue;
      // A list replaces the default, as a plain ssh_config value does; a string may also start with + - ^.
      const spec = ([] as string[]).concat(server[option] as string | string[]).join(',');
      const { list, warnings: why } = algorithmSetting(option, spec, label, name!);
      warnings.push(...why);
      server[option] = list;
      if (list && option === 'hostKeyAlgorithms' && !/^[+-]/.test(spec)) server.hostKeyAlgorithmsVerbatim = true;
    }
    // "ask" is the default; kept as an explicit undefined so it overrides a file's value.
    if (server.strictHostKeyChecking === 'ask') server.strictHostKeyChecking = undefined;
    // The settings' `host` is the name people give the server: the engine's alias.
    const { host: alias, ...fields } = server;
    servers.push({ alias, ...fields } as unknown as ServerConfig);
  });
  return { servers, errors, warnings, broken };
}
