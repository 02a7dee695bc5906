/**
 * `Match` lines of ssh_config, parsed once at load and evaluated per host as readconf.c's
 * match_cfg_line does (OpenSSH 9.x criteria, plus OpenSSH 10's `criteria=value` form).
 */
import { matchHostname, matchPatternList } from './sshConfigPatterns';

export interface Criterion {
  negate: boolean;
  /** Lowercased attribute name: all, canonical, final, host, originalhost, user, localuser, exec, ... */
  attr: string;
  arg?: string;
}

export type ParsedMatch = { criteria: Criterion[]; wantsFinal: boolean } | { error: string };

const WITH_EQUALS = ['host', 'originalhost', 'user', 'localuser', 'localnetwork', 'version', 'tagged', 'command', 'exec'];
const KNOWN = new Set([...WITH_EQUALS, 'sessiontype']);

/** The criteria of a `Match` line (its arguments as argv_split gave them). */
export function parseMatch(args: string[]): ParsedMatch {
  const criteria: Criterion[] = [];
  let wantsFinal = false;
  let i = 0;
  let attributes = 0;
  while (i < args.length) {
    const raw = args[i++];
    if (raw.startsWith('#')) break;
    const negate = raw.startsWith('!');
    let attr = negate ? raw.slice(1) : raw;
    if (attr.toLowerCase() === 'all') {
      const after = args[i];
      // ssh allows one criterion before it (`Match canonical all`).
      if (attributes > 1 || (after !== undefined && after !== '' && !after.startsWith('#'))) {
        return { error: `'${raw}' cannot be combined with other Match attributes` };
      }
      criteria.push({ negate, attr: 'all' });
      break;
    }
    attributes++;
    const lower = attr.toLowerCase();
    if (lower === 'canonical' || lower === 'final') {
      if (lower === 'final' && !negate) wantsFinal = true;
      criteria.push({ negate, attr: lower });
      continue;
    }
    let arg: string | undefined;
    const eq = attr.indexOf('=');
    if (eq > 0 && WITH_EQUALS.includes(attr.slice(0, eq).toLowerCase())) {
      arg = attr.slice(eq + 1);
      attr = attr.slice(0, eq);
    } else {
      arg = args[i++];
      if (arg === undefined) return { error: `missing argument for Match '${raw}'` };
    }
    const name = attr.toLowerCase();
    if (arg === '' && name !== 'tagged' && name !== 'command') arg = undefined;
    if (arg === undefined || arg.startsWith('#')) return { error: `missing Match criteria for ${attr}` };
    if (!KNOWN.has(name)) return { error: `unsupported Match attribute ${attr}` };
    criteria.push({ negate, attr: name, arg });
  }
  if (criteria.length === 0) return { error: 'Match needs at least one criterion' };
  return { criteria, wantsFinal };
}

/** What a Match line is evaluated against at its place in the file. */
export interface MatchContext {
  /** The host so far: HostName with %h expanded (or the alias); in the final pass the final host name. */
  host: string;
  /** The name given (the alias). */
  originalHost: string;
  /** User so far, or the local user. */
  remoteUser: string;
  localUser: string;
  finalPass: boolean;
  /** Tag set so far, or ''. */
  tag: string;
  /** Runs a `Match exec` command (tokens already expanded) and says whether it exited 0; undefined when refused. */
  exec(command: string): boolean | undefined;
  /** Expands %-tokens of a `Match exec` command. */
  expand(command: string): string;
  /** Notes a criterion that could not be evaluated here. */
  warn(message: string): void;
}

/** match_cfg_line: true when every criterion holds (each may be negated). */
export function evaluateMatch(criteria: Criterion[], ctx: MatchContext): boolean {
  let result = true;
  for (const c of criteria) {
    let r: boolean;
    switch (c.attr) {
      case 'all':
        return result && !c.negate;
      case 'canonical':
      case 'final':
        r = ctx.finalPass;
        break;
      case 'host':
        r = matchHostname(ctx.host, c.arg!);
        break;
      case 'originalhost':
        r = matchHostname(ctx.originalHost, c.arg!);
        break;
      case 'user':
        r = matchPatternList(ctx.remoteUser, c.arg!, false) === 1;
        break;
      case 'localuser':
        r = matchPatternList(ctx.localUser, c.arg!, false) === 1;
        break;
      case 'tagged':
        r = ctx.tag === '' ? c.arg === '' : matchPatternList(ctx.tag, c.arg!, false) === 1;
        break;
      case 'command':
        // Tunnels run no remote command: the criterion sees the empty command, as `ssh -N` would.
        r = c.arg === '';
        break;
      case 'sessiontype':
        r = matchPatternList('none', c.arg!, false) === 1;
        break;
      case 'exec': {
        // As ssh: a command is not run once an earlier criterion failed.
        if (!result) continue;
        const ran = ctx.exec(ctx.expand(c.arg!));
        if (ran === undefined) return false;
        r = ran;
        break;
      }
      default:
        ctx.warn(`Match ${c.attr} is not supported; the block is treated as not matching.`);
        return false;
    }
    if (r === c.negate) result = false;
  }
  return result;
}
