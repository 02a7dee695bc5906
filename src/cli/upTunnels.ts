// Each tunnel `up` asked for: opened through the front door, here or followed where a peer (a VS
// Code window, another up, an agent through mcp) serves it already, and taken over when that one ends.
import type { TunnelDoor } from '../catalogue';
import { defaultName, errorMessage, localEnd, remoteEnd, type TunnelSpec } from '../engine';
import { describePeer, type Peers, type PeerIdentity, type PeerTunnel } from '../peers';
import { address, type TableRow } from './table';

export interface Entry {
  spec: TunnelSpec;
  row: TableRow;
  id?: string;
  /** The settings entry's key (`sshTunnels.tunnels`), told to the peers with the tunnel. */
  key?: string;
  /** Served by a peer, another process of the user (this command then opens nothing for it, and takes it over if that peer ends). */
  atPeer?: PeerTunnel;
}

export interface UpTunnels {
  /** Opens an entry's tunnel, or answers with the peer's that serves it. */
  door: TunnelDoor;
  /** The entries opened here, by their tunnel's id. */
  byId: Map<string, Entry>;
  say(line: string): void;
  /** An entry could not open here, and no peer serves it: the command decides whether to end. */
  failed(entry: Entry, err: unknown): void;
}

/** The entries for what the command line asks for, each row showing its default name until the engine names the tunnel (with its bound port), made distinct as the engine does. */
export function entriesOf(selected: readonly { spec: TunnelSpec; key?: string }[]): Entry[] {
  const seen = new Map<string, number>();
  return selected.map(({ spec, key }) => {
    const base = spec.name ?? defaultName(spec.type, spec.localHost ?? '127.0.0.1', spec.localPort, spec.remoteHost, spec.remotePort, spec);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const name = spec.name === undefined && n > 1 ? `${base} (${n})` : base;
    return { spec, key, row: { name, server: spec.server, type: spec.type, pending: 'opening', reconnects: 0 } };
  });
}

/** The entry is served by a peer: nothing opens here; the row follows the peer's tunnel. */
function followPeer(t: UpTunnels, entry: Entry, served: PeerTunnel): void {
  entry.atPeer = served;
  entry.id = undefined;
  entry.row = { ...entry.row, name: served.info.name, info: served.info, pending: undefined, error: undefined, servedBy: describePeer(served.peer) };
  t.say(`${served.info.name}: served by ${describePeer(served.peer)} (pid ${served.peer.pid}): ${address(served.info)}`);
}

/** Opens an entry's tunnel through the front door, unless a peer serves it already (or wins its port meanwhile). */
export async function openEntry(t: UpTunnels, entry: Entry): Promise<boolean> {
  try {
    const opened = await t.door.open(entry.spec, entry.spec.openedBy ?? 'person');
    if (opened.peer) {
      followPeer(t, entry, opened.peer);
      return true;
    }
    const info = opened.here;
    entry.id = info.id;
    t.byId.set(info.id, entry);
    entry.row = { ...entry.row, name: info.name, info, pending: undefined, servedBy: undefined };
    const listening = `listening on ${localEnd(info)}`;
    if (info.state === 'reconnecting') {
      // Its server is down: the port is held (or the forward asked for) once it is back.
      t.say(`${info.name}: ${info.type === 'remote' ? `asked of ${info.server} once it is reachable` : listening}; waiting for ${info.server} (${info.lastError ?? 'unreachable'})`);
    } else t.say(`${info.name}: open, ${info.type === 'remote' ? `${info.server} listens on ${remoteEnd(info)}` : listening}`);
    return true;
  } catch (err) {
    entry.row = { ...entry.row, pending: 'failed', error: errorMessage(err), servedBy: undefined };
    t.say(`${entry.row.name}: could not open: ${errorMessage(err)}`);
    t.failed(entry, err);
    return false;
  }
}

/** The peer serving some of these entries ended: this command takes them over (their ports are free now). */
export function takeOver(t: UpTunnels, entries: readonly Entry[], peer: PeerIdentity, closing: () => boolean): void {
  for (const entry of entries) {
    if (closing() || entry.atPeer?.peer.id !== peer.id) continue;
    t.say(`${entry.row.name}: ${describePeer(peer)} (pid ${peer.pid}) ended; taking the tunnel over`);
    entry.atPeer = undefined;
    entry.row = { ...entry.row, info: undefined, pending: 'opening', servedBy: undefined };
    void openEntry(t, entry);
  }
}

/** The row of an entry a peer serves, as its owner last told it; gone while its owner lives: that process closed it. */
export function peerRow(peers: Peers, entry: Entry): TableRow {
  const now = peers.serving(entry.spec);
  if (now) entry.atPeer = now;
  entry.row.info = now ? now.info : entry.row.info && { ...entry.row.info, state: 'closed' };
  return entry.row;
}

/** The tunnels the peers serve that this command did not ask for. */
export function otherRows(peers: Peers, entries: readonly Entry[]): TableRow[] {
  const shown = new Set(entries.map((e) => e.atPeer && `${e.atPeer.peer.id}/${e.atPeer.info.id}`));
  return peers
    .list()
    .filter((t) => !shown.has(`${t.peer.id}/${t.info.id}`))
    .map((t): TableRow => ({ name: t.info.name, server: t.info.server, type: t.info.type, info: t.info, reconnects: 0, servedBy: describePeer(t.peer) }));
}
