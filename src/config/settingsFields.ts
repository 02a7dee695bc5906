/**
 * The field checks `sshTunnels.servers` and `sshTunnels.tunnels` entries share: an unknown field
 * is a warning that names the field it probably meant, and a missing field names its likely typo.
 */

/** Whether a list item is an entry at all: a JSON object. */
export function isEntry(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Where an entry is, with its name when it has one: `sshTunnels.servers[2] (db)`. */
export function entryLabel(at: string, name: string | undefined): string {
  return name ? `${at} (${name})` : at;
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

/** The name a typo most likely meant (case differences, or up to two edits). */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** The entry's fields that `known` does not list, each with the known field it probably meant. */
function unknownFields(entry: Record<string, unknown>, known: readonly string[]): { key: string; meant?: string }[] {
  return Object.keys(entry)
    .filter((key) => !known.includes(key))
    .map((key) => ({ key, meant: closest(key, known) }));
}

/**
 * One warning per unknown field (the entry is used without it), with the field it probably
 * meant. `skip` leaves out fields reported otherwise (secrets, the typo of a missing field).
 */
export function unknownFieldWarnings(label: string, entry: Record<string, unknown>, known: readonly string[], skip: (key: string) => boolean = () => false): string[] {
  return unknownFields(entry, known)
    .filter(({ key }) => !skip(key))
    .map(({ key, meant }) => `${label}: unknown field ${JSON.stringify(key)}${meant ? ` (did you mean ${JSON.stringify(meant)}?)` : ''}; ignored, the entry is used without it.`);
}

/** The unknown field of the entry that most likely was meant to be `field`. */
export function typoOf(entry: Record<string, unknown>, field: string, known: readonly string[]): string | undefined {
  return unknownFields(entry, known).find((f) => f.meant === field)?.key;
}

/** `remotePort is missing`, and the unknown field that was probably meant for it. */
export function missingField(entry: Record<string, unknown>, field: string, known: readonly string[]): string {
  const typo = typoOf(entry, field, known);
  return `${field} is missing${typo ? ` (${JSON.stringify(typo)} looks like a misspelling of it)` : ''}`;
}
