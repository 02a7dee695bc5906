// The one front door for opening a wanted tunnel, whoever wants it: a person, the settings, a
// restore, an agent, `ssh-tunnels up` (and, later, other extensions). A tunnel is opened here
// unless a peer (another process of the same person) serves it already, or wins its port
// meanwhile: then the answer is that peer's tunnel. One wait, one rule of ownership, for all.
import { TunnelError, type TunnelInfo, type TunnelManager, type TunnelSpec } from '../engine';
import type { PeerTunnel, PeerTunnels } from '../peers';
import { ORIGIN, type WantedSource } from './wanted';

/**
 * How long an open that found its port taken waits for a peer to announce the tunnel there. A peer
 * answers at once whether it holds the port; the wait lasts only while one does and is still
 * connecting (an SSH handshake, a question to its person).
 */
export const SERVED_WAIT_MS = 5000;

/**
 * Who serves a tunnel the door was asked for: this process (`here`), or a peer. `busy`: the local
 * port asked for was held (by whom, in its message), and the tunnel listens on the next free one.
 */
export type Opened = { here: TunnelInfo; peer?: undefined; busy?: TunnelError } | { here?: undefined; peer: PeerTunnel };

/** How many ports the door tries past a busy one (requireLocalPort false) before it asks for any free port. */
const NEXT_PORT_TRIES = 5;

export interface OpenOptions {
  signal?: AbortSignal;
  /** A peer that is ending (its tunnels are being taken over): what it still serves does not count. */
  endingPeer?: string;
  /**
   * false: a local port held by another program (not a peer serving the same tunnel) is no
   * failure; the tunnel takes the next free port, and `busy` says why (VS Code's requireLocalPort).
   */
  requireLocalPort?: boolean;
}

/**
 * What opens a wanted tunnel for callers of origin `O`: the FrontDoor, or the catalogue, which
 * also keeps the tunnel as its origin's.
 */
export interface TunnelDoor<O extends WantedSource = WantedSource> {
  open(spec: TunnelSpec, origin: O, options?: OpenOptions): Promise<Opened>;
}

/** A port a peer may hold for the same tunnel: a local one taken, or a fixed server port refused. */
export function mayBeServedByPeer(spec: TunnelSpec, err: unknown): boolean {
  if (!(err instanceof TunnelError)) return false;
  return err.code === 'PORT_IN_USE' || (err.code === 'FORWARD_REFUSED' && spec.type === 'remote' && (!!spec.remotePort || spec.remotePath !== undefined));
}

/** For callers that answer with an error: the tunnel is a peer's, not opened here. */
export function servedByPeerError(served: PeerTunnel): TunnelError {
  return new TunnelError('SERVED_ELSEWHERE', `${served.info.name} is served by another process (pid ${served.peer.pid}).`, { peer: served.peer.id, tunnelId: served.info.id });
}

export class FrontDoor implements TunnelDoor {
  constructor(
    private readonly manager: TunnelManager,
    /** The peers' tunnels; without them every tunnel is opened here. */
    private peers?: PeerTunnels,
  ) {}

  /** The peers, once sharing has started (it may start after the door). */
  usePeers(peers: PeerTunnels): void {
    this.peers = peers;
  }

  async open(spec: TunnelSpec, origin: WantedSource, options: OpenOptions = {}): Promise<Opened> {
    const wanted: TunnelSpec = { ...spec, openedBy: ORIGIN[origin] };
    const peers = this.peers;
    if (peers) {
      // The peers found at start have told their tunnels (a few hundred ms at most).
      await peers.ready();
      const already = notEnding(peers.serving(wanted), options.endingPeer);
      if (already) return { peer: already };
    }
    try {
      return { here: await this.manager.createTunnel(wanted, { signal: options.signal }) };
    } catch (err) {
      // Two processes opening at once: the port decides, and the loser answers with the winner's tunnel.
      const instead = peers && mayBeServedByPeer(wanted, err) ? notEnding(await peers.whenServed(wanted, SERVED_WAIT_MS), options.endingPeer) : undefined;
      if (instead) return { peer: instead };
      if (options.requireLocalPort === false && isBusyLocalPort(wanted, err)) return { here: await this.nextFreePort(wanted, err, options.signal), busy: err };
      throw err;
    }
  }

  /** Opens on the free port the busy one's error suggests (then the next, then any). */
  private async nextFreePort(spec: TunnelSpec, busy: TunnelError, signal?: AbortSignal): Promise<TunnelInfo> {
    let last = busy;
    for (let i = 0; i <= NEXT_PORT_TRIES; i++) {
      const suggestion = last.details.suggestion;
      const localPort = i < NEXT_PORT_TRIES && typeof suggestion === 'number' ? suggestion : 0;
      try {
        return await this.manager.createTunnel({ ...spec, localPort }, { signal });
      } catch (err) {
        if (!isBusyLocalPort(spec, err)) throw err;
        last = err;
      }
    }
    throw last;
  }
}

function isBusyLocalPort(spec: TunnelSpec, err: unknown): err is TunnelError {
  return err instanceof TunnelError && err.code === 'PORT_IN_USE' && spec.type !== 'remote' && spec.localPath === undefined;
}

function notEnding(served: PeerTunnel | undefined, endingPeer: string | undefined): PeerTunnel | undefined {
  return served && served.peer.id !== endingPeer ? served : undefined;
}
