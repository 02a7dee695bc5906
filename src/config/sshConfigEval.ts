/**
 * Which lines apply to one host, as ssh computes it: segments in file order, first value wins
 * (a few keywords accumulate), Match evaluated at its place with the values so far, and the
 * second ("final") pass of ssh.c when a `Match final` exists or CanonicalizeHostname is on.
 */
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import { ExecPending, runExecSync, type ExecResult } from './sshConfigExec';
import type { ConfigLine } from './sshConfigLines';
import type { Header, LoadedSshConfig, Segment } from './sshConfigLoad';
import { evaluateMatch } from './sshConfigMatch';
import { hostPatternsMatch } from './sshConfigPatterns';

/** Directives that accumulate instead of first-value-wins. */
const ACCUMULATE = new Set(['identityfile', 'localforward', 'remoteforward', 'dynamicforward', 'certificatefile', 'sendenv', 'setenv']);

export interface Collected {
  /** keyword (lowercased) → the lines that count, first first. */
  values: Map<string, ConfigLine[]>;
  /** ProxyCommand as ssh keeps it (first of ProxyJump / ProxyCommand wins); `none` cleared. */
  proxyCommand?: ConfigLine;
  /** ProxyJump when it won over ProxyCommand; `none` cleared; `rest` without a trailing comment. */
  proxyJump?: ConfigLine;
  /** After a final pass: the host name ssh connects to (HostName expanded, lowercased unless an address). */
  finalHost?: string;
  warnings: string[];
}

export interface EvalOptions {
  allowExec: boolean;
  execTimeoutMs: number;
  /** `Match exec` results to share beyond this resolution (the registry shares them over one reading of the config). */
  execCache?: Map<string, ExecResult>;
  /** A command whose result is not in the cache throws ExecPending instead of running here (the registry runs it asynchronously). */
  deferExec?: boolean;
}

/** Expands `%` tokens as ssh does (`%%` is a literal %, unknown tokens stay as written). */
export function expandTokens(text: string, tokens: Record<string, string>): string {
  return text.replace(/%(.)/g, (whole, ch: string) => {
    if (ch === '%') return '%';
    return tokens[ch] ?? whole;
  });
}

let hostNameCache: { at: number; name: string } | undefined;
/** os.hostname() asks the kernel each time: asked once a second at most, as config work is per host. */
function thisHost(): string {
  const now = Date.now();
  if (!hostNameCache || now - hostNameCache.at > 1000) hostNameCache = { at: now, name: os.hostname() };
  return hostNameCache.name;
}

/** The tokens ssh offers in IdentityFile and Match exec: %C %L %d %h %k %l %n %p %r %u %i %j (%k: the alias here; resolveHost puts a HostKeyAlias in its place). */
export function tokensFor(host: string, alias: string, port: string, remoteUser: string, localUser: string, home: string, jump: string): Record<string, string> {
  const l = thisHost();
  const tokens: Record<string, string> = {
    h: host,
    p: port,
    r: remoteUser,
    u: localUser,
    d: home,
    n: alias,
    k: alias,
    l,
    L: l.split('.')[0],
    i: String(process.getuid?.() ?? ''),
    j: jump,
  };
  // %C as OpenSSH 9.2 computes it: SHA-1 of %l%h%p%r; hashed only when a value asks for it.
  Object.defineProperty(tokens, 'C', { enumerable: true, get: () => createHash('sha1').update(l + host + port + remoteUser).digest('hex') });
  return tokens;
}

/** The segments that can apply to `names`, merged in file order. */
function candidates(config: LoadedSshConfig, names: string[]): Segment[] {
  const lists = [config.general, ...names.map((n) => config.byHost.get(n) ?? [])].filter((l) => l.length > 0);
  if (lists.length === 1) return lists[0];
  const seen = new Set<number>();
  const all: Segment[] = [];
  for (const list of lists) {
    for (const s of list) {
      if (seen.has(s.seq)) continue;
      seen.add(s.seq);
      all.push(s);
    }
  }
  return all.sort((a, b) => a.seq - b.seq);
}

function isAddress(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':');
}

