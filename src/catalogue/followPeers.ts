// How the catalogue's entries follow the tunnels the peers serve: an entry shown served
// there, one freed when the peer closes it, and the autoStart ones to take over when the peer
// ends. Pure decisions over the entries; the catalogue opens and fires events.
import { listensWhere } from '../engine';
import type { PeerTunnel, PeerTunnels } from '../peers';
import type { WantedState, WantedTunnel } from './wanted';

/** What these decisions read and set of a catalogue entry. */
export interface FollowingSlot {
  wanted: WantedTunnel;
  state: WantedState;
  /** Set while a person (or an agent) keeps the entry stopped. */
  stoppedAs?: string;
}

/**
 * The peers' tunnels changed: settings entries served there follow (gone: stopped here;
 * newly served: shown there). Returns whether any entry changed.
 */
export function followPeers(slots: Iterable<FollowingSlot>, peers: PeerTunnels): boolean {
  let changed = false;
  for (const slot of slots) {
    if (slot.wanted.source !== 'settings') continue;
    const state = slot.state;
    if (state.kind === 'elsewhere') {
      const served = peers.serving(slot.wanted.spec);
      if (!served) {
        slot.state = { kind: 'stopped' };
        changed = true;
      } else if (served.peer.id !== state.served.peer.id || served.info.id !== state.served.info.id || served.info.state !== state.served.info.state) {
        slot.state = { kind: 'elsewhere', served };
        changed = true;
      }
    } else if ((state.kind === 'stopped' || state.kind === 'failed') && slot.stoppedAs === undefined && slot.wanted.autoStart) {
      const served = peers.serving(slot.wanted.spec);
      if (served) {
        slot.state = { kind: 'elsewhere', served };
        changed = true;
      }
    }
  }
  return changed;
}

/** A peer ended with `lost`: the autoStart settings entries it served that this process wants and does not run (the port then picks one winner). */
export function toTakeOver<S extends FollowingSlot>(slots: Iterable<S>, lost: readonly PeerTunnel[]): S[] {
  const out: S[] = [];
  for (const slot of slots) {
    const { wanted, state } = slot;
    if (wanted.source !== 'settings' || !wanted.autoStart || slot.stoppedAs !== undefined) continue;
    if (state.kind === 'running' || state.kind === 'opening') continue;
    if (lost.some((t) => listensWhere(wanted.spec, t.info))) out.push(slot);
  }
  return out;
}
