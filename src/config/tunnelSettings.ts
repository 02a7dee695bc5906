/**
 * `sshTunnels.tunnels` entries as TunnelSpecs, and the other settings both the extension and the
 * command read the same way (the reconnect policy, the workspace's settings files). Pure Node.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TUNNEL_TYPES, type TunnelSpec, type TunnelType } from '../engine';
import { parseJsonc } from './jsonc';
import { closest, entryLabel, isEntry, missingField, typoOf, unknownFieldWarnings } from './settingsFields';

export const SECTION = 'sshTunnels';

/** What to do when a tunnel is forwarded (opened here and active), as VS Code's `remote.portsAttributes` names it. */
export const ON_FORWARD = ['notify', 'openBrowser', 'openBrowserOnce', 'openPreview', 'silent'] as const;
export type OnForward = (typeof ON_FORWARD)[number];

export const PROTOCOLS = ['http', 'https'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** A tunnel's attributes for the UI, named as VS Code's `remote.portsAttributes` names them. */
export interface TunnelAttributes {
  /** What a web page on its local address is spoken in: Open in Browser and Copy Local Address use it. */
  protocol?: Protocol;
  onForward?: OnForward;
  /** false: a busy local port is no failure; the next free one is taken and said. */
  requireLocalPort?: boolean;
}

/** A tunnel from `sshTunnels.tunnels`. */
export interface ConfiguredTunnel {
  /** Stable identity across edits: its name, or where it listens. */
  key: string;
  /** Everything that matters for the running tunnel; a change of it means restart. */
  fingerprint: string;
  spec: TunnelSpec;
  autoStart: boolean;
  /** Defined in workspace or folder settings (checked into a repository). */
  fromWorkspace: boolean;
  attributes: TunnelAttributes;
}

export interface TunnelSettingsRead {
  tunnels: ConfiguredTunnel[];
  /** Entries left out, with why; and fields ignored (an unknown field: its entry is kept). */
  problems: string[];
}

/** Every field a tunnel entry may have. */
const FIELDS = ['name', 'label', 'server', 'type', 'localHost', 'localPort', 'localPath', 'remoteHost', 'remotePort', 'remotePath', 'socks', 'autoStart', 'protocol', 'onForward', 'requireLocalPort', 'watchRemotePort'];

/**
 * The attributes of an entry; a value that is not one of the allowed ones is a warning (with the
 * one it probably meant) and left out, the tunnel kept.
 */
function attributesOf(o: Record<string, unknown>, label: string, type: TunnelType, problems: string[]): TunnelAttributes {
  const out: TunnelAttributes = {};
  const oneOf = <T extends string>(field: string, allowed: readonly T[]): T | undefined => {
    const v = o[field];
    if (v === undefined) return undefined;
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    const meant = typeof v === 'string' ? closest(v, allowed) : undefined;
    problems.push(`${label}: ${field} must be one of ${allowed.join(', ')}; got ${JSON.stringify(v)}${meant ? ` (did you mean ${JSON.stringify(meant)}?)` : ''}; ignored.`);
    return undefined;
  };
  const flag = (field: string): boolean | undefined => {
    const v = o[field];
    if (v === undefined || typeof v === 'boolean') return v;
    problems.push(`${label}: ${field} must be true or false; got ${JSON.stringify(v)}; ignored.`);
    return undefined;
  };
  const protocol = oneOf('protocol', PROTOCOLS);
  const onForward = oneOf('onForward', ON_FORWARD);
  const requireLocalPort = flag('requireLocalPort');
  if (protocol) out.protocol = protocol;
  if (onForward) out.onForward = onForward;
  if (requireLocalPort !== undefined) out.requireLocalPort = requireLocalPort;
  if ((protocol || (onForward && onForward !== 'notify' && onForward !== 'silent')) && type !== 'local') {
    problems.push(`${label}: ${protocol ? 'protocol' : 'onForward'} opens a web page on this machine's end, which only a local (-L) tunnel has; ignored.`);
    delete out.protocol;
    if (onForward !== 'notify' && onForward !== 'silent') delete out.onForward;
  }
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** The fields this entry cannot do without that it leaves out (remoteHost has a default; remotePort has none). */
function missingFields(o: Record<string, unknown>, type: TunnelType): string[] {
  const missing: string[] = [];
  if (o.server === undefined) missing.push('server');
  if (type !== 'dynamic' && o.remotePath === undefined && o.remotePort === undefined) missing.push('remotePort');
  // A remote tunnel's localPort is the service to reach, so it has no "any free port" default.
  if (type === 'remote' && o.socks !== true && o.localPath === undefined && o.localPort === undefined) missing.push('localPort');
  return missing;
}

export function tunnelFromSetting(o: unknown, index: number, fromWorkspace: boolean, problems: string[]): ConfiguredTunnel | undefined {
  const where = `${SECTION}.tunnels[${index}]`;
  if (!isEntry(o)) {
    problems.push(`${where} must be an object like { "server": "db", "localPort": 5432, "remotePort": 5432 }; got ${JSON.stringify(o)}.`);
    return undefined;
  }
  // `label` is VS Code's word (remote.portsAttributes) for what this project calls the name.
  const givenName = str(o.name) ?? str(o.label);
  const label = entryLabel(where, givenName);
  const type = (o.type ?? 'local') as TunnelType;
  const knownType = TUNNEL_TYPES.includes(type);
  const missing = knownType ? missingFields(o, type) : [];
  // The typo of a missing field is named in that field's message instead.
  const typos = missing.map((field) => typoOf(o, field, FIELDS));
  problems.push(...unknownFieldWarnings(label, o, FIELDS, (key) => typos.includes(key)));
  if (!knownType) {
    problems.push(`${label}: type must be local, remote or dynamic; got ${JSON.stringify(o.type)}.`);
    return undefined;
  }
  if (missing.length) {
    problems.push(`${label}: ${missing.map((field) => missingField(o, field, FIELDS)).join('; ')}; the tunnel is left out until ${missing.length === 1 ? 'it is' : 'they are'} set.`);
    return undefined;
  }
  const server = str(o.server);
  if (!server) {
    problems.push(`${label}: server must be the name of a server; got ${JSON.stringify(o.server)}.`);
    return undefined;
  }
  const localPath = str(o.localPath);
  const remotePath = str(o.remotePath);
  const toServerPort = type !== 'dynamic' && remotePath === undefined;
  if (str(o.name) && str(o.label) && str(o.name) !== str(o.label)) problems.push(`${label}: name and label are two words for one thing (label is VS Code's); the name ${JSON.stringify(str(o.name))} is used.`);
  const watch = o.watchRemotePort;
  if (watch !== undefined && (typeof watch !== 'boolean' || (watch && type !== 'local'))) {
    problems.push(`${label}: watchRemotePort ${typeof watch !== 'boolean' ? `must be true or false; got ${JSON.stringify(watch)}` : 'is for local (-L) tunnels, whose target is on the server\'s side'}; ignored.`);
  }
  const spec: TunnelSpec = {
    server,
    type,
    name: givenName,
    localHost: str(o.localHost),
    localPort: (o.localPort ?? 0) as number,
    remoteHost: toServerPort ? (str(o.remoteHost) ?? (type === 'local' ? 'localhost' : '127.0.0.1')) : undefined,
    remotePort: toServerPort ? (o.remotePort as number) : undefined,
  };
  // Only when set, so the fingerprint of a port-only tunnel stays what it was.
  if (localPath !== undefined) spec.localPath = localPath;
  if (remotePath !== undefined) spec.remotePath = remotePath;
  if (o.socks !== undefined) spec.socks = o.socks as boolean;
  if (watch === true && type === 'local') spec.watchRemotePort = true;
  const listen = type === 'remote' ? (remotePath ?? `${spec.remoteHost}:${spec.remotePort}`) : (localPath ?? `${spec.localHost ?? '127.0.0.1'}:${spec.localPort}`);
  const key = spec.name ? `name:${spec.name}` : `${server}|${type}|${listen}`;
  return { key, fingerprint: JSON.stringify(spec), spec, autoStart: o.autoStart === true, fromWorkspace, attributes: attributesOf(o, label, type, problems) };
}

/** Reads a `sshTunnels.tunnels` value; entries that cannot be read are left out with a problem each. */
export function parseTunnelSettings(raw: unknown, fromWorkspace: boolean): TunnelSettingsRead {
  const problems: string[] = [];
  const tunnels: ConfiguredTunnel[] = [];
  const keys = new Set<string>();
  if (raw !== undefined && raw !== null && !Array.isArray(raw)) problems.push(`${SECTION}.tunnels must be a list of tunnel objects; got ${typeof raw}.`);
  (Array.isArray(raw) ? raw : []).forEach((entry, i) => {
    const t = tunnelFromSetting(entry, i, fromWorkspace, problems);
    if (!t) return;
    if (keys.has(t.key)) {
      problems.push(`${SECTION}.tunnels[${i}] repeats the tunnel ${t.spec.name ?? t.key}; give it its own name or port.`);
      return;
    }
    keys.add(t.key);
    tunnels.push(t);
  });
  return { tunnels, problems };
}

/**
 * The settings in a settings.json (or, `inWorkspaceFile`, the `settings` of a .code-workspace
 * file), as a flat record of dotted keys. A missing file is an empty record; a broken one throws
 * an Error that names the file.
 */
export function readSettingsFile(file: string, inWorkspaceFile = false): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`Cannot read ${file}: ${(err as Error).message}`);
  }
  return parseSettingsText(text, file, inWorkspaceFile);
}

