// One catalogue of the tunnels this process wants, whoever asked for them (the settings, the ssh
// config's forwards, a restored session, a person, an agent), and each one's state: stopped (and
// why), opening, running (its tunnel id), failed, or served by a peer (another process of the same
// person). It decides with the peers who serves a tunnel; pure Node (no `vscode`), so the extension
// and its tests use the same one. Reading settings stays the feeders' job.
import { type CloseReason, DisposableStore, Emitter, errorMessage, localEnd, TunnelError, type TunnelInfo, type TunnelManager, type TunnelSpec } from '../engine';
import type { OwnerActions, PeerIdentity, PeerTunnel, PeerTunnels } from '../peers';
import { followPeers, toTakeOver } from './followPeers';
import { FrontDoor, servedByPeerError, type Opened, type OpenOptions, type TunnelDoor } from './frontDoor';
import { Holds, type Hold, type HoldRequest } from './holds';
import { managerActions, specOf } from './ownerActions';
import { applyWanted } from './settingsDiff';
import { entryOf, isLive, Slots, type Slot } from './slots';
import { isOnceKey, isOnceSource, ORIGIN, TUNNEL_KEY_PREFIX, type CatalogueEntry, type MovedPort, type OnceSource, type OpenFailure, type WantedSource, type WantedState, type WantedTunnel } from './wanted';

export interface CatalogueOptions {
  manager: TunnelManager;
  /** The tunnels the peers serve; without them every wanted tunnel is opened here. */
  peers?: PeerTunnels;
  log?: (message: string) => void;
}

export class TunnelCatalogue implements TunnelDoor<OnceSource> {
  private readonly slots = new Slots();
  private readonly manager: TunnelManager;
  private readonly log: (message: string) => void;
  private peerTunnels: PeerTunnels | undefined;
  /** Every open goes through it: one wait, one rule of who serves a tunnel. */
  private readonly door: FrontDoor;
  /** Tunnels lent to holders (extensions, tasks): shared, and closed when the last lets go. */
  private readonly holds: Holds;
  private queue: Promise<void> = Promise.resolve();
  private readonly disposables = new DisposableStore();
  private readonly _onDidChange = new Emitter<void>();
  /** Fires when an entry of the settings or the ssh config appears, goes, or changes state. */
  readonly onDidChange = this._onDidChange.event;
  private readonly _onDidMovePort = new Emitter<MovedPort>();
  /** Fires when an entry whose local port was busy opened on the next free one (requireLocalPort false). */
  readonly onDidMovePort = this._onDidMovePort.event;
  private readonly _onDidFailOpen = new Emitter<OpenFailure>();
  /** Fires when an entry could not be opened and no peer serves it. */
  readonly onDidFailOpen = this._onDidFailOpen.event;

  constructor(options: CatalogueOptions) {
    this.manager = options.manager;
    this.door = new FrontDoor(options.manager);
    this.log = options.log ?? (() => undefined);
    this.disposables.add(this._onDidChange);
    this.disposables.add(this._onDidFailOpen);
    this.disposables.add(this._onDidMovePort);
    this.holds = new Holds({
      manager: this.manager,
      peers: () => this.peerTunnels,
      open: (spec, signal) => this.open(spec, 'extension', { signal }),
      entry: (key) => this.get(key),
      start: (key) => this.start(key),
      stopAgain: async (key, personStopped) => {
        await this.stop(key, 'extension');
        const slot = this.slots.get(key);
        if (slot) slot.stoppedAs = personStopped;
      },
      personStopped: (key) => this.slots.get(key)?.stoppedAs,
      keyOf: (tunnelId) => this.keyOf(tunnelId),
      log: this.log,
    });
    this.disposables.add(this.manager.onDidChangeTunnel((info) => this.onTunnel(info)));
    if (options.peers) this.setPeers(options.peers);
  }

  /** The peers' tunnels, once known (sharing may start after the catalogue). */
  get peers(): PeerTunnels | undefined {
    return this.peerTunnels;
  }

  setPeers(peers: PeerTunnels): void {
    this.peerTunnels = peers;
    this.door.usePeers(peers);
    this.disposables.add(peers.onDidChange(() => this.followPeers()));
    this.disposables.add(peers.onDidLose(({ peer, tunnels }) => this.takeOver(peer, tunnels)));
  }

  // ---- reading ------------------------------------------------------------------------

  entries(filter: { source?: WantedSource; server?: string } = {}): CatalogueEntry[] {
    const out: CatalogueEntry[] = [];
    for (const slot of this.slots.values()) {
      if (filter.source !== undefined && slot.wanted.source !== filter.source) continue;
      if (filter.server !== undefined && slot.wanted.spec.server !== filter.server) continue;
      out.push(entryOf(slot));
    }
    return out;
  }

