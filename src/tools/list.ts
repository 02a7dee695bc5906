// ssh_tunnel_list: the tunnels open here, then those the peers serve, at most LIST_LIMIT of them.
import { plural } from '../engine';
import { tunnelData, tunnelDetailLine } from './format';
import { checkServerFilter, peerTunnelsOf, type ToolHost, type ToolResult } from './host';
import { parseServerFilter } from './input';
import { peerTunnelData, peerTunnelDetailLine } from './peerTunnels';
import { LIST_LIMIT } from './results';

export function list(host: ToolHost, input: unknown): ToolResult {
  const { server } = parseServerFilter('ssh_tunnel_list', input);
  checkServerFilter(host, server);
  const own = host.manager.listTunnels(server);
  const others = peerTunnelsOf(host, server);
  const total = own.length + others.length;
  const shown = own.slice(0, LIST_LIMIT);
  const shownOthers = others.slice(0, LIST_LIMIT - shown.length);
  const omitted = total - shown.length - shownOthers.length;
  const scope = server === undefined ? '' : ` on ${server}`;
  let text: string;
  if (total === 0) text = `No tunnels are open${scope}. Open one with ssh_tunnel_create.`;
  else {
    const atPeers = others.length ? ` (${others.length} served by other processes of the user: other VS Code windows, ssh-tunnels up, agents through MCP)` : '';
    text = `${plural(total, 'tunnel')}${scope}${atPeers}:\n` + [...shown.map(tunnelDetailLine), ...shownOthers.map(peerTunnelDetailLine)].join('\n');
    if (omitted > 0) text += `\n…and ${omitted} more not shown (at most ${LIST_LIMIT} are listed; give server to narrow the list).`;
  }
  return { text, data: { total, omitted, tunnels: [...shown.map(tunnelData), ...shownOthers.map(peerTunnelData)] } };
}
