// Tunnels lent to whoever holds them (an extension's handles, a task, a launch configuration's
// variable): a tunnel that already serves a request is shared, not opened twice, and one opened for
// holders closes (or, for an entry of the settings, stops again) only when the last of them lets go
// and nobody else wants it. The catalogue owns it; callers see one Hold per request.
import { Emitter, makeAddress, TunnelError, type Event, type TunnelInfo, type TunnelManager, type TunnelSpec } from '../engine';
import type { PeerIdentity, PeerTunnel, PeerTunnels } from '../peers';
import type { Opened } from './frontDoor';
import { isUsable, servesSame } from './serving';
import type { CatalogueEntry } from './wanted';

/** Where a held tunnel runs: here (its id), or at a peer. */
export type HeldAt = { here: string; peer?: undefined } | { here?: undefined; peer: string; id: string };

/** A held tunnel as it is now, and the peer that serves it when another process does. */
export interface HeldTunnel {
  info: TunnelInfo;
  peer?: PeerIdentity;
}

export interface HoldRequest {
  /** An entry of the catalogue (a tunnel of the settings) by key… */
  key?: string;
  /** …or a tunnel as a spec: shared when one serves it already, opened otherwise. */
  spec?: TunnelSpec;
  /** Who holds it, in words for the log and the tree: `extension pub.name`, `task "db"`. */
  by: string;
  /**
   * Kept only while it alone holds a tunnel opened for it, until a firm holder takes the tunnel
   * over (a launch variable's, until the preLaunchTask holds it); let go of at once otherwise.
   */
  provisional?: boolean;
  signal?: AbortSignal;
}

export interface Hold {
  /** Where the tunnel runs; a restart moves it to the new tunnel. */
  readonly at: HeldAt;
  /** The tunnel as it was when the hold was taken (active). */
  readonly opened: HeldTunnel;
  /** The tunnel as it is now; undefined once it closed (or its peer stopped serving it). */
  current(): HeldTunnel | undefined;
  readonly released: boolean;
  /** Resolves once the hold is let go of, whichever way: its own release, releaseAll, or given way to a firm holder. */
  readonly whenReleased: Promise<void>;
  /** Fires when a restart moved the hold to the new tunnel (whose own events came before). */
  readonly onDidMove: Event<void>;
  /** Lets go of it: the tunnel closes if this was its last holder and it was opened for them. */
  release(): Promise<void>;
}

/** What the holds need of the catalogue. */
export interface HoldHost {
  manager: Pick<TunnelManager, 'getTunnel' | 'listTunnels' | 'closeTunnel'> & { onDidChangeTunnel: Event<TunnelInfo> };
  peers(): PeerTunnels | undefined;
  /** Opens a tunnel wanted once by an extension, through the front door. */
  open(spec: TunnelSpec, signal?: AbortSignal): Promise<Opened>;
  entry(key: string): CatalogueEntry | undefined;
  start(key: string): Promise<TunnelInfo>;
  /** Stops an entry started for its holders, leaving it as a person had it before (stopped by them, or not). */
  stopAgain(key: string, personStopped: string | undefined): Promise<void>;
  /** The fingerprint a person stopped an entry at, if they did. */
  personStopped(key: string): string | undefined;
  keyOf(tunnelId: string): string | undefined;
  log(message: string): void;
}

interface Holder {
  by: string;
  provisional: boolean;
  /** Let go of: by its own release, releaseAll, or given way to a firm holder. */
  released: boolean;
  /** Resolves whenReleased. */
  ended: () => void;
}

/** Marks a holder let go of. */
function letGo(holder: Holder): void {
  if (holder.released) return;
  holder.released = true;
  holder.ended();
}

interface Group {
  at: HeldAt;
  holders: Map<number, Holder>;
  /** Opened for its holders: it goes when they all have let go. */
  owned: boolean;
  /** The entry of the settings started for them, and how a person had left it. */
  settingsKey?: string;
  personStopped?: string;
  /** Its tunnel as it closed for a restart: until the new one is there, the holders see it reconnecting. */
  replacing?: TunnelInfo;
}

function atKey(at: HeldAt): string {
  return at.here !== undefined ? `here:${at.here}` : `peer:${at.peer}/${at.id}`;
}

export class Holds {
  private readonly groups = new Map<string, Group>();
  private readonly _onDidMove = new Emitter<Group>();
  /** Opens under way, by lane (an entry, or a server and type): one at a time, so two requests for one tunnel share it. */
  private readonly lanes = new Map<string, Promise<unknown>>();
  private nextHolder = 1;

  constructor(private readonly host: HoldHost) {}

  /** Opens or shares the tunnel a request names and holds it; resolves once it is active. */
  async hold(request: HoldRequest): Promise<Hold> {
    const lane = request.key !== undefined ? `key:${request.key}` : `spec:${request.spec?.server}|${request.spec?.type}`;
    while (this.lanes.has(lane)) await this.lanes.get(lane)!.catch(() => undefined);
    const run = this.acquire(request);
    this.lanes.set(lane, run);
    try {
      return await run;
    } finally {
      if (this.lanes.get(lane) === run) this.lanes.delete(lane);
    }
  }

