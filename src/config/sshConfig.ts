/**
 * Reads OpenSSH client config (`~/.ssh/config`) into ServerConfig and TunnelSpec entries.
 *
 * The text is parsed by the `ssh-config` npm package. The evaluation (which lines apply to a
 * host) is done here, following OpenSSH's readconf.c, because the package's `compute()` does
 * not follow `Include`, runs `Match exec` commands by default and treats `?` as "zero or one
 * character". Supported: `Include` (globs, relative to ~/.ssh, inside `Host` blocks too),
 * `Host` patterns with `*`, `?` and `!negation`, first value wins (IdentityFile and the
 * forwards accumulate). Not supported: `Match` blocks (skipped, with a warning),
 * `ProxyCommand`, `Ciphers` with `+`/`-`/`^` modifiers.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, type Line } from 'ssh-config';
import type { ServerConfig, TunnelSpec } from '../engine/types';
import { parseForward } from './forwardSpec';

/** One line of config, flattened: a section start, a setting, or an included file. */
type Item =
  | { kind: 'host'; patterns: string[] }
  | { kind: 'match'; text: string; file: string }
  | { kind: 'set'; key: string; keyword: string; args: string[]; file: string }
  | { kind: 'include'; items: Item[] };

export interface SshConfigEnv {
  /** Home directory for `~` and `%d`; defaults to os.homedir(). */
  home?: string;
  /** Local user name for `%u` and the default remote user; defaults to os.userInfo().username. */
  localUser?: string;
}

/** A parsed config file and everything it includes, ready to answer for any host. */
export interface LoadedSshConfig {
  path: string;
  /** Every file read (the config and its includes), for change detection. */
  files: string[];
  /** Directories whose listing an Include glob depends on (a new file there matters too). */
  globDirs: string[];
  /** Problems found while reading, not tied to one host (a missing Include, a Match block). */
  warnings: string[];
  /** Host aliases without wildcards or negation, in file order: the servers to list. */
  aliases: string[];
  items: Item[];
  env: Required<SshConfigEnv>;
}

export interface ResolvedHost {
  server: ServerConfig;
  /** LocalForward / RemoteForward / DynamicForward of this host, ready to start. */
  tunnels: TunnelSpec[];
  /** Values that were ignored, and why. */
  warnings: string[];
}

const MAX_INCLUDE_DEPTH = 16;
/** Directives that accumulate instead of first-value-wins. */
const ACCUMULATE = new Set(['identityfile', 'localforward', 'remoteforward', 'dynamicforward', 'certificatefile']);

function envOf(env: SshConfigEnv = {}): Required<SshConfigEnv> {
  let localUser = env.localUser;
  if (localUser === undefined) {
    try {
      localUser = os.userInfo().username;
    } catch {
      localUser = process.env.USER ?? process.env.USERNAME ?? '';
    }
  }
  return { home: env.home ?? os.homedir(), localUser };
}