  get(key: string): CatalogueEntry | undefined {
    const slot = this.slots.get(key);
    return slot && entryOf(slot);
  }

  /** The key of the entry whose running tunnel this is. */
  keyOf(tunnelId: string): string | undefined {
    return this.slots.keyOf(tunnelId);
  }

  // ---- the front door for a tunnel wanted once ----------------------------------------

  /**
   * Opens a tunnel wanted once (a person's, an agent's, a restored one; later another extension's)
   * through the front door: here unless a peer serves it. One opened here is kept as its origin's
   * while it runs.
   */
  async open(spec: TunnelSpec, origin: OnceSource, options: OpenOptions = {}): Promise<Opened> {
    const opened = await this.door.open(spec, origin, options);
    if (opened.here) this.enterOnce(opened.here.id, origin);
    return opened;
  }

  // ---- tunnels lent to holders ----------------------------------------------------------

  /**
   * Holds a tunnel for someone other than the person (an extension, a task): a tunnel of the
   * settings by key, or a spec. One that already serves it (here, or at a peer) is shared; one
   * opened for its holders is kept as an extension's, and closes (a settings entry: stops again)
   * once the last holder lets go, unless someone else wants it by then.
   */
  hold(request: HoldRequest): Promise<Hold> {
    return this.holds.hold(request);
  }

  /** Who holds a tunnel of this process, in words (`extension pub.name`, `task "db"`). */
  holders(tunnelId: string): string[] {
    return this.holds.holders(tunnelId);
  }

  /** Lets go of everything `by` holds; resolves with how many holds that was. */
  releaseAll(by: string): Promise<number> {
    return this.holds.releaseAll(by);
  }

  /** Enters a running tunnel as one wanted once by `source`, on the ports it has bound. */
  private enterOnce(tunnelId: string, source: OnceSource): void {
    // Closed already (between its start and now): nothing to keep.
    const info = this.manager.getTunnel(tunnelId);
    if (!info) return;
    const key = `${TUNNEL_KEY_PREFIX}${info.id}`;
    this.slots.set({ wanted: { key, source, spec: specOf(info), fingerprint: '', autoStart: false }, state: { kind: 'running', tunnelId: info.id } });
    this.slots.bind(info.id, key);
  }

  // ---- the engine's tunnels -----------------------------------------------------------

  /** A tunnel of an entry closed: a tunnel wanted once leaves; an entry of the settings or the ssh config stops. */
  private onTunnel(info: TunnelInfo): void {
    if (info.state !== 'closed') return;
    this.holds.closed(info);
    const key = this.slots.keyOf(info.id);
    if (key === undefined) return;
    this.slots.unbind(info.id);
    const slot = this.slots.get(key);
    if (!slot || slot.state.kind !== 'running' || slot.state.tunnelId !== info.id) return;
    if (isOnceKey(key)) {
      this.slots.delete(key);
      return;
    }
    // A person's or an agent's close keeps a wanted tunnel stopped; a shutdown or an edit does not.
    if (info.closeReason === 'person' || info.closeReason === 'agent') slot.stoppedAs = slot.wanted.fingerprint;
    this.setState(slot, { kind: 'stopped', reason: info.closeReason });
  }

  private setState(slot: Slot, state: WantedState): void {
    slot.state = state;
    if (!isOnceKey(slot.wanted.key)) this._onDidChange.fire();
  }

  // ---- the feeders ----------------------------------------------------------------------

  /**
   * The entries of one source as they are wanted now (the settings after an edit): a running one
   * that changed restarts, one that went is closed (`settings`), a new autoStart one opens, and
   * one a person stopped opens again only once its definition changes. Serialized, in order.
   */
  setWanted(source: 'settings', wanted: readonly WantedTunnel[]): Promise<void> {
    const next = this.queue.then(() => this.setWantedNow(source, wanted));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async setWantedNow(source: WantedSource, list: readonly WantedTunnel[]): Promise<void> {
    const { closes, opens } = applyWanted(this.slots, source, list);
    const work = closes.map(({ slot, reopen }) => {
      const { key } = slot.wanted;
      const name = slot.wanted.spec.name ?? key;
      if (!reopen) return this.closeSlot(slot, 'settings').then(() => this.log(`Settings: ${key} was removed; closed it.`));
      return this.closeSlot(slot, 'settings').then(() => {
        this.log(`Settings: ${name} changed; restarting it.`);
        return this.openEntry(slot).catch(() => undefined);
      });
    });
    for (const slot of opens) work.push(this.openEntry(slot).catch(() => undefined));
    this._onDidChange.fire();
    await Promise.all(work);
  }

  /** Enters an ssh config forward (shown stopped until started), keyed by where it listens. */
  private configSlot(key: string, spec: TunnelSpec): Slot {
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { wanted: { key, source: 'sshConfig', spec, fingerprint: JSON.stringify(spec), autoStart: false }, state: { kind: 'stopped' } };
      this.slots.set(slot);
    }
    return slot;
  }

