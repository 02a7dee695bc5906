// Tunnels a peer serves (another VS Code window, `ssh-tunnels up`, an agent through MCP), as the
// tools show them: an id of the form `<peer id>/<tunnel id>`, and which peer serves it.
import { describePeer, type PeerTunnel } from '../peers';
import { tunnelData, tunnelDetailLine, tunnelLine } from './format';
import type { TunnelData } from './results';

/** The id the tools give a tunnel a peer serves: never one of this process's ids (those have no slash). */
export function peerTunnelId(t: PeerTunnel): string {
  return `${t.peer.id}/${t.info.id}`;
}

/** The peer and its tunnel id, for an id of the form `<peer id>/<tunnel id>`. */
export function parsePeerTunnelId(id: string): { peerId: string; tunnelId: string } | undefined {
  const slash = id.lastIndexOf('/');
  if (slash <= 0 || slash === id.length - 1) return undefined;
  return { peerId: id.slice(0, slash), tunnelId: id.slice(slash + 1) };
}

/** The tunnel as this process's tools name it. */
function renamed(t: PeerTunnel) {
  return { ...t.info, id: peerTunnelId(t) };
}

export function peerTunnelData(t: PeerTunnel): TunnelData {
  return { ...tunnelData(renamed(t)), servedBy: describePeer(t.peer) };
}

export function peerTunnelLine(t: PeerTunnel): string {
  return `${tunnelLine(renamed(t))}, served by ${describePeer(t.peer)}`;
}

export function peerTunnelDetailLine(t: PeerTunnel): string {
  return `${tunnelDetailLine(renamed(t))}; served by ${describePeer(t.peer)} (pid ${t.peer.pid})`;
}
