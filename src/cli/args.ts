/**
 * A small command-line parser: long options (`--workspace DIR`, `--workspace=DIR`), short ones
 * as ssh writes them (`-L 8080:db:80`, `-L8080:db:80`), repeatable options and positionals.
 */
import { closest } from '../config/settingsFields';

export interface OptionSpec {
  /** Every spelling, e.g. ['--workspace', '-w']. */
  flags: string[];
  /** Where the value lands in `options`. */
  key: string;
  /** The placeholder of the option's value in --help; without it the option is a switch. */
  value?: string;
  /** Collects every occurrence (in order) instead of keeping the last. */
  repeat?: boolean;
  help: string;
}

export interface ParsedArgs {
  options: Record<string, string | string[] | boolean | undefined>;
  positionals: string[];
}

/** A mistake on the command line: the message says what to type instead; exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** ` (did you mean "x"?)` for a likely typo of one of `candidates`, else ''. Two edits make any short name into another: none under 3 characters. */
export function didYouMean(typed: string, candidates: readonly string[], quote = true): string {
  const hint = typed.length >= 3 ? closest(typed, [...candidates]) : undefined;
  return hint === undefined ? '' : ` (did you mean ${quote ? JSON.stringify(hint) : hint}?)`;
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command: string): ParsedArgs {
  const options: ParsedArgs['options'] = {};
  const positionals: string[] = [];
  const byFlag = new Map<string, OptionSpec>();
  for (const spec of specs) for (const flag of spec.flags) byFlag.set(flag, spec);
  const set = (spec: OptionSpec, value: string | boolean, flag: string) => {
    if (spec.repeat) {
      const list = (options[spec.key] as string[] | undefined) ?? [];
      // Repeated forwards keep their flag, so `-L …` and `-R …` can share one list.
      list.push(typeof value === 'string' && /^-[A-Z]$/.test(flag) ? `${flag} ${value}` : String(value));
      options[spec.key] = list;
    } else {
      options[spec.key] = value;
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    let flag = eq > 0 ? arg.slice(0, eq) : arg;
    let inline: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
    // ssh's -L8080:db:80: a one-letter flag with its value attached.
    if (!arg.startsWith('--') && arg.length > 2 && byFlag.get(arg.slice(0, 2))?.value) {
      flag = arg.slice(0, 2);
      inline = arg.slice(2);
    }
    const spec = byFlag.get(flag);
    if (!spec) {
      // Short flags differ by one letter from each other: only long ones get a guess.
      const hint = flag.startsWith('--') ? didYouMean(flag, [...byFlag.keys()].filter((f) => f.startsWith('--')), false) : '';
      throw new UsageError(`Unknown option ${flag} for "${command}"${hint}. See: ssh-tunnels ${command} --help`);
    }
    if (!spec.value) {
      if (inline !== undefined) throw new UsageError(`${flag} takes no value.`);
      set(spec, true, flag);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw new UsageError(`${flag} needs a value: ${flag} ${spec.value}`);
    }
    set(spec, value, flag);
  }
  return { options, positionals };
}

/** The option list of a --help text, aligned. */
export function describeOptions(specs: readonly OptionSpec[]): string {
  const left = specs.map((s) => `  ${s.flags.join(', ')}${s.value ? ` ${s.value}` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  return specs.map((s, i) => `${left[i].padEnd(width)}${s.help}`).join('\n');
}