function expandTilde(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

function argsOf(line: Line & { value?: unknown }): string[] {
  const value = line.value as string | { val: string }[] | undefined;
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.map((v) => v.val);
  return [value];
}

/** A pattern as OpenSSH's match_pattern reads it: `*` any run, `?` exactly one character. */
function patternMatches(pattern: string, text: string): boolean {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`).test(text);
}

/** `Host` line semantics: any positive pattern matches and no negated one does. */
export function hostPatternsMatch(patterns: string[], host: string): boolean {
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    if (patternMatches(negated ? raw.slice(1) : raw, host)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function isWildcardFree(pattern: string): boolean {
  // `Host a,b` is one pattern to ssh (a literal comma), never a usable name: not listed.
  return !/[*?,]/.test(pattern) && !pattern.startsWith('!');
}

/** Node 20 has no fs.glob: expand `*`, `?` and `[...]` segment by segment, sorted like glob(3). */
function expandGlob(pattern: string, dirsSeen: Set<string>): string[] {
  if (!/[*?[]/.test(pattern)) return fs.existsSync(pattern) ? [pattern] : [];
  const parts = pattern.split('/');
  let bases = [parts[0] === '' ? '/' : parts[0]];
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i];
    if (part === '') continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!/[*?[]/.test(part)) {
        next.push(path.join(base, part));
        continue;
      }
      dirsSeen.add(base);
      const re = new RegExp(
        '^' + part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\[!/g, '[^') + '$',
      );
      let entries: string[] = [];
      try {
        entries = fs.readdirSync(base);
      } catch {
        continue;
      }
      for (const e of entries.sort()) if (!e.startsWith('.') && re.test(e)) next.push(path.join(base, e));
    }
    bases = next;
  }
  return bases.filter((p) => fs.existsSync(p));
}

/**
 * Reads a config file and its includes. A missing main file is an empty config.
 * Unreadable includes become warnings, as `ssh` skips them.
 */
export function loadSshConfig(file: string, env?: SshConfigEnv): LoadedSshConfig {
  const full = envOf(env);
  const files: string[] = [];
  const globDirs = new Set<string>();
  const warnings: string[] = [];
  const aliases: string[] = [];
  const sshDir = path.join(full.home, '.ssh');

  const readFile = (p: string, depth: number): Item[] => {
    let text: string;
    try {
      text = fs.readFileSync(p, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || depth > 0) {
        warnings.push(`Cannot read ${p}: ${(err as Error).message}`);
      }
      return [];
    }
    files.push(p);
    let lines: Line[];
    try {
      lines = parse(text);
    } catch (err) {
      warnings.push(`Cannot parse ${p}: ${(err as Error).message}`);
      return [];
    }
    return flatten(lines, p, depth);
  };

  const flatten = (lines: Line[], file: string, depth: number): Item[] => {
    const items: Item[] = [];
    for (const line of lines) {
      if (line.type !== 1) continue;
      const keyword = line.param;
      const key = keyword.toLowerCase();
      const args = argsOf(line);
      if (key === 'host') {
        items.push({ kind: 'host', patterns: args });
        for (const a of args) if (isWildcardFree(a) && !aliases.includes(a)) aliases.push(a);
      } else if (key === 'match') {
        items.push({ kind: 'match', text: args.join(' '), file });
      } else if (key === 'include') {
        if (depth >= MAX_INCLUDE_DEPTH) {
          warnings.push(`${file}: Include nested deeper than ${MAX_INCLUDE_DEPTH} levels; ignored (is there an Include loop?).`);
        } else {
          const included: Item[] = [];
          for (const arg of args) {
            const expanded = expandTilde(arg, full.home);
            const absolute = path.isAbsolute(expanded) ? expanded : path.join(sshDir, expanded);
            for (const match of expandGlob(absolute, globDirs)) included.push(...readFile(match, depth + 1));
          }
          items.push({ kind: 'include', items: included });
        }
      } else {
        items.push({ kind: 'set', key, keyword, args, file });
      }
      if ('config' in line && Array.isArray(line.config)) items.push(...flatten(line.config, file, depth));
    }
    return items;
  };

  const items = readFile(file, 0);
  return { path: file, files, globDirs: [...globDirs], warnings, aliases, items, env: full };
}

/** Walks the items as OpenSSH does for one host, collecting the first value of each setting. */
function collect(config: LoadedSshConfig, alias: string): { values: Map<string, { keyword: string; args: string[]; file: string }[]>; matchSkipped: string[] } {
  const values = new Map<string, { keyword: string; args: string[]; file: string }[]>();
  const matchSkipped: string[] = [];
  const walk = (items: Item[], startActive: boolean, neverMatch: boolean): void => {
    let active = startActive;
    for (const item of items) {
      if (item.kind === 'host') {
        active = !neverMatch && hostPatternsMatch(item.patterns, alias);
      } else if (item.kind === 'match') {
        active = false;
        matchSkipped.push(`${item.file}: "Match ${item.text}" is not supported; its settings were skipped.`);
      } else if (item.kind === 'include') {
        // An Include in an inactive block includes nothing; the block's state survives the include.
        walk(item.items, active, neverMatch || !active);
      } else if (active) {
        const list = values.get(item.key) ?? [];
        if (ACCUMULATE.has(item.key) || list.length === 0) list.push({ keyword: item.keyword, args: item.args, file: item.file });
        values.set(item.key, list);
      }
    }
  };
  walk(config.items, true, false);
  return { values, matchSkipped };
}

/** Expands `%` tokens as ssh does for IdentityFile and UserKnownHostsFile. */
export function expandTokens(text: string, tokens: Record<string, string>): string {
  return text.replace(/%(.)/g, (whole, ch: string) => {
    if (ch === '%') return '%';
    return tokens[ch] ?? whole;
  });
}

/** `${NAME}` environment references, which ssh expands in file names. */
function expandEnv(text: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => process.env[name] ?? whole);
}

function parseYesNo(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  return undefined;
}

/** The settings that apply to `alias`, as `ssh -G alias` would compute them. */
export function resolveHost(config: LoadedSshConfig, alias: string): ResolvedHost {
  const { values, matchSkipped } = collect(config, alias);
  const warnings = [...new Set(matchSkipped)];
  const first = (key: string): string | undefined => values.get(key)?.[0]?.args[0];
  const firstArgs = (key: string): string[] | undefined => values.get(key)?.[0]?.args;
  const where = (key: string) => values.get(key)?.[0]?.file ?? config.path;
  const server: ServerConfig = { host: alias };
  const { home, localUser } = config.env;

  const integer = (key: string, keyword: string, min: number, max: number): number | undefined => {
    const raw = first(key);
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      warnings.push(`${where(key)}: ${keyword} ${JSON.stringify(raw)} for ${alias} must be a whole number from ${min} to ${max}; ignored.`);
      return undefined;
    }
    return Number(raw);
  };

  const hostNameRaw = first('hostname');
  const hostName = hostNameRaw === undefined ? alias : expandTokens(hostNameRaw, { h: alias });
  if (hostNameRaw !== undefined) server.hostName = hostName;
  const port = integer('port', 'Port', 1, 65535);
  if (port !== undefined) server.port = port;
  const user = first('user');
  if (user !== undefined) server.user = user;

  const tokens: Record<string, string> = {
    h: hostName,
    p: String(port ?? 22),
    r: server.user ?? localUser,
    u: localUser,
    d: home,
    n: alias,
    k: alias,
    l: os.hostname(),
    L: os.hostname().split('.')[0],
    i: String(process.getuid?.() ?? ''),
    j: first('proxyjump') ?? '',
  };
  // %C as OpenSSH 9.2 computes it: SHA-1 of %l%h%p%r.
  tokens.C = createHash('sha1').update(tokens.l + tokens.h + tokens.p + tokens.r).digest('hex');
  const pathValue = (p: string) => expandTilde(expandTokens(expandEnv(p), tokens), home);

  const identityFiles = (values.get('identityfile') ?? []).map((v) => v.args[0]).filter((v): v is string => v !== undefined);
  if (identityFiles.length) server.identityFile = identityFiles.map(pathValue);
  const identitiesOnly = first('identitiesonly');
  if (identitiesOnly !== undefined) {
    const v = parseYesNo(identitiesOnly);
    if (v === undefined) warnings.push(`${where('identitiesonly')}: IdentitiesOnly ${JSON.stringify(identitiesOnly)} for ${alias} must be yes or no; ignored.`);
    else server.identitiesOnly = v;
  }
  const agent = first('identityagent');
  if (agent !== undefined) {
    if (agent.toLowerCase() === 'none') server.identityAgent = false;
    else if (agent !== 'SSH_AUTH_SOCK') server.identityAgent = pathValue(agent.startsWith('$') ? process.env[agent.slice(1)] ?? '' : agent);
  }
  const jump = first('proxyjump');
  if (jump !== undefined && jump.toLowerCase() !== 'none') server.proxyJump = jump;
  if (first('proxycommand') !== undefined && jump === undefined) {
    warnings.push(`${where('proxycommand')}: ProxyCommand is not supported (${alias} is dialled directly); use ProxyJump instead.`);
  }
  const alive = integer('serveraliveinterval', 'ServerAliveInterval', 0, 2 ** 31 - 1);
  if (alive !== undefined) server.serverAliveInterval = alive;
  const aliveCount = integer('serveralivecountmax', 'ServerAliveCountMax', 1, 2 ** 31 - 1);
  if (aliveCount !== undefined) server.serverAliveCountMax = aliveCount;
  const connectTimeout = integer('connecttimeout', 'ConnectTimeout', 1, 2 ** 31 - 1);
  if (connectTimeout !== undefined) server.connectTimeout = connectTimeout;

  const strict = first('stricthostkeychecking')?.toLowerCase();
  if (strict !== undefined) {
    if (strict === 'yes' || strict === 'true') server.strictHostKeyChecking = 'yes';
    else if (strict === 'no' || strict === 'false' || strict === 'off') server.strictHostKeyChecking = 'no';
    else if (strict === 'accept-new') server.strictHostKeyChecking = 'accept-new';
    else if (strict !== 'ask') {
      warnings.push(`${where('stricthostkeychecking')}: StrictHostKeyChecking ${JSON.stringify(strict)} for ${alias} must be yes, accept-new, no or ask; asking instead.`);
    }
  }
  const knownHosts = firstArgs('userknownhostsfile');
  if (knownHosts?.length) {
    // `none`: nothing is known and nothing is remembered; os.devNull reads empty and swallows appends.
    if (knownHosts.length === 1 && knownHosts[0].toLowerCase() === 'none') server.userKnownHostsFile = [os.devNull];
    else server.userKnownHostsFile = knownHosts.map(pathValue);
  }
  const globalKnownHosts = firstArgs('globalknownhostsfile');
  if (globalKnownHosts?.length) {
    if (globalKnownHosts.length === 1 && globalKnownHosts[0].toLowerCase() === 'none') server.globalKnownHostsFile = [os.devNull];
    else server.globalKnownHostsFile = globalKnownHosts; // as ssh: no ~ or % expansion here
  }
  const ciphers = first('ciphers');
  if (ciphers !== undefined) {
    if (/^[+\-^]/.test(ciphers)) {
      warnings.push(`${where('ciphers')}: Ciphers ${ciphers} for ${alias}: +, - and ^ modifiers are not supported; the default ciphers are used.`);
    } else {
      server.ciphers = ciphers.split(',').map((c) => c.trim()).filter(Boolean);
    }
  }

  const tunnels: TunnelSpec[] = [];
  for (const [key, type] of [['localforward', 'local'], ['remoteforward', 'remote'], ['dynamicforward', 'dynamic']] as const) {
    for (const entry of values.get(key) ?? []) {
      const words = entry.args.join(' ').trim().split(/\s+/);
      const text = words.join(':');
      if (type === 'remote' && words.length === 1) {
        warnings.push(`${entry.file}: RemoteForward ${text} for ${alias} is a reverse SOCKS proxy, which is not supported; skipped.`);
        continue;
      }
      if (words.some((w) => w.includes('/'))) {
        warnings.push(`${entry.file}: ${entry.keyword} ${words.join(' ')} for ${alias}: Unix sockets and the host/port form are not supported; skipped.`);
        continue;
      }
      const parsed = parseForward(text, type);
      if (!parsed.ok) {
        warnings.push(`${entry.file}: ${entry.keyword} ${words.join(' ')} for ${alias}: ${parsed.error} Skipped.`);
        continue;
      }
      const { localHost, localPort, remoteHost, remotePort } = parsed.forward;
      const spec: TunnelSpec = { server: alias, type, localPort };
      if (localHost !== undefined) spec.localHost = localHost;
      if (remoteHost !== undefined) spec.remoteHost = remoteHost;
      if (remotePort !== undefined) spec.remotePort = remotePort;
      tunnels.push(spec);
    }
  }
  return { server, tunnels, warnings };
}

/** Every non-wildcard Host of the file (and its includes), resolved. */
export function sshConfigServers(config: LoadedSshConfig): ResolvedHost[] {
  return config.aliases.map((alias) => resolveHost(config, alias));
}