/** readSettingsFile on text already read (so what is hashed is what is used); `file` names it in errors. */
export function parseSettingsText(text: string, file: string, inWorkspaceFile = false): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseJsonc(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON (comments and trailing commas are fine): ${(err as Error).message}`);
  }
  const settings = inWorkspaceFile && parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>).settings : parsed;
  if (settings === undefined) return {};
  if (!settings || typeof settings !== 'object' || Array.isArray(settings)) throw new Error(`${file} must hold a JSON object of settings.`);
  return settings as Record<string, unknown>;
}

/** A folder's own settings file, as VS Code reads it for that folder. */
export function folderSettingsFile(folder: string): string {
  return path.join(folder, '.vscode', 'settings.json');
}

export interface SupervisionSettings {
  reconnect: { baseDelayMs: number; maxDelayMs: number; maxAttempts: number };
  maxChannelsPerConnection: number;
}

/** The reconnect policy and channel limit of `sshTunnels.reconnect.*` and `.maxChannelsPerConnection`, in the engine's units. */
export function supervisionSettings(get: <T>(key: string, fallback: T) => T): SupervisionSettings {
  const num = (key: string, fallback: number) => {
    const v = get<unknown>(key, fallback);
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback;
  };
  const attempts = num('reconnect.maxAttempts', 0);
  return {
    reconnect: {
      baseDelayMs: num('reconnect.initialDelay', 1) * 1000,
      maxDelayMs: num('reconnect.maxDelay', 30) * 1000,
      maxAttempts: attempts > 0 ? attempts : Infinity,
    },
    maxChannelsPerConnection: num('maxChannelsPerConnection', 8192),
  };
}
