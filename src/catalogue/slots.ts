// The catalogue's store: its entries (slots) by key, and which entry each running tunnel is.
import type { TunnelInfo } from '../engine';
import type { FollowingSlot } from './followPeers';
import type { CatalogueEntry } from './wanted';

/** An entry as the catalogue keeps it. */
export interface Slot extends FollowingSlot {
  /** The fingerprint a person stopped it at; undefined while it is not stopped by a person. */
  stoppedAs?: string;
  /** The open under way, if any. */
  pending?: Promise<TunnelInfo>;
}

/** Whether an entry's tunnel runs (or opens) here. */
export function isLive(slot: Slot): boolean {
  return slot.state.kind === 'running' || slot.state.kind === 'opening';
}

/** An entry as the catalogue shows it. */
export function entryOf(slot: Slot): CatalogueEntry {
  return { ...slot.wanted, state: slot.state, personStopped: slot.stoppedAs !== undefined };
}

export class Slots {
  private readonly byKey = new Map<string, Slot>();
  /** Running tunnels' ids to their entries' keys. */
  private readonly byTunnel = new Map<string, string>();

  get(key: string): Slot | undefined {
    return this.byKey.get(key);
  }

  /** Enters a slot under its wanted tunnel's key (replacing one there). */
  set(slot: Slot): void {
    this.byKey.set(slot.wanted.key, slot);
  }

  delete(key: string): void {
    this.byKey.delete(key);
  }

  values(): IterableIterator<Slot> {
    return this.byKey.values();
  }

  /** The slots now: a copy, to go through while entering and removing. */
  list(): Slot[] {
    return [...this.byKey.values()];
  }

  /** The key of the entry whose running tunnel this is. */
  keyOf(tunnelId: string): string | undefined {
    return this.byTunnel.get(tunnelId);
  }

  /** Records that `tunnelId` runs the entry of `key`. */
  bind(tunnelId: string, key: string): void {
    this.byTunnel.set(tunnelId, key);
  }

  unbind(tunnelId: string): void {
    this.byTunnel.delete(tunnelId);
  }
}