  /** Who holds the tunnel of this id here. */
  holders(tunnelId: string): string[] {
    const group = this.groups.get(atKey({ here: tunnelId }));
    return group ? [...new Set([...group.holders.values()].map((h) => h.by))] : [];
  }

  /** Lets go of everything `by` holds (an extension whose access the person took back). */
  async releaseAll(by: string): Promise<number> {
    const work: Promise<void>[] = [];
    for (const group of [...this.groups.values()]) {
      for (const [id, holder] of [...group.holders]) if (holder.by === by) work.push(this.release(group, id));
    }
    await Promise.all(work);
    return work.length;
  }

  /** A tunnel here closed: its holders are left with nothing (a restart's close is followed by moved()). */
  closed(info: TunnelInfo): void {
    const group = this.groups.get(atKey({ here: info.id }));
    if (!group) return;
    if (info.closeReason === 'replaced') {
      group.replacing = info;
      return;
    }
    this.groups.delete(atKey(group.at));
    this.host.log(`${info.name} closed (${info.closeReason ?? 'closed'}) while ${[...new Set([...group.holders.values()].map((h) => h.by))].join(', ')} held it.`);
  }

  /** A restart replaced a held tunnel: the holders hold the new one (none: it did not reopen). */
  moved(oldId: string, now: TunnelInfo | undefined): void {
    const group = this.groups.get(atKey({ here: oldId }));
    if (!group) return;
    this.groups.delete(atKey(group.at));
    group.replacing = undefined;
    if (!now) return;
    group.at = { here: now.id };
    this.groups.set(atKey(group.at), group);
    this._onDidMove.fire(group);
  }

  dispose(): void {
    this._onDidMove.dispose();
  }

  // ---- taking a tunnel -----------------------------------------------------------------

  private async acquire(request: HoldRequest): Promise<Hold> {
    const found = request.key !== undefined ? await this.forEntry(request.key) : await this.forSpec(requireSpec(request), request.signal);
    const group = this.join(found, request);
    const id = this.nextHolder++;
    let ended = () => undefined as void;
    const whenReleased = new Promise<void>((resolve) => (ended = resolve));
    const holder: Holder = { by: request.by, provisional: request.provisional === true, released: false, ended };
    group.holders.set(id, holder);
    // A firm holder takes over from the provisional ones: the tunnel is now theirs to let go of.
    if (!request.provisional) {
      for (const [hid, h] of [...group.holders]) {
        if (!h.provisional) continue;
        letGo(h);
        group.holders.delete(hid);
      }
    }
    let opened: HeldTunnel | undefined;
    try {
      if (group.at.here !== undefined) await this.whenActive(group.at.here, request.signal);
      opened = this.current(group);
      if (!opened) throw closedError(undefined, atKey(group.at));
    } catch (err) {
      await this.release(group, id);
      throw err;
    }
    const hold = this.handle(group, id, holder, opened, whenReleased);
    // A provisional holder keeps nothing open that someone else holds or opened.
    if (holder.provisional && (!group.owned || [...group.holders.values()].some((h) => !h.provisional))) await hold.release();
    else this.host.log(`${request.by} holds ${opened.info.name}${group.holders.size > 1 ? ` (${group.holders.size} holders)` : ''}.`);
    return hold;
  }

  private join(found: Found, request: HoldRequest): Group {
    const key = atKey(found.at);
    let group = this.groups.get(key);
    if (!group) {
      group = { at: found.at, holders: new Map(), owned: found.owned, settingsKey: found.owned ? request.key : undefined, personStopped: found.personStopped };
      this.groups.set(key, group);
    }
    return group;
  }

  private handle(group: Group, holderId: number, holder: Holder, opened: HeldTunnel, whenReleased: Promise<void>): Hold {
    const release = () => this.release(group, holderId);
    return {
      opened,
      whenReleased,
      onDidMove: (listener) => this._onDidMove.event((moved) => moved === group && listener()),
      get at() {
        return group.at;
      },
      get released() {
        return holder.released;
      },
      current: () => (holder.released || this.groups.get(atKey(group.at)) !== group ? undefined : this.current(group)),
      release,
    };
  }

  private current({ at, replacing }: Group): HeldTunnel | undefined {
    if (replacing) return { info: { ...replacing, state: 'connecting', closeReason: undefined } };
    if (at.here !== undefined) {
      const info = this.host.manager.getTunnel(at.here);
      return info && info.state !== 'closed' ? { info } : undefined;
    }
    const served = this.host.peers()?.list().find((t) => t.peer.id === at.peer && t.info.id === at.id);
    return served && { info: served.info, peer: served.peer };
  }

