// `ssh-tunnels mcp`: the tool core served to an MCP client over stdio. Same names, input
// schemas and results as VS Code's language-model tools; errors are results with isError.
// stdout carries only the protocol; logs go to stderr. When the client goes away (stdin ends),
// every tunnel closes and the process exits.
import * as path from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../engine';
import { TOOL_DEFINITIONS, TunnelTools, type ToolDefinition } from '../tools';
import { describeOptions, parseArgs, type OptionSpec } from './args';
import { createCliHost } from './host';
import { McpPrompts } from './mcpPrompts';
import { VERSION } from './version';

export const MCP_OPTIONS: OptionSpec[] = [
  { flags: ['--workspace', '-w'], key: 'workspace', value: 'DIR', help: 'also offer the servers of DIR/.vscode/settings.json (default: only ~/.ssh/config)' },
  { flags: ['-F', '--ssh-config'], key: 'sshConfig', value: 'FILE', help: 'the OpenSSH client config to read (default ~/.ssh/config)' },
  { flags: ['--allow-non-loopback'], key: 'allowNonLoopback', help: 'let agents listen on non-loopback addresses (0.0.0.0, a LAN address; refused otherwise)' },
  { flags: ['--help', '-h'], key: 'help', help: 'show this help' },
];

export const MCP_HELP = `Usage: ssh-tunnels mcp [options]

An MCP server over stdio with the tools ssh_tunnel_create, ssh_tunnel_list, ssh_tunnel_close
and ssh_connection_status, for agents outside VS Code (Claude Desktop, Cursor, Claude Code, any
MCP client). Agents get loopback-only listeners unless --allow-non-loopback is given. An unknown
host key is asked through the client (elicitation) if it can, else refused with what to run to
trust it ("ssh-tunnels trust SERVER"). Logs go to stderr. When the client disconnects, every
tunnel closes and the command exits.

Options:
${describeOptions(MCP_OPTIONS)}

Client configuration (e.g. claude_desktop_config.json, .cursor/mcp.json, .mcp.json):
  { "mcpServers": { "ssh-tunnels": { "command": "ssh-tunnels", "args": ["mcp"] } } }
`;

/** An MCP tool as the core defines it, with the annotations clients use to decide what to confirm. */
export function mcpTool(d: ToolDefinition): Tool {
  return {
    name: d.name,
    title: d.displayName,
    description: d.modelDescription,
    inputSchema: d.inputSchema as Tool['inputSchema'],
    annotations: {
      title: d.displayName,
      readOnlyHint: d.readOnly,
      destructiveHint: d.destructive,
      idempotentHint: d.readOnly || d.name === 'ssh_tunnel_close',
      openWorldHint: true,
    },
  };
}

/** How a person runs this command again, for messages (`ssh-tunnels` if installed as such). */
function selfCommand(): string {
  const script = process.argv[1] ?? '';
  if (path.basename(script) === 'ssh-tunnels') return 'ssh-tunnels';
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return `${quote(process.execPath)} ${quote(script)}`;
}

export async function runMcp(argv: string[]): Promise<number> {
  const { options } = parseArgs(argv, MCP_OPTIONS, 'mcp');
  if (options.help) {
    process.stdout.write(MCP_HELP);
    return 0;
  }
  // Nothing but the protocol may reach stdout.
  console.log = console.info = console.debug = console.error;
  const log = (message: string) => process.stderr.write(`[ssh-tunnels] ${message}\n`);
  const workspace = options.workspace as string | undefined;
  const server = new Server(
    { name: 'ssh-tunnels', title: 'SSH Tunnels', version: VERSION },
    {
      capabilities: { tools: {} },
      instructions:
        'SSH tunnels (ssh -L, -R, -D) through the servers of the user\'s ~/.ssh/config' + (workspace ? ' and workspace settings' : '') +
        '. Call ssh_connection_status first for the server names; close tunnels you no longer need. Tunnels close when this session ends.',
    },
  );
  // A failure outside a tool call is logged; the server keeps serving the client.
  process.on('unhandledRejection', (reason) => log(`unexpected: ${errorMessage(reason)}`));
  process.on('uncaughtException', (err) => log(`unexpected: ${err.stack ?? errorMessage(err)}`));
  const extra = [workspace ? ` --workspace ${workspace}` : '', options.sshConfig ? ` -F ${options.sshConfig}` : ''].join('');
  const prompts = new McpPrompts(server, (name) => `${selfCommand()} trust${extra} ${name}`, log);
  const host = createCliHost({ workspace, sshConfig: options.sshConfig as string | undefined, prompts, log });
  for (const problem of host.problems()) log(`warning: ${problem}`);
  const tools = new TunnelTools({
    manager: host.manager,
    servers: host.servers,
    allowNonLoopback: () => options.allowNonLoopback === true,
    nonLoopbackSwitch: 'the flag --allow-non-loopback of ssh-tunnels mcp',
  });

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOL_DEFINITIONS.map(mcpTool) }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name, arguments: input } = request.params;
    try {
      const result = await tools.invoke(name, input ?? {}, extra.signal);
      const structured = result.data && typeof result.data === 'object' && !Array.isArray(result.data) ? (result.data as Record<string, unknown>) : undefined;
      return { content: [{ type: 'text', text: result.text }], ...(structured ? { structuredContent: structured } : {}) };
    } catch (err) {
      // Every refusal and failure is a result the agent can read and act on, never a protocol error.
      log(`${name}: ${errorMessage(err)}`);
      return { content: [{ type: 'text', text: errorMessage(err) }], isError: true };
    }
  });

  const transport = new StdioServerTransport();
  let finished: (status: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finished = resolve));
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    const open = host.manager.listTunnels().length;
    log(`${why}: closing ${open} tunnel(s) and exiting.`);
    await host.dispose().catch((err) => log(errorMessage(err)));
    await server.close().catch(() => undefined);
    finished(0);
  };
  server.onclose = () => void shutdown('MCP connection closed');
  process.stdin.once('end', () => void shutdown('The client disconnected (stdin ended)'));
  process.stdin.once('close', () => void shutdown('The client disconnected (stdin closed)'));
  process.stdout.on('error', () => void shutdown('The client stopped reading (stdout closed)'));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void shutdown(`Got ${signal}`));
  await server.connect(transport);
  log(`MCP server ${VERSION} ready on stdio (${host.servers.list().length} server(s); ${options.allowNonLoopback ? 'non-loopback addresses allowed' : 'loopback only'}).`);
  return done;
}
