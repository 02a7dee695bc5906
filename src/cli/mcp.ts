// `ssh-tunnels mcp`: the tool core served to an MCP client over stdio. Same names, input
// schemas and results as VS Code's language-model tools, plus each tool's outputSchema. As the
// MCP spec (2025-11-25) sorts errors: an unknown tool or a malformed call is a JSON-RPC error;
// a refusal (bad input, unknown server, busy port) is a result with isError, for the agent.
// stdout carries only the protocol; logs go to stderr. When the client goes away (stdin ends),
// every tunnel closes and the process exits.
import * as path from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, RequestSchema, type CallToolRequest, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage, plural } from '../engine';
import { FrontDoor, managerActions } from '../catalogue';
import { Peers } from '../peers';
import { modelDescription, refusalLog, toolDefinition, TOOL_DEFINITIONS, TunnelTools, type ToolDefinition, type ToolResult } from '../tools';
import { describeOptions, parseArgs, type OptionSpec } from './args';
import { createCliHost } from './host';
import { McpPrompts } from './mcpPrompts';
import { closingSignals } from './terminal';
import { VERSION } from './version';

export const MCP_OPTIONS: OptionSpec[] = [
  { flags: ['--workspace', '-w'], key: 'workspace', value: 'DIR', help: 'also offer the servers of DIR/.vscode/settings.json, once allowed with ssh-tunnels allow DIR (default: only ~/.ssh/config)' },
  { flags: ['-F', '--ssh-config'], key: 'sshConfig', value: 'FILE', help: 'the OpenSSH client config to read (default ~/.ssh/config)' },
  { flags: ['--allow-non-loopback'], key: 'allowNonLoopback', help: 'let agents listen on non-loopback addresses (0.0.0.0, a LAN address; refused otherwise)' },
  { flags: ['--confirm'], key: 'confirm', help: 'ask the user (through the client) before each tunnel is opened or closed; refused if the client cannot ask' },
  { flags: ['--help', '-h'], key: 'help', help: 'show this help' },
];

export const MCP_HELP = `Usage: ssh-tunnels mcp [options]

An MCP server over stdio with the tools ssh_tunnel_create, ssh_tunnel_list, ssh_tunnel_close,
ssh_connection_status and ssh_server_ports (what a server listens on), for agents outside VS Code (Claude Desktop, Cursor, Claude Code, any
MCP client). Agents get loopback-only listeners unless --allow-non-loopback is given. This server
opens and closes tunnels without asking the user, unless --confirm is given: then it asks the
user through the client (MCP elicitation) before each create and close, and refuses them if the
client cannot ask. An unknown host key is asked through the client if it can, else refused with
what to run to trust it ("ssh-tunnels trust SERVER"). Each result is text for the agent followed
by the same facts as JSON (structuredContent, described by the tool's outputSchema). Logs go to
stderr. When the client disconnects, every tunnel closes and the command exits. The tunnels
your other processes serve (VS Code windows, ssh-tunnels up, other agents) are listed too, reused
by a create of the same forward, and closed by asking their owner.

Options:
${describeOptions(MCP_OPTIONS)}

Client configuration (e.g. claude_desktop_config.json, .cursor/mcp.json, .mcp.json):
  { "mcpServers": { "ssh-tunnels": { "command": "ssh-tunnels", "args": ["mcp"] } } }
`;

/**
 * An MCP tool as the core defines it, with the annotations clients use to decide what to confirm;
 * its description says whether this server asks the user first (`confirms`: with --confirm).
 */
export function mcpTool(d: ToolDefinition, confirms: boolean): Tool {
  return {
    name: d.name,
    title: d.displayName,
    description: modelDescription(d, confirms),
    inputSchema: d.inputSchema as Tool['inputSchema'],
    outputSchema: d.outputSchema as Tool['outputSchema'],
    annotations: {
      title: d.displayName,
      readOnlyHint: d.readOnly,
      destructiveHint: d.destructive,
      idempotentHint: d.readOnly || d.name === 'ssh_tunnel_close',
      openWorldHint: true,
    },
  };
}

/**
 * A tool's result over MCP: the text, then the same facts as JSON, both as structuredContent and
 * serialized in a text block for clients that read only text (as the spec recommends).
 */
export function mcpResult(result: ToolResult): CallToolResult {
  return {
    content: [
      { type: 'text', text: result.text },
      { type: 'text', text: JSON.stringify(result.data) },
    ],
    structuredContent: result.data,
  };
}

/**
 * tools/call with its params unchecked at the door. The SDK's Server checks them against the real
 * CallToolRequestSchema before our handler and answers -32602 (Invalid params); registered with
 * that schema itself, a malformed call (arguments that are not an object) fails an earlier parse
 * and goes out as -32603 (Internal error), which is not what went wrong.
 */
