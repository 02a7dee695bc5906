// What one process knows of its peers, the other processes of the same person that serve tunnels
// (other VS Code windows, `ssh-tunnels up`, `ssh-tunnels mcp`), and of the tunnels they serve.
// Pure Node: no `vscode` import here.
import type { Event, TunnelInfo, TunnelSpec } from '../engine';

/** The kinds of peer: the processes that serve tunnels. */
export type PeerKind = 'window' | 'up' | 'mcp';

export interface PeerIdentity {
  /** Unique for the process's life (pid plus a random part, since pids are reused). */
  id: string;
  pid: number;
  kind: PeerKind;
  /** A window's folder names ("api, web"); undefined for a window with no folder and for the command. */
  folder?: string;
  /** ms since the epoch. */
  startedAt: number;
}

/** A tunnel that a peer serves, as it last reported it. */
export interface PeerTunnel {
  peer: PeerIdentity;
  /** The owner's own snapshot: `info.id` is an id in the owner's process. */
  info: TunnelInfo;
  /** The owner's settings key (an `sshTunnels.tunnels` entry), when it opened the tunnel from settings. */
  settingsKey?: string;
}

/** What the owner of a tunnel does when a peer asks it to (the same as its own person asking). */
export interface OwnerActions {
  close(tunnelId: string): Promise<void>;
  restart(tunnelId: string): Promise<TunnelInfo>;
  /** The settings key a tunnel was opened for, if any (announced with it). */
  settingsKey?(tunnelId: string): string | undefined;
}

/** The tunnels the peers serve, as this process sees them. */
export interface PeerTunnels {
  readonly self: PeerIdentity;
  /** Served by peers, optionally of one server. */
  list(server?: string): PeerTunnel[];
  /** The tunnel a peer serves that listens where `spec` would (same server, type, listen address and fixed port or path). */
  serving(spec: TunnelSpec): PeerTunnel | undefined;
  /**
   * Resolves with the tunnel a peer serves where `spec` would listen, as soon as one is
   * announced, or undefined after `timeoutMs` (a port taken by some other program).
   */
  whenServed(spec: TunnelSpec, timeoutMs: number): Promise<PeerTunnel | undefined>;
  /** Fires when a peer's tunnels change (opened, closed, state; traffic at most once a second). */
  readonly onDidChange: Event<void>;
  /** Fires when a peer ends or shuts down, with the tunnels it served then: the moment to take them over. */
  readonly onDidLose: Event<{ peer: PeerIdentity; tunnels: PeerTunnel[] }>;
  /** Asks the owner to close its tunnel, as its own person would. Rejects with a TunnelError (code PEER_GONE when the owner has ended). */
  close(peerId: string, tunnelId: string): Promise<void>;
  /** Asks the owner to restart its tunnel. */
  restart(peerId: string, tunnelId: string): Promise<TunnelInfo>;
  /** Resolves once the processes running at start have answered (or a short timeout passed). */
  ready(): Promise<void>;
}

/** "window of folder api", "ssh-tunnels up", "an agent through MCP": what "served by …" names. */
export function describePeer(peer: PeerIdentity): string {
  switch (peer.kind) {
    case 'window':
      return peer.folder ? `window of folder ${peer.folder}` : 'a window with no folder';
    case 'up':
      return 'ssh-tunnels up';
    case 'mcp':
      return 'an agent through MCP';
  }
}