  private async release(group: Group, holderId: number): Promise<void> {
    const holder = group.holders.get(holderId);
    if (!holder) return;
    letGo(holder);
    group.holders.delete(holderId);
    if (group.holders.size > 0) return;
    const key = atKey(group.at);
    if (this.groups.get(key) === group) this.groups.delete(key);
    if (!group.owned || group.at.here === undefined) return;
    const id = group.at.here;
    const info = this.host.manager.getTunnel(id);
    if (!info || info.state === 'closed') return;
    const entryKey = this.host.keyOf(id);
    if (group.settingsKey !== undefined) {
      // Still the entry's tunnel: it stops as it was before its holders came.
      if (entryKey !== group.settingsKey) return;
      this.host.log(`${info.name}: no longer held; stopping it again.`);
      await this.host.stopAgain(entryKey, group.personStopped);
      return;
    }
    // Kept in the settings meanwhile (or otherwise taken over): someone else wants it now.
    if (entryKey === undefined || this.host.entry(entryKey)?.source !== 'extension') return;
    this.host.log(`${info.name}: no longer held; closing it.`);
    await this.host.manager.closeTunnel(id, 'extension').catch(() => undefined);
  }

  // ---- finding or opening --------------------------------------------------------------

  /** A tunnel of the settings: shared when it runs here or at a peer, started (and owned) when stopped. */
  private async forEntry(key: string): Promise<Found> {
    const entry = this.host.entry(key);
    if (!entry) throw new TunnelError('INVALID_SPEC', `No tunnel ${JSON.stringify(key)} in the settings.`);
    const state = entry.state;
    if (state.kind === 'running') return { at: { here: state.tunnelId }, owned: false };
    if (state.kind === 'elsewhere') return { at: { peer: state.served.peer.id, id: state.served.info.id }, owned: false };
    const owned = state.kind !== 'opening';
    const personStopped = owned ? this.host.personStopped(key) : undefined;
    try {
      const info = await this.host.start(key);
      return { at: { here: info.id }, owned, personStopped };
    } catch (err) {
      const now = this.host.entry(key)?.state;
      if (err instanceof TunnelError && err.code === 'SERVED_ELSEWHERE' && now?.kind === 'elsewhere') {
        return { at: { peer: now.served.peer.id, id: now.served.info.id }, owned: false };
      }
      throw err;
    }
  }

  /** A spec: a tunnel here or at a peer that serves it already, or one opened for the holders. */
  private async forSpec(spec: TunnelSpec, signal?: AbortSignal): Promise<Found> {
    const here = this.host.manager.listTunnels(spec.server).find((t) => isUsable(t) && servesSame(spec, t));
    if (here) return { at: { here: here.id }, owned: this.groups.get(atKey({ here: here.id }))?.owned ?? false };
    const peer = this.host.peers()?.list(spec.server).find((t) => isUsable(t.info) && servesSame(spec, t.info));
    if (peer) return peerFound(peer);
    const taken = this.host.manager.listTunnels().find((t) => t.state !== 'closed' && takesLocalPort(spec, t));
    // This process's own tunnel holds the port: say so now rather than wait for a peer to claim it.
    if (taken) throw new TunnelError('PORT_IN_USE', `${makeAddress(taken.localHost, taken.localPort)} is taken by the tunnel ${taken.name} (${taken.type}, through ${taken.server}), which does not lead where this one would.`);
    const opened = await this.host.open(spec, signal);
    return opened.peer ? peerFound(opened.peer) : { at: { here: opened.here.id }, owned: true };
  }

  /** Resolves once the tunnel listens with its server connected (or waits for it again); rejects if it closes first. */
  private whenActive(tunnelId: string, signal?: AbortSignal): Promise<void> {
    const now = this.host.manager.getTunnel(tunnelId);
    if (!now || now.state === 'closed' || now.state === 'failed') return Promise.reject(closedError(now, tunnelId));
    if (now.state !== 'connecting') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: unknown) => {
        sub.dispose();
        signal?.removeEventListener('abort', aborted);
        if (err) reject(err);
        else resolve();
      };
      const aborted = () => done(new TunnelError('CANCELLED', 'Cancelled while the tunnel was opening.'));
      const sub = this.host.manager.onDidChangeTunnel((info) => {
        if (info.id !== tunnelId) return;
        if (info.state === 'closed' || info.state === 'failed') done(closedError(info, tunnelId));
        else if (info.state !== 'connecting') done();
      });
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}

interface Found {
  at: HeldAt;
  owned: boolean;
  personStopped?: string;
}

function peerFound(t: PeerTunnel): Found {
  return { at: { peer: t.peer.id, id: t.info.id }, owned: false };
}

/** Whether a tunnel here listens on the local port a spec fixes (on the same host). */
function takesLocalPort(spec: TunnelSpec, t: TunnelInfo): boolean {
  if (spec.type === 'remote' || !spec.localPort || spec.localPath !== undefined || t.type === 'remote' || t.localPath !== undefined) return false;
  return t.localPort === spec.localPort && t.localHost === (spec.localHost ?? '127.0.0.1');
}

function requireSpec(request: HoldRequest): TunnelSpec {
  if (!request.spec) throw new TunnelError('INVALID_SPEC', 'A hold names a tunnel of the settings (key) or gives a spec.');
  return request.spec;
}

function closedError(info: TunnelInfo | undefined, tunnelId: string): TunnelError {
  return new TunnelError('CLOSED', `${info?.name ?? tunnelId} closed before it was active${info?.lastError ? `: ${info.lastError}` : '.'}`);
}