  /** Starts a forward of the ssh config: its entry's tunnel is the one opened here. */
  startForward(key: string, spec: TunnelSpec): Promise<TunnelInfo> {
    const slot = this.configSlot(key, spec);
    slot.wanted = { ...slot.wanted, spec };
    return this.start(key);
  }

  /** Whether the entry of `key` has its tunnel running (or opening) here. */
  isRunning(key: string): boolean {
    const slot = this.slots.get(key);
    return !!slot && isLive(slot);
  }

  // ---- a person's actions -------------------------------------------------------------

  /** Starts an entry now (the tree's Start): what a person stopped opens again. */
  async start(key: string): Promise<TunnelInfo> {
    const slot = this.slots.get(key);
    if (!slot) throw new TunnelError('INVALID_SPEC', `No wanted tunnel ${JSON.stringify(key)}.`);
    if (slot.pending) return slot.pending;
    if (slot.state.kind === 'running') {
      const info = this.manager.getTunnel(slot.state.tunnelId);
      if (info) return info;
    }
    return this.openEntry(slot);
  }

  /** Stops an entry; a person's (or an agent's) stop keeps it stopped until its definition changes. */
  async stop(key: string, reason: CloseReason = 'person'): Promise<void> {
    const slot = this.slots.get(key);
    if (!slot) return;
    if (reason === 'person' || reason === 'agent') slot.stoppedAs = slot.wanted.fingerprint;
    const live = isLive(slot);
    await this.closeSlot(slot, reason);
    if (isOnceKey(key)) this.slots.delete(key);
    else if (live) this.setState(slot, { kind: 'stopped', reason });
  }

  /**
   * Restarts a tunnel of this process (the tree's Restart, or a peer asking): an entry's tunnel
   * reopens from its definition; one opened once reopens on the ports it really had, still its
   * origin's.
   */
  async restart(tunnelId: string): Promise<TunnelInfo> {
    let now: TunnelInfo | undefined;
    try {
      now = await this.restartNow(tunnelId);
      return now;
    } finally {
      // Whoever held the old tunnel holds the new one.
      this.holds.moved(tunnelId, now);
    }
  }

  private async restartNow(tunnelId: string): Promise<TunnelInfo> {
    const key = this.slots.keyOf(tunnelId);
    const slot = key === undefined ? undefined : this.slots.get(key);
    if (slot && !isOnceKey(slot.wanted.key) && this.manager.getTunnel(tunnelId)) {
      await this.closeSlot(slot, 'replaced');
      slot.stoppedAs = undefined;
      return this.openEntry(slot);
    }
    const source = slot?.wanted.source;
    // Not opened through the catalogue: reopened as a process without one does it.
    if (!isOnceSource(source)) return managerActions(this.manager, { door: this.door }).restart(tunnelId);
    const info = this.manager.getTunnel(tunnelId);
    if (!info) throw new TunnelError('INVALID_SPEC', `No open tunnel has id ${JSON.stringify(tunnelId)}.`);
    await this.manager.closeTunnel(tunnelId, 'replaced');
    const opened = await this.open(specOf(info), source);
    if (opened.peer) throw servedByPeerError(opened.peer);
    return opened.here;
  }

  /**
   * Takes an open tunnel as the one of a settings entry about to be written, so the edit that
   * follows finds it running and leaves it as it is.
   */
  adopt(wanted: WantedTunnel, tunnelId: string): void {
    const previous = this.slots.keyOf(tunnelId);
    if (previous !== undefined && isOnceKey(previous)) this.slots.delete(previous);
    this.slots.set({ wanted, state: { kind: 'running', tunnelId } });
    this.slots.bind(tunnelId, wanted.key);
    this.manager.adoptTunnel(tunnelId, ORIGIN[wanted.source]);
    this._onDidChange.fire();
  }

  /** Undoes adopt() when the settings could not be written: the tunnel is the person's again. */
  unadopt(key: string, tunnelId: string): void {
    const slot = this.slots.get(key);
    if (slot?.state.kind === 'running' && slot.state.tunnelId === tunnelId) {
      this.slots.delete(key);
      this.slots.unbind(tunnelId);
    }
    if (this.manager.getTunnel(tunnelId)) {
      this.manager.adoptTunnel(tunnelId, 'person');
      this.enterOnce(tunnelId, 'person');
    }
    this._onDidChange.fire();
  }

