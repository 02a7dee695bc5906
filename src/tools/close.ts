// ssh_tunnel_close: one tunnel (here, or at a peer, which is asked to close it) or every tunnel of
// a server; says what was closed and how many live connections were cut.
import { errorMessage, plural, type TunnelInfo } from '../engine';
import { describePeer, type PeerTunnel } from '../peers';
import { originWords, tunnelLine } from './format';
import { checkServerFilter, openIds, openIdsText, peerTunnelsOf, type ToolHost, type ToolResult } from './host';
import { parseClose, ToolError } from './input';
import { parsePeerTunnelId, peerTunnelId, peerTunnelLine } from './peerTunnels';

/** What a close input names: one tunnel (here or at a peer), a server's tunnels, or nothing that is open. */
interface CloseTargets {
  tunnels: TunnelInfo[];
  atPeer?: PeerTunnel;
  server?: string;
  missingId?: string;
}

function closeTargets(host: ToolHost, input: unknown): CloseTargets {
  const { tunnelId, server } = parseClose(input);
  const manager = host.manager;
  const other = tunnelId === undefined ? undefined : parsePeerTunnelId(tunnelId);
  if (tunnelId !== undefined && other) {
    const served = peerTunnelsOf(host).find((t) => t.peer.id === other.peerId && t.info.id === other.tunnelId);
    if (!served) return { tunnels: [], missingId: tunnelId };
    if (server !== undefined && served.info.server !== server) {
      throw new ToolError(`Tunnel ${tunnelId} belongs to ${served.info.server}, not ${server}. Give only tunnelId to close it.`);
    }
    return { tunnels: [], atPeer: served };
  }
  if (tunnelId !== undefined) {
    const tunnel = manager.getTunnel(tunnelId);
    if (!tunnel) return { tunnels: [], missingId: tunnelId };
    if (server !== undefined && tunnel.server !== server) {
      throw new ToolError(`Tunnel ${tunnelId} belongs to ${tunnel.server}, not ${server}. Give only tunnelId to close it, or only server to close all of ${server}'s tunnels.`);
    }
    return { tunnels: [tunnel] };
  }
  if (server === undefined) {
    throw new ToolError(`ssh_tunnel_close needs tunnelId (one tunnel) or server (all of a server's tunnels), e.g. { "tunnelId": "t1" }. ${openIdsText(manager.listTunnels(), peerTunnelsOf(host))}`);
  }
  checkServerFilter(host, server);
  return { tunnels: manager.listTunnels(server), server };
}

/** What will be closed, in plain words; undefined when nothing would change. */
export function closeConfirmation(host: ToolHost, input: unknown): { title: string; message: string } | undefined {
  const targets = closeTargets(host, input);
  if (targets.atPeer) {
    const t = targets.atPeer;
    const cut = t.info.stats.connectionsActive;
    return {
      title: `Close SSH tunnel ${peerTunnelId(t)}?`,
      message: `An agent asks to close ${peerTunnelLine(t)}, opened by ${originWords(t.info.openedBy)}; ${describePeer(t.peer)} will close it. ${cut === 0 ? 'No live connections will be cut.' : `${plural(cut, 'live connection')} will be cut.`}`,
    };
  }
  if (targets.tunnels.length === 0) return undefined; // nothing will change
  const cut = targets.tunnels.reduce((n, t) => n + t.stats.connectionsActive, 0);
  const listing = targets.tunnels.map((t) => `${tunnelLine(t)}, opened by ${originWords(t.openedBy)}`).join('; ');
  const message =
    (targets.tunnels.length === 1 ? `An agent asks to close ${listing}.` : `An agent asks to close all ${targets.tunnels.length} tunnels of ${targets.server}: ${listing}.`) +
    ` ${cut === 0 ? 'No live connections will be cut.' : `${plural(cut, 'live connection')} will be cut.`}`;
  return { title: targets.tunnels.length === 1 ? `Close SSH tunnel ${targets.tunnels[0].id}?` : `Close ${targets.tunnels.length} SSH tunnels of ${targets.server}?`, message };
}

/** Asks the peer that serves the tunnel to close it, as its own person would. */
async function closeAtPeer(host: ToolHost, t: PeerTunnel): Promise<ToolResult> {
  const id = peerTunnelId(t);
  const cut = t.info.stats.connectionsActive;
  try {
    await host.peers!.close(t.peer.id, t.info.id);
  } catch (err) {
    const text = `Could not close ${peerTunnelLine(t)}: ${errorMessage(err)}`;
    return { text, data: { closed: [], connectionsCut: 0, failures: [`${id}: ${errorMessage(err)}`], open: openIds(host) } };
  }
  const text = `Closed ${peerTunnelLine(t)}: ${describePeer(t.peer)} closed it. ${cut === 0 ? 'No live connections were cut.' : `${plural(cut, 'live connection')} ${cut === 1 ? 'was' : 'were'} cut.`}`;
  return { text, data: { closed: [id], connectionsCut: cut, failures: [], open: openIds(host).filter((o) => o !== id) } };
}

export async function close(host: ToolHost, input: unknown): Promise<ToolResult> {
  const targets = closeTargets(host, input);
  if (targets.atPeer) return closeAtPeer(host, targets.atPeer);
  const open = host.manager.listTunnels();
  if (targets.tunnels.length === 0) {
    const what = targets.missingId !== undefined ? `No open tunnel has id ${JSON.stringify(targets.missingId)} (it may have been closed already)` : `No tunnels are open on ${targets.server}`;
    return { text: `${what}: nothing was closed. ${openIdsText(open, peerTunnelsOf(host))}`, data: { closed: [], connectionsCut: 0, failures: [], open: openIds(host) } };
  }
  const closed: TunnelInfo[] = [];
  let cut = 0;
  const failures: string[] = [];
  for (const target of targets.tunnels) {
    const before = host.manager.getTunnel(target.id);
    if (!before) continue; // closed meanwhile by someone else
    try {
      host.willClose?.(before);
      await host.manager.closeTunnel(target.id, 'agent');
      closed.push(before);
      cut += before.stats.connectionsActive;
    } catch (err) {
      failures.push(`${target.id}: ${errorMessage(err)}`);
    }
  }
  const list = closed.map(tunnelLine).join('; ');
  let text = closed.length ? `Closed ${list}. ${cut === 0 ? 'No live connections were cut.' : `${plural(cut, 'live connection')} ${cut === 1 ? 'was' : 'were'} cut.`}` : 'Nothing was closed: the tunnels had closed meanwhile.';
  if (failures.length) text += ` Could not close: ${failures.join('; ')}.`;
  return { text, data: { closed: closed.map((t) => t.id), connectionsCut: cut, failures, open: openIds(host) } };
}
