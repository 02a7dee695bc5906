import { Emitter, listensWhere, type TunnelInfo, type TunnelSpec } from '../../src/engine';
import type { PeerIdentity, PeerTunnel, PeerTunnels } from '../../src/peers/types';

/**
 * Other processes' tunnels as the test says they are: what a real peers layer would announce.
 * It serves nothing itself (a test holds the port with its own listener when it matters).
 */
export class ScriptedElsewhere implements PeerTunnels {
  readonly self: PeerIdentity = { id: 'self-1', pid: process.pid, kind: 'window', folder: 'here', startedAt: Date.now() };
  private served: PeerTunnel[] = [];
  private readonly changed = new Emitter<void>();
  private readonly lost = new Emitter<{ peer: PeerIdentity; tunnels: PeerTunnel[] }>();
  readonly onDidChange = this.changed.event;
  readonly onDidLose = this.lost.event;
  /** Requests made of owners, in order. */
  readonly asked: { action: 'close' | 'restart'; peerId: string; tunnelId: string }[] = [];

  static peer(id: string, kind: PeerIdentity['kind'] = 'window', folder?: string): PeerIdentity {
    return { id, pid: 40_000 + id.length, kind, folder, startedAt: Date.now() };
  }

  list(server?: string): PeerTunnel[] {
    return this.served.filter((t) => server === undefined || t.info.server === server);
  }

  serving(spec: TunnelSpec): PeerTunnel | undefined {
    return this.served.find((t) => listensWhere(spec, t.info));
  }

  whenServed(spec: TunnelSpec, timeoutMs: number): Promise<PeerTunnel | undefined> {
    const now = this.serving(spec);
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        listener.dispose();
        resolve(undefined);
      }, timeoutMs);
      const listener = this.onDidChange(() => {
        const found = this.serving(spec);
        if (!found) return;
        clearTimeout(timer);
        listener.dispose();
        resolve(found);
      });
    });
  }

  async close(peerId: string, tunnelId: string): Promise<void> {
    this.asked.push({ action: 'close', peerId, tunnelId });
  }

  async restart(peerId: string, tunnelId: string): Promise<TunnelInfo> {
    this.asked.push({ action: 'restart', peerId, tunnelId });
    const t = this.served.find((s) => s.peer.id === peerId && s.info.id === tunnelId);
    if (!t) throw new Error('no such tunnel');
    return t.info;
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  /** Another process announces a tunnel listening where `spec` says. */
  serve(peer: PeerIdentity, spec: TunnelSpec & { localPort: number }, id = `t${this.served.length + 1}`): PeerTunnel {
    const info: TunnelInfo = {
      id, name: spec.name ?? `L ${spec.localPort}`, nameGiven: spec.name !== undefined, server: spec.server, type: spec.type, state: 'active',
      localHost: spec.localHost ?? '127.0.0.1', localPort: spec.localPort, remoteHost: spec.remoteHost, remotePort: spec.remotePort,
      stats: { bytesIn: 0, bytesOut: 0, connectionsTotal: 0, connectionsActive: 0, connectionsWaiting: 0, errors: 0 },
      createdAt: Date.now(), lastActivity: Date.now(), openedBy: 'settings',
    };
    const served = { peer, info };
    this.served.push(served);
    this.changed.fire();
    return served;
  }

  /** The owner closes one of its tunnels (its person asked): the process lives on. */
  unserve(peerId: string, tunnelId: string): void {
    this.served = this.served.filter((t) => !(t.peer.id === peerId && t.info.id === tunnelId));
    this.changed.fire();
  }

  /** A process ends: its tunnels go, and the others hear of it. */
  lose(peer: PeerIdentity): void {
    const tunnels = this.served.filter((t) => t.peer.id === peer.id);
    this.served = this.served.filter((t) => t.peer.id !== peer.id);
    this.lost.fire({ peer, tunnels });
    this.changed.fire();
  }
}