  // ---- opening and closing ------------------------------------------------------------

  private async closeSlot(slot: Slot, reason: CloseReason): Promise<void> {
    const pendingId = slot.pending ? await slot.pending.then((i) => i.id, () => undefined) : undefined;
    const id = slot.state.kind === 'running' ? slot.state.tunnelId : pendingId;
    if (id === undefined) return;
    this.slots.unbind(id);
    if (this.manager.getTunnel(id)) await this.manager.closeTunnel(id, reason).catch(() => undefined);
  }

  /**
   * Opens an entry through the front door: here, unless a peer serves it (or wins its port
   * meanwhile), and then it is shown served there.
   */
  private openEntry(slot: Slot, endingPeer?: string): Promise<TunnelInfo> {
    const { wanted } = slot;
    const label = wanted.spec.name ?? wanted.key;
    let busy: TunnelError | undefined;
    const run = this.door.open(wanted.spec, wanted.source, { endingPeer, requireLocalPort: wanted.requireLocalPort }).then((opened) => {
      if (opened.peer) throw this.servedByPeer(slot, opened.peer);
      busy = opened.busy;
      return opened.here;
    });
    slot.pending = run;
    slot.stoppedAs = undefined;
    this.setState(slot, { kind: 'opening' });
    return run.then(
      (info) => {
        if (slot.pending === run) slot.pending = undefined;
        if (this.slots.get(wanted.key) !== slot || slot.state.kind !== 'opening') {
          // Removed, changed or stopped while it was opening.
          void this.manager.closeTunnel(info.id, 'settings').catch(() => undefined);
          return info;
        }
        this.slots.bind(info.id, wanted.key);
        this.log(`${sourceWord(wanted.source)}: opened ${label} (${localEnd(info)})${busy ? `: ${busy.message.replace(/ Port \d+ is free\.$/, '')} It listens on ${info.localPort} instead` : ''}.`);
        this.setState(slot, { kind: 'running', tunnelId: info.id });
        if (busy) this._onDidMovePort.fire({ entry: entryOf(slot), info, busy });
        return info;
      },
      (err: unknown) => {
        if (slot.pending === run) slot.pending = undefined;
        if (err instanceof TunnelError && err.code === 'SERVED_ELSEWHERE') throw err;
        const message = errorMessage(err);
        if (this.slots.get(wanted.key) === slot && slot.state.kind === 'opening') {
          this.setState(slot, { kind: 'failed', code: err instanceof TunnelError ? err.code : undefined, message });
        }
        this.log(`${sourceWord(wanted.source)}: could not open ${label}: ${message}`);
        this._onDidFailOpen.fire({ entry: entryOf(slot), error: err });
        throw err;
      },
    );
  }

  /** Marks the entry served by a peer; the error says so to whoever asked. */
  private servedByPeer(slot: Slot, served: PeerTunnel): TunnelError {
    this.setState(slot, { kind: 'elsewhere', served });
    this.log(`${slot.wanted.spec.name ?? slot.wanted.key}: served by another process (${served.peer.kind} ${served.peer.pid}).`);
    return servedByPeerError(served);
  }

  // ---- the peers ----------------------------------------------------------------------

  /** The peers' tunnels changed: entries served there follow (gone: stopped here; newly served: shown there). */
  private followPeers(): void {
    if (this.peerTunnels && followPeers(this.slots.values(), this.peerTunnels)) this._onDidChange.fire();
  }

  /** A peer ended: the autoStart settings tunnels it served that this process wants are opened here (the port picks one winner). */
  private takeOver(peer: PeerIdentity, lost: readonly PeerTunnel[]): void {
    for (const slot of toTakeOver(this.slots.values(), lost)) {
      this.log(`${slot.wanted.spec.name ?? slot.wanted.key}: its owner (${peer.kind} ${peer.pid}) has ended; taking it over.`);
      this.openEntry(slot, peer.id).catch(() => undefined);
    }
  }

  /** What this process does when a peer asks about one of its tunnels: the same as its own person. */
  ownerActions(): OwnerActions {
    return {
      ...managerActions(this.manager, {
        settingsKey: (tunnelId) => {
          const key = this.slots.keyOf(tunnelId);
          return key !== undefined && this.slots.get(key)?.wanted.source === 'settings' ? key : undefined;
        },
      }),
      restart: (tunnelId) => this.restart(tunnelId),
    };
  }

  dispose(): void {
    this.holds.dispose();
    this.disposables.dispose();
  }
}

function sourceWord(source: WantedSource): string {
  return source === 'settings' ? 'Settings' : source === 'sshConfig' ? 'ssh config' : source === 'restore' ? 'Restore' : 'Tunnel';
}
