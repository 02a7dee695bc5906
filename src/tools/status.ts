// ssh_connection_status: the servers a tunnel may go through, where each is defined, and its state.
import { plural, type ServerConfig } from '../engine';
import { serverData } from './format';
import { serverOf, type ToolHost, type ToolResult } from './host';
import { parseServerFilter } from './input';
import { LIST_LIMIT } from './results';

export function status(host: ToolHost, input: unknown): ToolResult {
  const { server } = parseServerFilter('ssh_connection_status', input);
  let configs: ServerConfig[];
  if (server !== undefined) configs = [serverOf(host, server)];
  else configs = host.servers.list();
  const shown = configs.slice(0, LIST_LIMIT);
  const omitted = configs.length - shown.length;
  const rows = shown.map((c) => serverData(c, host.manager.serverStatus(c.alias), host.servers.origin?.(c.alias)));
  let text: string;
  if (configs.length === 0) text = 'No servers are configured. The user can add them in the setting sshTunnels.servers or as Host entries in ~/.ssh/config.';
  else {
    text =
      `${plural(configs.length, 'server')} (use the name before the colon as "server"):\n` +
      rows
        .map((r) => `- ${r.server}: ${r.target}, defined in ${r.definedIn ?? 'an unknown place'}; ${r.state}, ${plural(r.tunnels, 'tunnel')}${r.lastError ? `; last error: ${r.lastError}` : ''}`)
        .join('\n');
    if (omitted > 0) text += `\n…and ${omitted} more not shown (at most ${LIST_LIMIT} are listed; give server to ask about one).`;
  }
  return { text, data: { total: configs.length, omitted, servers: rows } };
}