const CallToolRequestUnchecked = CallToolRequestSchema.extend({ params: RequestSchema.shape.params });

/** A JSON-RPC error with its message as is (the SDK's McpError would prefix "MCP error -32602: " on the wire). */
class ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function refusal(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
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
  const confirm = options.confirm === true;
  const server = new Server(
    { name: 'ssh-tunnels', title: 'SSH Tunnels', version: VERSION },
    {
      capabilities: { tools: {} },
      instructions:
        'SSH tunnels (ssh -L, -R, -D) through the servers of the user\'s ~/.ssh/config' + (workspace ? ' and workspace settings' : '') +
        '. Call ssh_connection_status first for the server names; close tunnels you no longer need. Tunnels close when this session ends.' +
        (confirm ? ' The user confirms each tunnel opened or closed.' : ''),
    },
  );
  // A failure outside a tool call is logged; the server keeps serving the client.
  process.on('unhandledRejection', (reason) => log(`unexpected: ${errorMessage(reason)}`));
  process.on('uncaughtException', (err) => log(`unexpected: ${err.stack ?? errorMessage(err)}`));
  const extra = [workspace ? ` --workspace ${workspace}` : '', options.sshConfig ? ` -F ${options.sshConfig}` : ''].join('');
  const prompts = new McpPrompts(server, (name) => `${selfCommand()} trust${extra} ${name}`, log);
  const host = await createCliHost({ workspace, sshConfig: options.sshConfig as string | undefined, prompts, log, askAllow: false });
  for (const problem of host.problems()) log(`warning: ${problem}`);
  // Every create (and a restart a peer asks for) opens through the front door.
  const door = new FrontDoor(host.manager);
  // The peers (VS Code windows, ssh-tunnels up, other agents) see this one's tunnels, and it theirs.
  const peers = Peers.start({ kind: 'mcp', manager: host.manager, actions: managerActions(host.manager, { door }), log });
  door.usePeers(peers);
  const tools = new TunnelTools({
    peers,
    door,
    manager: host.manager,
    servers: host.servers,
    allowNonLoopback: () => options.allowNonLoopback === true,
    nonLoopbackSwitch: 'the flag --allow-non-loopback of ssh-tunnels mcp',
  });

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOL_DEFINITIONS.map((d) => mcpTool(d, confirm)) }));
  server.setRequestHandler(CallToolRequestUnchecked, async (request, extra): Promise<CallToolResult> => {
    // Checked by the Server against CallToolRequestSchema by now (see CallToolRequestUnchecked).
    const { name, arguments: args } = request.params as CallToolRequest['params'];
    const definition = toolDefinition(name);
    // The spec's protocol error for a tool that does not exist (a malformed call is one already, from the SDK).
    if (!definition) throw new ProtocolError(ErrorCode.InvalidParams, `Unknown tool: ${JSON.stringify(name)}. The tools are: ${TOOL_DEFINITIONS.map((d) => d.name).join(', ')}.`);
    const input = args ?? {};
    try {
      if (confirm && definition.needsConfirmation) {
        await tools.ready(input);
        const question = tools.confirmation(name, input);
        if (question) {
          const undone = name === 'ssh_tunnel_create' ? 'the tunnel was not opened' : 'nothing was closed';
          const no = await prompts.confirm({ ...question, undone }, extra.signal);
          if (no !== undefined) {
            log(refusalLog(name, no));
            return refusal(no);
          }
        }
      }
      return mcpResult(await tools.invoke(name, input, extra.signal));
    } catch (err) {
      // A refusal or failure is a result the agent can read and act on.
      log(refusalLog(name, errorMessage(err)));
      return refusal(errorMessage(err));
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
    log(`${why}: closing ${plural(open, 'tunnel')} and exiting.`);
    await peers.dispose(() => host.dispose()).catch((err) => log(errorMessage(err)));
    await server.close().catch(() => undefined);
    finished(0);
  };
  server.onclose = () => void shutdown('MCP connection closed');
  process.stdin.once('end', () => void shutdown('The client disconnected (stdin ended)'));
  process.stdin.once('close', () => void shutdown('The client disconnected (stdin closed)'));
  process.stdout.on('error', () => void shutdown('The client stopped reading (stdout closed)'));
  for (const signal of closingSignals()) process.once(signal, () => void shutdown(`Got ${signal}`));
  await server.connect(transport);
  log(
    `MCP server ${VERSION} ready on stdio (${plural(host.servers.list().length, 'server')}; ${options.allowNonLoopback ? 'non-loopback addresses allowed' : 'loopback only'}` +
      `${confirm ? '; the user confirms each create and close' : ''}).`,
  );
  return done;
}
