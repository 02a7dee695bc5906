/**
 * Reads a config file and its Includes into segments: runs of setting lines with the chain of
 * Host/Match headers that must all hold for them to apply (an Include inside a block adds its
 * file's own headers to the block's). Segments under a Host that names hosts literally are
 * indexed by those names, so resolving one host looks only at its own segments and the general
 * ones (wildcards, Match): resolving every host is linear in the file, not quadratic.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandHome } from '../engine';
import { configLines, KNOWN_KEYWORDS, type ConfigLine } from './sshConfigLines';
import { parseMatch, type Criterion } from './sshConfigMatch';
import { isLiteralPattern, matchPattern } from './sshConfigPatterns';

export interface SshConfigEnv {
  /** Home directory for `~` and `%d`; defaults to os.homedir(). */
  home?: string;
  /** Local user name for `%u` and the default remote user; defaults to os.userInfo().username. */
  localUser?: string;
  /** Run `Match exec` commands (only for a trusted workspace); default false, a refusal is a warning. */
  allowExec?: boolean;
  /** Longest a `Match exec` command may run, in ms; default 3000. */
  execTimeoutMs?: number;
  /**
   * The system-wide file read after the user's, as ssh reads /etc/ssh/ssh_config unless given
   * -F; default none here (ServerRegistry passes it for the user's own ~/.ssh/config).
   */
  systemConfig?: string | null;
}

/** OpenSSH's system-wide client config (_PATH_HOST_CONFIG_FILE; on Windows, under ProgramData). */
export function defaultSystemSshConfigPath(): string {
  if (process.platform === 'win32') return path.join(process.env.PROGRAMDATA ?? 'C:\\ProgramData', 'ssh', 'ssh_config');
  return '/etc/ssh/ssh_config';
}

export type Header =
  | { kind: 'host'; patterns: string[]; file: string; line: number }
  | { kind: 'match'; criteria: Criterion[]; file: string; line: number; text: string }
  /** A Match line that could not be read: never matches, as its settings are not ours to guess. */
  | { kind: 'bad'; file: string; line: number };

export interface Segment {
  /** Position in the whole config: segments apply in this order. */
  seq: number;
  /** Every header must hold (outer file's block first); empty for lines before any Host/Match. */
  conditions: Header[];
  lines: ConfigLine[];
}

/** A parsed config file and everything it includes, ready to answer for any host. */
export interface LoadedSshConfig {
  path: string;
  /** Every file read (the config and its includes), for change detection. */
  files: string[];
  /** Directories whose listing an Include glob depends on (a new file there matters too). */
  globDirs: string[];
  /** Problems found while reading, not tied to one host (a line that cannot be read, a missing Include). */
  warnings: string[];
  /** Host aliases without wildcards or negation, in file order: the servers to list. */
  aliases: string[];
  /** Segments that may apply to any host (wildcards, Match, no header), in order. */
  general: Segment[];
  /** Segments that apply only to the hosts a literal Host line names, by name, in order. */
  byHost: Map<string, Segment[]>;
  /** A `Match final` anywhere asks for ssh's second pass. */
  wantsFinal: boolean;
  env: Required<SshConfigEnv>;
}

const MAX_INCLUDE_DEPTH = 16;

export function envOf(env: SshConfigEnv = {}): Required<SshConfigEnv> {
  let localUser = env.localUser;
  if (localUser === undefined) {
    try {
      localUser = os.userInfo().username;
    } catch {
      localUser = process.env.USER ?? process.env.USERNAME ?? '';
    }
  }
  return { home: env.home ?? os.homedir(), localUser, allowExec: env.allowExec ?? false, execTimeoutMs: env.execTimeoutMs ?? 3000, systemConfig: env.systemConfig ?? null };
}

/** `${NAME}` environment references, which ssh expands in file names. */
export function expandEnv(text: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => process.env[name] ?? whole);
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

/** The names a header chain can only ever match, when some Host in it names hosts literally. */
function literalNames(conditions: Header[]): string[] | undefined {
  for (const h of conditions) {
    if (h.kind !== 'host') continue;
    const positive = h.patterns.filter((p) => !p.startsWith('!'));
    if (positive.length > 0 && positive.every(isLiteralPattern)) {
      // A negation can only narrow a literal block; it may still exclude one of its own names.
      return positive.filter((name) => !h.patterns.some((p) => p.startsWith('!') && matchPattern(name, p.slice(1))));
    }
  }
  return undefined;
}

/**
 * Reads a config file and its includes. A missing main file is an empty config.
 * Unreadable includes and unreadable lines become warnings; the rest of the file still counts.
 */
