// What this process knows of the others: who is connected, over which link, and the tunnels each
// serves, kept up to date from their hello, tunnel and bye messages.
import { listensWhere, plural, type TunnelSpec } from '../engine';
import type { Link } from './link';
import type { WireTunnel } from './protocol';
import { describePeer, type PeerIdentity, type PeerTunnel } from './types';

/** What this process knows of another. */
export interface Known {
  peer: PeerIdentity;
  /** The connection used to talk to it; others to the same process are duplicates on their way out. */
  link: Link;
  tunnels: Map<string, PeerTunnel>;
  /** Closed by its shutdown: handed to onDidLose with the rest when its `bye` comes. */
  shutdownClosed: PeerTunnel[];
  /** Its entry's name in the folder, to remove once it has died. */
  socket?: string;
}

export interface RegistryHooks {
  log(message: string): void;
  /** The others or their tunnels changed. */
  changed(): void;
  /** A process is gone (already out of the registry), with the tunnels it served. */
  lost(peer: PeerIdentity, tunnels: PeerTunnel[]): void;
}

export function who(peer: PeerIdentity): string {
  return `${describePeer(peer)} (pid ${peer.pid})`;
}

export class Registry {
  private readonly known = new Map<string, Known>();

  constructor(
    private readonly selfId: string,
    /** The entries of processes in the runtime folder (group 1: the pid). */
    private readonly entryName: RegExp,
    private readonly hooks: RegistryHooks,
  ) {}

  get(peerId: string): Known | undefined {
    return this.known.get(peerId);
  }

  ids(): string[] {
    return [...this.known.keys()];
  }

  peers(): PeerIdentity[] {
    return [...this.known.values()].map((k) => k.peer);
  }

  list(server?: string): PeerTunnel[] {
    const out: PeerTunnel[] = [];
    for (const k of this.known.values()) for (const t of k.tunnels.values()) if (server === undefined || t.info.server === server) out.push(t);
    return out;
  }

  serving(spec: TunnelSpec): PeerTunnel | undefined {
    return this.list(spec.server).find((t) => listensWhere(spec, t.info));
  }

  hello(link: Link, peer: PeerIdentity, tunnels: WireTunnel[], socket: string | undefined): void {
    if (link.peer) return; // one hello a link
    if (peer.id === this.selfId) {
      link.dropped = true;
      link.socket.destroy();
      return;
    }
    link.peer = peer;
    const existing = this.known.get(peer.id);
    if (existing && existing.link !== link && existing.link.open && !existing.link.dropped) {
      // Both connected at once: both sides keep the connection the lower id opened.
      const keepOutgoing = this.selfId < peer.id;
      const [keep, drop] = link.outgoing === keepOutgoing && existing.link.outgoing !== keepOutgoing ? [link, existing.link] : [existing.link, link];
      drop.dropped = true;
      void drop.finish({ t: 'dup' });
      this.hooks.log(`${who(peer)} and this process connected to each other at once: one connection kept.`);
      existing.link = keep;
      if (keep === link) this.replaceTunnels(existing, tunnels);
      link.onHello?.();
      return;
    }
    const known: Known = existing ?? { peer, link, tunnels: new Map(), shutdownClosed: [] };
    known.link = link;
    // Only a name of the folder's own form: it is removed later, and must not lead elsewhere.
    if (socket !== undefined && this.entryName.exec(socket)?.[1] === String(peer.pid)) known.socket = socket;
    this.known.set(peer.id, known);
    this.replaceTunnels(known, tunnels);
    if (!existing) this.hooks.log(`Connected to ${who(peer)}${tunnels.length ? `, serving ${plural(tunnels.length, 'tunnel')}` : ''}.`);
    link.onHello?.();
    this.hooks.changed();
  }

  tunnel(link: Link, t: WireTunnel): void {
    const known = link.peer && this.known.get(link.peer.id);
    // Only from the link in use: a duplicate on its way out repeats what the kept one says.
    if (!known || known.link !== link) return;
    this.update(known, t);
    this.hooks.changed();
  }

  bye(link: Link): void {
    const known = link.peer && this.known.get(link.peer.id);
    link.dropped = true;
    if (!known) return;
    this.lose(known, `${who(known.peer)} shut down`);
  }

  /** A link closed without a bye: its process ended (a crash, kill -9, a closed window's host killed). Returns what was known of it. */
  ended(link: Link): Known | undefined {
    const known = link.peer && this.known.get(link.peer.id);
    if (!known || known.link !== link) return undefined;
    this.lose(known, `${who(known.peer)} ended`);
    return known;
  }

  /** Whether `known` is still what this registry holds for its process over `link` (not replaced meanwhile). */
  holds(link: Link): boolean {
    const known = link.peer && this.known.get(link.peer.id);
    return !!known && known.link === link;
  }

  clear(): void {
    this.known.clear();
  }

  private replaceTunnels(known: Known, tunnels: WireTunnel[]): void {
    known.tunnels.clear();
    for (const t of tunnels) this.update(known, t);
  }

  private update(known: Known, t: WireTunnel): void {
    const served: PeerTunnel = { peer: known.peer, info: t.info, ...(t.settingsKey !== undefined ? { settingsKey: t.settingsKey } : {}) };
    if (t.info.state === 'closed') {
      known.tunnels.delete(t.info.id);
      if (t.info.closeReason === 'shutdown') known.shutdownClosed.push(served);
    } else known.tunnels.set(t.info.id, served);
  }

  private lose(known: Known, why: string): void {
    this.known.delete(known.peer.id);
    const tunnels = [...known.shutdownClosed, ...known.tunnels.values()];
    this.hooks.log(`${why}${tunnels.length ? `; it served ${plural(tunnels.length, 'tunnel')}` : ''}.`);
    this.hooks.lost(known.peer, tunnels);
  }
}
