import * as os from 'node:os';
import * as path from 'node:path';

/** `~` and `~/…` as ssh and a shell read them: the home folder (`home`, the user's unless given). */
export function expandHome(p: string, home = os.homedir()): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/** A path under the home folder as people write it (`~/…`), for messages; others as they are. */
export function displayPath(p: string, home = os.homedir()): string {
  return p === home ? '~' : p.startsWith(home + path.sep) ? `~${p.slice(home.length)}` : p;
}
