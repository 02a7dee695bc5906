/** OpenSSH's match.c pattern rules: `*` any run, `?` exactly one character, `!` negates. */

/** match_pattern: the whole of `text` against one pattern (case-sensitive). */
export function matchPattern(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || (pattern[p] !== '*' && pattern[p] === text[t]))) {
      t++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * match_pattern_list: a comma-separated list; 1 if a positive pattern matched and no negated
 * one did, -1 if a negated one did, 0 otherwise. `lower` lowercases the patterns (ssh's dolower).
 */
export function matchPatternList(text: string, list: string, lower: boolean): -1 | 0 | 1 {
  let matched: 0 | 1 = 0;
  for (let sub of list.split(',')) {
    if (lower) sub = sub.toLowerCase();
    const negated = sub.startsWith('!');
    if (matchPattern(text, negated ? sub.slice(1) : sub)) {
      if (negated) return -1;
      matched = 1;
    }
  }
  return matched;
}

/** match_hostname: the host lowercased against a lowercased pattern list. */
export function matchHostname(host: string, list: string): boolean {
  return matchPatternList(host.toLowerCase(), list, true) === 1;
}

/** `Host` line semantics: any positive pattern matches and no negated one does. */
export function hostPatternsMatch(patterns: string[], host: string): boolean {
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    if (matchPattern(host, negated ? raw.slice(1) : raw)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** A Host pattern that names exactly one host: no wildcard, no negation (a comma is literal to ssh). */
export function isLiteralPattern(pattern: string): boolean {
  return !/[*?]/.test(pattern) && !pattern.startsWith('!');
}
