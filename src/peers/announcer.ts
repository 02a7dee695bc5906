// What this process tells the others of its own tunnels: every change of state, address or name
// at once; traffic (bytes, connection counts) at most once a second, and nothing while idle.
import type { Disposable, TunnelInfo } from '../engine';
import type { WireTunnel } from './protocol';
import type { OwnerActions } from './types';

/** What the announcer reads of the engine (a TunnelManager). */
export interface AnnouncedManager {
  listTunnels(): TunnelInfo[];
  getTunnel(id: string): TunnelInfo | undefined;
  onDidChangeTunnel(listener: (info: TunnelInfo) => void): Disposable;
}

export const TRAFFIC_INTERVAL_MS = 1000;

/**
 * Everything but the traffic (stats, lastActivity): a change in it is told at once. Built on
 * every change event of a tunnel (one per connection), so a joined string, not serialization.
 */
function shape(i: TunnelInfo): string {
  return [i.name, i.nameGiven, i.server, i.type, i.state, i.localHost, i.localPort, i.remoteHost, i.remotePort,
    i.localPath, i.remotePath, i.socks, i.createdAt, i.lastError, i.openedBy, i.closeReason].join('\u0000');
}

function traffic(info: TunnelInfo): string {
  const s = info.stats;
  return `${s.bytesIn},${s.bytesOut},${s.connectionsTotal},${s.connectionsActive},${s.connectionsWaiting},${s.errors}`;
}

/**
 * A tunnel still `connecting` is not announced: until its start resolves it may not hold its
 * port yet (and may fail for a port another process holds), so no one must count on it.
 */
function announceable(info: TunnelInfo): boolean {
  return info.state !== 'connecting';
}

export class Announcer {
  /** The last shape and traffic sent of each announced tunnel. */
  private readonly sent = new Map<string, { shape: string; traffic: string }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly subscription: Disposable;
  /** Set while the process shuts down: a close without a reason is then one of the shutdown. */
  shuttingDown = false;

  constructor(
    private readonly manager: AnnouncedManager,
    private readonly actions: OwnerActions,
    /** Sends one tunnel to every connected process. */
    private readonly broadcast: (tunnel: WireTunnel) => void,
    /** Whether any process listens: with none, nothing is computed. */
    private readonly listened: () => boolean,
  ) {
    this.subscription = manager.onDidChangeTunnel((info) => this.changed(info));
  }

  private wire(info: TunnelInfo): WireTunnel {
    const settingsKey = this.actions.settingsKey?.(info.id);
    return settingsKey === undefined ? { info } : { info, settingsKey };
  }

  /** The tunnels to put in a hello, now; they count as sent. */
  snapshot(): WireTunnel[] {
    const out: WireTunnel[] = [];
    for (const info of this.manager.listTunnels()) {
      if (!announceable(info) || info.state === 'closed') continue;
      // Traffic already sent to the others stays as it was: their next tick still tells them.
      if (!this.sent.has(info.id)) this.sent.set(info.id, { shape: shape(info), traffic: traffic(info) });
      out.push(this.wire(info));
    }
    this.watchTraffic();
    return out;
  }

  private changed(info: TunnelInfo): void {
    const last = this.sent.get(info.id);
    if (info.state === 'closed') {
      if (!last) return; // never announced: a start that failed
      this.sent.delete(info.id);
      this.broadcast(this.wire(this.shuttingDown && info.closeReason === undefined ? { ...info, closeReason: 'shutdown' } : info));
      return;
    }
    if (!announceable(info)) return;
    const now = shape(info);
    if (last && last.shape === now) {
      this.watchTraffic();
      return;
    }
    this.sent.set(info.id, { shape: now, traffic: traffic(info) });
    this.broadcast(this.wire(info));
    this.watchTraffic();
  }

  /**
   * Bytes move without events: while a tunnel has connections (or its counts changed) and
   * someone listens, its numbers are read once a second and sent if they moved.
   */
  private watchTraffic(): void {
    if (this.timer || !this.listened() || this.sent.size === 0) return;
    this.timer = setInterval(() => this.tick(), TRAFFIC_INTERVAL_MS);
    this.timer.unref();
  }

  private tick(): void {
    let busy = false;
    for (const [id, last] of this.sent) {
      const info = this.manager.getTunnel(id);
      if (!info) continue; // its close event comes
      const now = traffic(info);
      if (now !== last.traffic) {
        last.traffic = now;
        this.broadcast(this.wire(info));
        busy = true;
      }
      if (info.stats.connectionsActive > 0) busy = true;
    }
    if (!busy || !this.listened()) this.stopTraffic();
  }

  private stopTraffic(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.stopTraffic();
    this.subscription.dispose();
  }
}
