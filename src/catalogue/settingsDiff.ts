// What an edit of one source's entries (the settings) changes in the catalogue: the entries that
// go, those whose definition changed, and those to open. Decided over the store, which it brings to
// the new list; the catalogue then closes and opens.
import { isLive, type Slot, type Slots } from './slots';
import type { WantedSource, WantedTunnel } from './wanted';

export interface WantedChanges {
  /** Entries whose tunnel runs (or opens) here and must close, in the order met: gone from the list, or changed and to reopen once closed. */
  closes: { slot: Slot; reopen: boolean }[];
  /** autoStart entries neither running nor kept stopped by a person: to open. */
  opens: Slot[];
}

/**
 * Brings the entries of `source` to `list`: a new one is entered stopped, one that went leaves, one
 * whose definition changed takes it (a person's stop holds only for the definition it was made at;
 * one served by a peer as it was defined is looked for afresh). Returns the work that follows.
 */
export function applyWanted(slots: Slots, source: WantedSource, list: readonly WantedTunnel[]): WantedChanges {
  const wanted = new Map(list.map((w) => [w.key, w]));
  const closes: WantedChanges['closes'] = [];
  for (const slot of slots.list()) {
    if (slot.wanted.source !== source) continue;
    const key = slot.wanted.key;
    const now = wanted.get(key);
    if (now && now.fingerprint === slot.wanted.fingerprint) {
      slot.wanted = now;
      continue;
    }
    const live = isLive(slot);
    if (!now) {
      slots.delete(key);
      if (live) closes.push({ slot, reopen: false });
      continue;
    }
    slot.wanted = now;
    if (slot.stoppedAs !== undefined && slot.stoppedAs !== now.fingerprint) slot.stoppedAs = undefined;
    // Served elsewhere as it was defined: as it is defined now, it is looked for (or opened) afresh.
    if (slot.state.kind === 'elsewhere') slot.state = { kind: 'stopped' };
    // Reopened once the old one is gone: the new definition may want the same port.
    if (live) closes.push({ slot, reopen: true });
  }
  const opens: Slot[] = [];
  for (const w of list) {
    let slot = slots.get(w.key);
    if (!slot) {
      slot = { wanted: w, state: { kind: 'stopped' } };
      slots.set(slot);
    }
    const idle = slot.state.kind === 'stopped' || slot.state.kind === 'failed';
    if (w.autoStart && idle && slot.stoppedAs === undefined) opens.push(slot);
  }
  return { closes, opens };
}
