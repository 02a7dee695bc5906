// Tunnels another process serves (another VS Code window, `ssh-tunnels up`, an agent through
// MCP), as the tools show them: an id of the form `<process id>/<tunnel id>`, and who serves it.
import { describePeer, type ServedTunnel } from '../peers/types';
import { tunnelData, tunnelDetailLine, tunnelLine } from './format';
import type { TunnelData } from './results';

/** The id the tools give a tunnel served elsewhere: never one of this process's ids (those have no slash). */
export function elsewhereId(t: ServedTunnel): string {
  return `${t.peer.id}/${t.info.id}`;
}

/** The owner and its tunnel id, for an id of the form `<process id>/<tunnel id>`. */
export function parseElsewhereId(id: string): { peerId: string; tunnelId: string } | undefined {
  const slash = id.lastIndexOf('/');
  if (slash <= 0 || slash === id.length - 1) return undefined;
  return { peerId: id.slice(0, slash), tunnelId: id.slice(slash + 1) };
}

/** The tunnel as this process's tools name it. */
function renamed(t: ServedTunnel) {
  return { ...t.info, id: elsewhereId(t) };
}

export function servedData(t: ServedTunnel): TunnelData {
  return { ...tunnelData(renamed(t)), servedBy: describePeer(t.peer) };
}

export function servedLine(t: ServedTunnel): string {
  return `${tunnelLine(renamed(t))}, served by ${describePeer(t.peer)}`;
}

export function servedDetailLine(t: ServedTunnel): string {
  return `${tunnelDetailLine(renamed(t))}; served by ${describePeer(t.peer)} (pid ${t.peer.pid})`;
}