export function loadSshConfig(file: string, env?: SshConfigEnv): LoadedSshConfig {
  const steps = loadSteps(file, env);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Lines handled between two pauses of loadSteps. */
const LINES_PER_STEP = 500;

/** loadSshConfig in steps: it pauses every few hundred lines, so a caller can spread a large config over several turns of the event loop. */
export function* loadSteps(file: string, env?: SshConfigEnv): Generator<void, LoadedSshConfig> {
  const full = envOf(env);
  const files: string[] = [];
  const globDirs = new Set<string>();
  const warnings: string[] = [];
  const aliasSet = new Set<string>();
  const aliases: string[] = [];
  const general: Segment[] = [];
  const byHost = new Map<string, Segment[]>();
  const sshDir = path.join(full.home, '.ssh');
  const ignoreUnknown: string[] = [];
  const unknownSeen = new Set<string>();
  let wantsFinal = false;
  let seq = 0;

  const addSegment = (conditions: Header[], lines: ConfigLine[]) => {
    const segment: Segment = { seq: seq++, conditions, lines };
    const names = literalNames(conditions);
    if (!names) {
      general.push(segment);
      return;
    }
    for (const name of names) {
      let list = byHost.get(name);
      if (!list) byHost.set(name, (list = []));
      list.push(segment);
    }
  };

  let sinceStep = 0;
  /** Relative Include paths: ~/.ssh in the user's files, the system file's folder in the system's (as ssh). */
  let includeDir = sshDir;
  /** Literal Host names of the user's files are the servers to list; the system file only gives defaults. */
  let listAliases = true;
  function* readFile(p: string, outer: Header[], depth: number): Generator<void, void> {
    let text: string;
    try {
      text = fs.readFileSync(p, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || depth > 0) warnings.push(`Cannot read ${p}: ${(err as Error).message}`);
      return;
    }
    files.push(p);
    let conditions = outer;
    let pending: ConfigLine[] = [];
    // Every header gets a segment, even an empty one, so a Match is evaluated at its own place.
    let headerOpen = outer.length > 0 || depth === 0;
    const flush = () => {
      if (pending.length || headerOpen) addSegment(conditions, pending);
      pending = [];
      headerOpen = false;
    };
    for (const line of configLines(text, p)) {
      if (++sinceStep >= LINES_PER_STEP) {
        sinceStep = 0;
        yield;
      }
      if ('problem' in line) {
        warnings.push(line.problem);
        continue;
      }
      const at = `${line.file}:${line.line}`;
      if (line.key === 'host') {
        flush();
        conditions = [...outer, { kind: 'host', patterns: line.args, file: line.file, line: line.line }];
        headerOpen = true;
        for (const a of listAliases ? line.args : []) {
          if (isLiteralPattern(a) && !a.includes(',') && !aliasSet.has(a)) {
            aliasSet.add(a);
            aliases.push(a);
          }
        }
      } else if (line.key === 'match') {
        flush();
        const parsed = parseMatch(line.args);
        if ('error' in parsed) {
          warnings.push(`${at}: Match ${line.args.join(' ')}: ${parsed.error}; the block's settings are skipped.`);
          conditions = [...outer, { kind: 'bad', file: line.file, line: line.line }];
        } else {
          wantsFinal ||= parsed.wantsFinal;
          conditions = [...outer, { kind: 'match', criteria: parsed.criteria, file: line.file, line: line.line, text: line.args.join(' ') }];
        }
        headerOpen = true;
      } else if (line.key === 'include') {
        flush();
        if (depth >= MAX_INCLUDE_DEPTH) {
          warnings.push(`${at}: Include nested deeper than ${MAX_INCLUDE_DEPTH} levels; ignored (is there an Include loop?).`);
        } else {
          for (const arg of line.args) {
            if (/%[^%]/.test(arg)) {
              warnings.push(`${at}: Include ${arg}: %-tokens in Include paths are not supported; skipped.`);
              continue;
            }
            const expanded = expandHome(expandEnv(arg), full.home);
            const absolute = path.isAbsolute(expanded) ? expanded : path.join(includeDir, expanded);
            for (const match of expandGlob(absolute, globDirs)) yield* readFile(match, conditions, depth + 1);
          }
        }
        // The including block goes on after the included files.
        headerOpen = true;
      } else {
        if (line.key === 'ignoreunknown') ignoreUnknown.push(...line.args.join(',').split(','));
        if (!KNOWN_KEYWORDS.has(line.key)) {
          if (!ignoreUnknown.some((p) => matchPattern(line.key, p.toLowerCase())) && !unknownSeen.has(line.key)) {
            unknownSeen.add(line.key);
            warnings.push(`${at}: unknown keyword ${line.keyword}; ignored.`);
          }
          continue;
        }
        pending.push(line);
      }
    }
    flush();
  }

  yield* readFile(file, [], 0);
  if (full.systemConfig) {
    // Read on as ssh does: the first value of a keyword still wins, so the user's file comes first.
    includeDir = path.dirname(full.systemConfig);
    listAliases = false;
    yield* readFile(full.systemConfig, [], 0);
  }
  return { path: file, files, globDirs: [...globDirs], warnings, aliases, general, byHost, wantsFinal, env: full };
}