/** Walks the config for `alias` as `ssh -G alias` would (both passes when asked). */
export function collect(config: LoadedSshConfig, alias: string, options: EvalOptions): Collected {
  const values = new Map<string, ConfigLine[]>();
  const warnings: string[] = [];
  const { home, localUser } = config.env;
  let proxyCommand: ConfigLine | undefined;
  let proxyJump: ConfigLine | undefined;
  let proxyCommandSet = false;
  let finalHost: string | undefined;
  let proxyJumpSet = false;
  // `Match exec` results, reused across both passes of this resolution.
  const execResults = options.execCache ?? new Map<string, ExecResult>();
  const first = (key: string) => values.get(key)?.[0]?.args[0];

  const runExec = (command: string, header: Header): boolean | undefined => {
    let result = execResults.get(command);
    if (!result) {
      if (!options.allowExec) {
        warnings.push(`${header.file}:${header.line}: Match exec ${JSON.stringify(command)} was not run (only in a trusted workspace); the block is treated as not matching.`);
        return undefined;
      }
      if (options.deferExec) throw new ExecPending(command);
      result = runExecSync(command, options.execTimeoutMs);
      execResults.set(command, result);
    }
    if (result.problem) warnings.push(`${header.file}:${header.line}: Match exec ${JSON.stringify(command)} ${result.problem}; the block is treated as not matching.`);
    return result.ok;
  };

  const apply = (line: ConfigLine) => {
    if (line.key === 'proxycommand') {
      // readconf.c: the first ProxyCommand counts unless a ProxyJump came first (it sets ProxyCommand "none").
      if (!proxyCommandSet) {
        proxyCommandSet = true;
        proxyCommand = line.rest.toLowerCase() === 'none' ? undefined : line;
      }
      return;
    }
    if (line.key === 'proxyjump') {
      const value = line.rest.replace(/#.*/, '').trim();
      if (value.toLowerCase() === 'none') {
        if (!proxyJumpSet) proxyJumpSet = true;
      } else if (!proxyJumpSet && !proxyCommandSet) {
        proxyJumpSet = proxyCommandSet = true;
        proxyJump = { ...line, rest: value };
      }
      return;
    }
    if (line.key === 'hostname' && finalHost !== undefined) return;
    const list = values.get(line.key);
    if (!list) values.set(line.key, [line]);
    // ssh registers an identity file or a forward once, however often it is written.
    else if (ACCUMULATE.has(line.key) && !list.some((l) => l.args.join(' ') === line.args.join(' '))) list.push(line);
  };

  const pass = (finalPass: boolean, host: string, hostNames: string[]) => {
    const results = new Map<Header, boolean>();
    const holds = (h: Header): boolean => {
      const known = results.get(h);
      if (known !== undefined) return known;
      let r: boolean;
      if (h.kind === 'bad') r = false;
      else if (h.kind === 'host') r = hostPatternsMatch(h.patterns, host);
      else {
        const hostName = first('hostname');
        // In the final pass ssh has replaced HostName by the host; a HostName line there changes nothing.
        const matchHost = finalPass ? host : hostName !== undefined ? expandTokens(hostName, { h: alias }) : alias;
        const remoteUser = first('user') ?? localUser;
        r = evaluateMatch(h.criteria, {
          host: matchHost,
          originalHost: alias,
          remoteUser,
          localUser,
          finalPass,
          tag: first('tag') ?? '',
          exec: (command) => runExec(command, h),
          expand: (command) =>
            expandTokens(command, { ...tokensFor(matchHost, alias, first('port') ?? '22', remoteUser, localUser, home, proxyJump?.rest ?? ''), k: matchHost }),
          warn: (message) => warnings.push(`${h.file}:${h.line}: ${message}`),
        });
      }
      results.set(h, r);
      return r;
    };
    for (const segment of candidates(config, hostNames)) {
      if (!segment.conditions.every(holds)) continue;
      for (const line of segment.lines) apply(line);
    }
  };

  pass(false, alias, [alias]);
  const canonicalize = first('canonicalizehostname')?.toLowerCase();
  if (config.wantsFinal || canonicalize === 'yes' || canonicalize === 'always') {
    // ssh.c: the host becomes HostName (%h expanded), lowercased unless an address, and the
    // files are read again with it; values already set keep their first value.
    const hostName = first('hostname');
    let host = hostName !== undefined ? expandTokens(hostName, { h: alias }) : alias;
    if (!isAddress(host)) host = host.toLowerCase();
    finalHost = host;
    pass(true, host, [...new Set([alias, host])]);
  }
  return { values, proxyCommand, proxyJump, finalHost, warnings };
}
