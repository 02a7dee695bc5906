// `ssh-tunnels mcp` driven by real MCP clients over stdio, against a real sshd: the SDK's own
// Client (StdioClientTransport spawning dist/cli.js) and the MCP inspector's CLI. Every result is
// checked against its tool's outputSchema (by the SDK client, which validates once it has listed
// the tools, and by a strict Ajv) and must carry the same JSON in its text.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, ElicitRequestSchema, ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { modelDescription, TOOL_DEFINITIONS } from '../../src/tools';
import { mcpServerConfig } from '../../src/ui/mcpConfig';
import { canConnect, freePort } from '../fixtures/sshd';
import { CLI, ROOT, workspace } from '../helpers/cli';
import { echoRoundTrip, waitFor } from '../helpers/net';
import { socksConnect } from '../helpers/socks';
import { assertMatchesOutputSchema } from '../helpers/outputSchema';
import { cliSuite } from '../helpers/suite';

const run = promisify(execFile);

interface Session {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
  /** Errors the client saw on the transport (a stray line on stdout would be one). */
  transportErrors: Error[];
  call(name: string, args: Record<string, unknown>): Promise<CallToolResult>;
}

/** A successful result's structuredContent fits the tool's outputSchema, and its text ends with the same JSON. */
function checkResult(name: string, result: CallToolResult): void {
  if (result.isError) {
    assert.equal(result.structuredContent, undefined, `${name}: a refusal carries no structured result`);
    return;
  }
  assertMatchesOutputSchema(name, result.structuredContent);
  assert.equal(result.content.length, 2, `${name}: the text, then the JSON`);
  const [prose, json] = result.content;
  assert.ok(prose.type === 'text' && !prose.text.startsWith('{'), `${name}: prose first`);
  assert.ok(json.type === 'text', `${name}: JSON as text`);
  assert.deepEqual(JSON.parse(json.text), result.structuredContent, `${name}: the text block carries the structured result`);
}

async function connectClient(env: NodeJS.ProcessEnv, args: string[] = [], options: { elicit?: (message: string) => { action: 'accept' | 'decline' | 'cancel'; content?: Record<string, unknown> } } = {}): Promise<Session> {
  // Each session alone, as if each were another user's, unless the test gives them a runtime folder to share.
  const runtime = env.SSH_TUNNELS_RUNTIME_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-run-'));
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', ...args], env: { ...env, SSH_TUNNELS_RUNTIME_DIR: runtime } as Record<string, string>, stderr: 'pipe', cwd: ROOT });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'ssh-tunnels-test', version: '1.0.0' }, { capabilities: options.elicit ? { elicitation: { form: {} } } : {} });
  if (options.elicit) {
    const answer = options.elicit;
    client.setRequestHandler(ElicitRequestSchema, (request) => answer(request.params.message));
  }
  const transportErrors: Error[] = [];
  client.onerror = (err) => transportErrors.push(err);
  await client.connect(transport);
  // The SDK client validates structuredContent against the outputSchemas it has listed.
  await client.listTools();
  return {
    client,
    transport,
    stderr: () => stderr,
    transportErrors,
    call: async (name, args) => {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      checkResult(name, result);
      return result;
    },
  };
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** A tunnel as the core's results describe it (src/tools/format.ts). */
interface TunnelData {
  id: string;
  type: string;
  state: string;
  openedBy: string;
  local: { host: string; port: number };
  remote?: { host: string; port: number };
  usage: string;
  bytesIn: number;
  bytesOut: number;
  connectionsTotal: number;
  connectionsActive: number;
}

function tunnelOf(result: CallToolResult): TunnelData {
  assert.ok(!result.isError, `the call failed: ${text(result)}`);
  return (result.structuredContent as { tunnel: TunnelData }).tunnel;
}

function exited(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('ssh-tunnels mcp: an MCP server over stdio', function () {
  this.timeout(120_000);
  let s: Session;
  // Registered before cliSuite() so that it runs before its teardown: the client and its server
  // process end while the sshd and HOME are still there.
  after(async () => {
    await s?.client.close();
  });
  const suite = cliSuite();

  before(async () => {
    s = await connectClient(suite.home.env);
  });

  it('lists the core\'s tools with the same names, input and output schemas, MCP annotations, and descriptions true to this server', async () => {
    const { tools } = await s.client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['ssh_tunnel_create', 'ssh_tunnel_list', 'ssh_tunnel_close', 'ssh_connection_status', 'ssh_server_ports']);
    for (const tool of tools) {
      const d = TOOL_DEFINITIONS.find((x) => x.name === tool.name)!;
      assert.deepEqual(tool.inputSchema, d.inputSchema, tool.name);
      assert.deepEqual(tool.outputSchema, d.outputSchema, tool.name);
      assert.equal(tool.outputSchema?.type, 'object');
      // Without --confirm this server asks nobody: its descriptions must not promise it.
      assert.equal(tool.description, modelDescription(d, false));
      assert.doesNotMatch(tool.description!, /user is asked to confirm/, tool.name);
      assert.equal(tool.title, d.displayName);
      assert.equal(tool.annotations?.readOnlyHint, ['ssh_tunnel_list', 'ssh_connection_status', 'ssh_server_ports'].includes(tool.name), `${tool.name} readOnlyHint`);
      assert.equal(tool.annotations?.destructiveHint, tool.name === 'ssh_tunnel_close', `${tool.name} destructiveHint`);
    }
    assert.equal(s.client.getServerVersion()?.name, 'ssh-tunnels');
    assert.match(tools.find((t) => t.name === 'ssh_tunnel_create')!.description!, /This server opens it without asking the user itself/);
  });

  it('ssh_connection_status names the servers of ~/.ssh/config', async () => {
    const result = await s.call('ssh_connection_status', {});
    assert.ok(!result.isError, text(result));
    assert.match(text(result), /fix: .*127\.0\.0\.1/);
    assert.match(text(result), /fresh: /);
    const servers = (result.structuredContent as { servers: { server: string }[] }).servers.map((x) => x.server);
    assert.deepEqual(servers, ['fix', 'fresh']);
  });

  it('ssh_server_ports lists what the server listens on, with processes, and marks what a tunnel already forwards', async () => {
    const before = await s.call('ssh_server_ports', { server: 'fix' });
    assert.ok(!before.isError, text(before));
    type Listener = { port?: number; remoteHost?: string; process?: string; forwardedBy: string[] };
    const echoRow = (r: CallToolResult) => (r.structuredContent as { listeners: Listener[] }).listeners.find((l) => l.port === suite.echo.port);
    assert.match(echoRow(before)?.process ?? '', /^node \(pid \d+\)$/);
    assert.deepEqual(echoRow(before)?.forwardedBy, []);
    assert.match(text(before), new RegExp(`^fix listens on \\d+ TCP ports? and \\d+ Unix sockets? \\(as ss says on Linux\\)\\.`));
    const t = tunnelOf(await s.call('ssh_tunnel_create', { server: 'fix', type: 'local', localPort: 0, remoteHost: echoRow(before)!.remoteHost!, remotePort: suite.echo.port }));
    const after = await s.call('ssh_server_ports', { server: 'fix' });
    assert.deepEqual(echoRow(after)?.forwardedBy, [t.id]);
    assert.match(text(after), new RegExp(`- ${suite.echo.port} \\(loopback, node \\(pid \\d+\\)\\): forward with remoteHost "localhost", remotePort ${suite.echo.port}; already forwarded by ${t.id} at 127\\.0\\.0\\.1:${t.local.port}`));
    await s.call('ssh_tunnel_close', { tunnelId: t.id });
    const unknown = await s.call('ssh_server_ports', {});
    assert.equal(unknown.isError, true);
    assert.match(text(unknown), /ssh_server_ports needs server/);
  });

  it('opens a local forward that carries data, marked as the agent\'s', async () => {
    const t = tunnelOf(await s.call('ssh_tunnel_create', { server: 'fix', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port, name: 'echo' }));
    assert.equal(t.type, 'local');
    assert.equal(t.state, 'active');
    assert.equal(t.openedBy, 'agent');
    assert.ok(t.local.port > 0);
    assert.match(t.usage, new RegExp(`127\\.0\\.0\\.1:${t.local.port}`));
    const r = await echoRoundTrip(t.local.port, 256 * 1024);
    assert.equal(r.received, r.sent);
  });

  it('opens a SOCKS proxy (dynamic) that carries data', async () => {
    const t = tunnelOf(await s.call('ssh_tunnel_create', { server: 'fix', type: 'dynamic', localPort: 0 }));
    assert.equal(t.type, 'dynamic');
    const socket = await socksConnect(t.local.port, '127.0.0.1', suite.echo.port);
    const back = await new Promise<string>((resolve) => {
      socket.once('data', (d) => resolve(d.toString()));
      socket.write('through socks');
    });
    socket.destroy();
    assert.equal(back, 'through socks');
  });

  it('opens a remote forward: the server\'s port reaches the local service', async () => {
    const t = tunnelOf(await s.call('ssh_tunnel_create', { server: 'fix', type: 'remote', localHost: '127.0.0.1', localPort: suite.echo.port, remoteHost: '127.0.0.1', remotePort: 0 }));
    assert.equal(t.type, 'remote');
    assert.ok(t.remote!.port > 0, 'the server picked a port');
    const r = await echoRoundTrip(t.remote!.port, 64 * 1024);
    assert.equal(r.received, r.sent);
  });

  it('ssh_tunnel_list shows every tunnel with its traffic', async () => {
    const result = await s.call('ssh_tunnel_list', {});
    assert.ok(!result.isError, text(result));
    const data = result.structuredContent as { total: number; tunnels: TunnelData[] };
    assert.equal(data.total, 3);
    const local = data.tunnels.find((t) => t.type === 'local')!;
    assert.ok(local.bytesOut >= 256 * 1024 && local.bytesIn >= 256 * 1024, JSON.stringify(local));
    assert.equal(local.connectionsTotal, 1);
    assert.ok(data.tunnels.every((t) => t.openedBy === 'agent'));
    assert.match(text(result), /3 tunnels/);
  });

  it('every refusal is a result with isError and a message to act on; the server keeps serving', async () => {
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const busyPort = (busy.address() as net.AddressInfo).port;
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['ssh_tunnel_create', { server: 'nosuch', type: 'local', localPort: 0, remoteHost: 'localhost', remotePort: 80 }, /Unknown server "nosuch".*fix, fresh/],
      ['ssh_tunnel_create', { server: 'fix', type: 'sideways', localPort: 0 }, /"sideways" is not a tunnel type/],
      ['ssh_tunnel_create', { server: 'fix', type: 'local', localPort: 0 }, /remotePort/],
      ['ssh_tunnel_create', { server: 'fix', type: 'local', localHost: '0.0.0.0', localPort: 0, remoteHost: 'localhost', remotePort: 80 }, /with the flag --allow-non-loopback of ssh-tunnels mcp\.$/],
      ['ssh_tunnel_create', { server: 'fix', type: 'remote', localPort: suite.echo.port, remoteHost: '0.0.0.0', remotePort: 0 }, /with the flag --allow-non-loopback of ssh-tunnels mcp\.$/],
      // Input that breaks the input schema is an input validation error: a result the agent sees and can correct (spec 2025-11-25).
      ['ssh_tunnel_create', { server: 'fix', type: 'local', localPort: 'eighty', remoteHost: 'localhost', remotePort: 80 }, /localPort must be a whole number from 0 to 65535/],
      ['ssh_tunnel_list', { server: 'fix', verbose: true }, /has no field "verbose"/],
      ['ssh_tunnel_create', { server: 'fix', type: 'local', localPort: busyPort, remoteHost: '127.0.0.1', remotePort: suite.echo.port }, /in use|busy|taken|held by/i],
      ['ssh_tunnel_close', {}, /tunnelId.*server/],
      ['ssh_tunnel_list', { server: 'nosuch' }, /Unknown server "nosuch"/],
    ];
    try {
      for (const [name, args, message] of cases) {
        const result = await s.call(name, args);
        assert.equal(result.isError, true, `${name} ${JSON.stringify(args)} is refused: ${text(result)}`);
        assert.match(text(result), message, `${name} ${JSON.stringify(args)}`);
        assert.doesNotMatch(text(result), /setting --allow/);
      }
    } finally {
      busy.close();
    }
    // Each refusal is logged once, with the tool's name once.
    assert.match(s.stderr(), /\[ssh-tunnels\] ssh_tunnel_create refused: a local tunnel needs remotePort/);
    assert.doesNotMatch(s.stderr(), /ssh_tunnel_create: ssh_tunnel_create:/);
    // Nothing of the refused calls is open, and the server still answers.
    const list = await s.call('ssh_tunnel_list', {});
    assert.equal((list.structuredContent as { total: number }).total, 3);
    assert.deepEqual(s.transportErrors, []);
  });

  it('an unknown tool and a malformed call are JSON-RPC errors (-32602), as the spec sorts them; the server keeps serving', async () => {
    const rpcError = (code: number, message: RegExp) => (err: unknown) => {
      assert.ok(err instanceof McpError, `a JSON-RPC error, got ${String(err)}`);
      assert.equal(err.code, code);
      assert.match(err.message, message);
      return true;
    };
    await assert.rejects(s.client.callTool({ name: 'ssh_no_such_tool', arguments: {} }), rpcError(ErrorCode.InvalidParams, /Unknown tool: "ssh_no_such_tool"\. The tools are: ssh_tunnel_create, ssh_tunnel_list, ssh_tunnel_close, ssh_connection_status, ssh_server_ports\./));
    // Arguments that are not an object fail the CallToolRequest schema itself: sent raw, past the client's types.
    for (const args of ['server=fix', ['fix', 'local'], 42]) {
      await assert.rejects(
        s.client.request({ method: 'tools/call', params: { name: 'ssh_tunnel_create', arguments: args as unknown as Record<string, unknown> } }, CallToolResultSchema),
        rpcError(ErrorCode.InvalidParams, /Invalid tools\/call request/),
        JSON.stringify(args),
      );
    }
    await assert.rejects(s.client.request({ method: 'tools/call', params: {} as { name: string } }, CallToolResultSchema), rpcError(ErrorCode.InvalidParams, /name/));
    const still = await s.call('ssh_tunnel_list', {});
    assert.ok(!still.isError, text(still));
    assert.deepEqual(s.transportErrors, []);
  });

  it('an unknown host key, with a client that cannot ask: refused with the command that trusts it; nothing written', async () => {
    const result = await s.call('ssh_tunnel_create', { server: 'fresh', type: 'dynamic', localPort: 0 });
    assert.equal(result.isError, true);
    assert.match(text(result), /can't be established: its ssh-ed25519 host key SHA256:\S+ is not in known_hosts, and this MCP client cannot ask the user/);
    assert.match(text(result), new RegExp(`runs in a terminal: \\S+ ${CLI.replace(/[/.]/g, '\\$&')} trust fresh`));
    assert.ok(!fs.existsSync(suite.home.knownHosts) || fs.readFileSync(suite.home.knownHosts, 'utf8') === '');
  });

  it('closes one tunnel (its port is freed), then is idempotent about it', async () => {
    const list = (await s.call('ssh_tunnel_list', {})).structuredContent as { tunnels: TunnelData[] };
    const local = list.tunnels.find((t) => t.type === 'local')!;
    const result = await s.call('ssh_tunnel_close', { tunnelId: local.id });
    assert.ok(!result.isError, text(result));
    assert.match(text(result), new RegExp(`Closed ${local.id}`));
    assert.equal(await canConnect('127.0.0.1', local.local.port), false);
    const again = await s.call('ssh_tunnel_close', { tunnelId: local.id });
    assert.ok(!again.isError, text(again));
    assert.match(text(again), /nothing was closed/);
  });

  it('--help says what --confirm does and that the server does not ask otherwise', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'mcp', '--help']);
    assert.match(stdout, /--confirm +ask the user \(through the client\) before each tunnel is opened or closed; refused if the client cannot ask/);
    assert.match(stdout, /This server\nopens and closes tunnels without asking the user, unless --confirm is given/);
    assert.match(stdout, /same facts as JSON \(structuredContent, described by the tool's outputSchema\)/);
  });

  it('logs only to stderr; stdout carried nothing but the protocol', () => {
    assert.match(s.stderr(), /\[ssh-tunnels\] MCP server .* ready on stdio \(2 servers; loopback only\)/);
    assert.deepEqual(s.transportErrors, []);
  });

  it('when the client goes away (stdin ends), every tunnel closes and the process exits', async () => {
    const c = await connectClient(suite.home.env);
    const a = tunnelOf(await c.call('ssh_tunnel_create', { server: 'fix', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port }));
    const b = tunnelOf(await c.call('ssh_tunnel_create', { server: 'fix', type: 'dynamic', localPort: 0 }));
    const pid = c.transport.pid!;
    const started = Date.now();
    await c.client.close();
    await waitFor(() => exited(pid), 5000, 'the server process to exit');
    // StdioClientTransport ends stdin and waits 2 s before a SIGTERM: the exit came from stdin ending.
    assert.ok(Date.now() - started < 2000, `exited after ${Date.now() - started} ms`);
    assert.match(c.stderr(), /The client disconnected \(stdin ended\): closing 2 tunnels and exiting\./);
    assert.equal(await canConnect('127.0.0.1', a.local.port), false);
    assert.equal(await canConnect('127.0.0.1', b.local.port), false);
  });

  it('with --allow-non-loopback an agent may listen on 0.0.0.0', async () => {
    const c = await connectClient(suite.home.env, ['--allow-non-loopback']);
    try {
      const t = tunnelOf(await c.call('ssh_tunnel_create', { server: 'fix', type: 'local', localHost: '0.0.0.0', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port }));
      assert.equal(t.local.host, '0.0.0.0');
      const r = await echoRoundTrip(t.local.port, 1024);
      assert.equal(r.received, r.sent);
      assert.match(c.stderr(), /non-loopback addresses allowed/);
    } finally {
      await c.client.close();
    }
  });

  it('with --workspace, the servers of the workspace\'s settings are offered too', async () => {
    const ws = workspace(suite.home.home, { 'sshTunnels.servers': [{ host: 'from-settings', hostName: '127.0.0.1', port: suite.sshd.port, user: suite.sshd.user, identityFile: suite.sshd.clientKeyPath, identityAgent: false, userKnownHostsFile: suite.sshd.knownHostsPath }] }, { allow: suite.home.env });
    const c = await connectClient(suite.home.env, ['--workspace', ws]);
    try {
      const status = await c.call('ssh_connection_status', {});
      assert.match(text(status), /from-settings: .*defined in settings/);
      const t = tunnelOf(await c.call('ssh_tunnel_create', { server: 'from-settings', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port }));
      const r = await echoRoundTrip(t.local.port, 1024);
      assert.equal(r.received, r.sent);
    } finally {
      await c.client.close();
    }
  });

  describe('host keys through elicitation', () => {
    afterEach(() => fs.rmSync(suite.home.knownHosts, { force: true }));

    it('declined: nothing opens and nothing is written', async () => {
      const asked: string[] = [];
      const c = await connectClient(suite.home.env, [], { elicit: (m) => (asked.push(m), { action: 'decline' }) });
      try {
        const result = await c.call('ssh_tunnel_create', { server: 'fresh', type: 'dynamic', localPort: 0 });
        assert.equal(result.isError, true);
        assert.match(text(result), /not trusted/);
        assert.equal(asked.length, 1);
        assert.match(asked[0], /fresh \(127\.0\.0\.1:\d+\).*ssh-ed25519 host key SHA256:\S+/);
        assert.ok(!fs.existsSync(suite.home.knownHosts) || fs.readFileSync(suite.home.knownHosts, 'utf8') === '');
      } finally {
        await c.client.close();
      }
    });

    it('a call cancelled while the question is open leaves nothing open, even if the answer comes later', async () => {
      let answer: (a: { action: 'accept'; content: Record<string, unknown> }) => void = () => undefined;
      let asked: () => void = () => undefined;
      const question = new Promise<void>((resolve) => (asked = resolve));
      const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], env: suite.home.env as Record<string, string>, stderr: 'pipe' });
      const client = new Client({ name: 'cancelling', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
      client.setRequestHandler(ElicitRequestSchema, () => {
        asked();
        return new Promise((resolve) => (answer = resolve));
      });
      await client.connect(transport);
      try {
        const abort = new AbortController();
        const call = client.callTool({ name: 'ssh_tunnel_create', arguments: { server: 'fresh', type: 'dynamic', localPort: 0 } }, undefined, { signal: abort.signal });
        await question;
        abort.abort();
        await assert.rejects(call, /abort/i);
        answer({ action: 'accept', content: { remember: false } });
        // The server saw the cancellation: nothing of the tunnel is open, then or after the late answer.
        await new Promise((r) => setTimeout(r, 500));
        const list = (await client.callTool({ name: 'ssh_tunnel_list', arguments: {} })) as CallToolResult;
        assert.equal((list.structuredContent as { total: number }).total, 0, text(list));
        const status = (await client.callTool({ name: 'ssh_connection_status', arguments: { server: 'fresh' } })) as CallToolResult;
        assert.match(text(status), /fresh: .*disconnected, 0 tunnels/);
      } finally {
        await client.close();
      }
    });

    it('accepted: the tunnel opens and the key is remembered in known_hosts', async () => {
      const c = await connectClient(suite.home.env, [], { elicit: () => ({ action: 'accept', content: { remember: true } }) });
      try {
        const t = tunnelOf(await c.call('ssh_tunnel_create', { server: 'fresh', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port }));
        const r = await echoRoundTrip(t.local.port, 1024);
        assert.equal(r.received, r.sent);
        const [type, key] = suite.sshd.hostPublicKey().split(/\s+/);
        assert.equal(fs.readFileSync(suite.home.knownHosts, 'utf8'), `[127.0.0.1]:${suite.sshd.port} ${type} ${key}\n`);
      } finally {
        await c.client.close();
      }
    });
  });

  describe('with --confirm: the user is asked through the client before each create and close', () => {
    type Answer = { action: 'accept' | 'decline' | 'cancel'; content?: Record<string, unknown> };
    /** A client that answers each question with the next answer, and records what it was asked. */
    const confirming = async (answers: Answer[]) => {
      const asked: string[] = [];
      const c = await connectClient(suite.home.env, ['--confirm'], { elicit: (m) => (asked.push(m), answers.shift() ?? { action: 'decline' }) });
      return { c, asked };
    };
    const yes: Answer = { action: 'accept', content: { confirm: true } };

    it('the descriptions say so; accepted: the tunnel opens and carries data, and its close is asked too', async () => {
      const { c, asked } = await confirming([yes, yes]);
      try {
        const { tools } = await c.client.listTools();
        for (const name of ['ssh_tunnel_create', 'ssh_tunnel_close']) {
          const tool = tools.find((t) => t.name === name)!;
          assert.equal(tool.description, modelDescription(TOOL_DEFINITIONS.find((d) => d.name === name)!, true));
          assert.match(tool.description!, /The user is asked to confirm/);
        }
        const t = tunnelOf(await c.call('ssh_tunnel_create', { server: 'fix', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port }));
        // The words VS Code's confirmation shows: title, then the message.
        assert.match(asked[0], new RegExp(`^Open an SSH tunnel through fix\\?\n\nAn agent asks to open a local forward \\(-L\\) through fix \\(\\S+@127\\.0\\.0\\.1:${suite.sshd.port}\\): listen on 127\\.0\\.0\\.1, on a free port on this machine and forward each connection through fix to 127\\.0\\.0\\.1:${suite.echo.port} \\(as fix sees it\\)\\.$`));
        const r = await echoRoundTrip(t.local.port, 1024);
        assert.equal(r.received, r.sent);
        // Read-only tools ask nothing.
        await c.call('ssh_tunnel_list', {});
        await c.call('ssh_connection_status', {});
        assert.equal(asked.length, 1);
        const closed = await c.call('ssh_tunnel_close', { tunnelId: t.id });
        assert.ok(!closed.isError, text(closed));
        assert.match(asked[1], new RegExp(`^Close SSH tunnel ${t.id}\\?\n\nAn agent asks to close ${t.id} `));
        assert.equal(await canConnect('127.0.0.1', t.local.port), false);
        assert.match(c.stderr(), /the user confirms each create and close/);
      } finally {
        await c.client.close();
      }
    });

    it('declined (or accepted unticked, or dismissed): nothing opens, nothing closes, and the result says so', async () => {
      const { c, asked } = await confirming([{ action: 'decline' }, { action: 'accept', content: { confirm: false } }, { action: 'cancel' }, yes, { action: 'decline' }]);
      try {
        const port = await freePort();
        const input = { server: 'fix', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: suite.echo.port };
        for (const how of [/The user declined: the tunnel was not opened\./, /The user declined: the tunnel was not opened\./, /The user dismissed the question: the tunnel was not opened\./]) {
          const result = await c.call('ssh_tunnel_create', input);
          assert.equal(result.isError, true);
          assert.match(text(result), how);
          assert.equal(await canConnect('127.0.0.1', port), false, 'nothing listens');
        }
        assert.equal(((await c.call('ssh_tunnel_list', {})).structuredContent as { total: number }).total, 0);
        const t = tunnelOf(await c.call('ssh_tunnel_create', input));
        const kept = await c.call('ssh_tunnel_close', { tunnelId: t.id });
        assert.equal(kept.isError, true);
        assert.match(text(kept), /The user declined: nothing was closed\./);
        assert.equal(await canConnect('127.0.0.1', t.local.port), true, 'the tunnel still listens');
        assert.equal(asked.length, 5);
      } finally {
        await c.client.close();
      }
    });

    it('a call cancelled while the question is open opens nothing, even if the answer comes later', async () => {
      let answer: (a: Answer) => void = () => undefined;
      let asked: () => void = () => undefined;
      const question = new Promise<void>((resolve) => (asked = resolve));
      const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--confirm'], env: suite.home.env as Record<string, string>, stderr: 'pipe' });
      const client = new Client({ name: 'cancelling', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
      client.setRequestHandler(ElicitRequestSchema, () => {
        asked();
        return new Promise((resolve) => (answer = resolve));
      });
      await client.connect(transport);
      try {
        const port = await freePort();
        const abort = new AbortController();
        const call = client.callTool({ name: 'ssh_tunnel_create', arguments: { server: 'fix', type: 'dynamic', localPort: port } }, undefined, { signal: abort.signal });
        await question;
        abort.abort();
        await assert.rejects(call, /abort/i);
        answer(yes);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(await canConnect('127.0.0.1', port), false);
        const list = (await client.callTool({ name: 'ssh_tunnel_list', arguments: {} })) as CallToolResult;
        assert.equal((list.structuredContent as { total: number }).total, 0, text(list));
      } finally {
        await client.close();
      }
    });

    it('a client that cannot ask: create and close are refused, not done unasked; reading still works', async () => {
      const c = await connectClient(suite.home.env, ['--confirm']);
      try {
        const result = await c.call('ssh_tunnel_create', { server: 'fix', type: 'dynamic', localPort: 0 });
        assert.equal(result.isError, true);
        assert.match(text(result), /ssh-tunnels mcp runs with --confirm, so the user must confirm this, and this MCP client cannot ask them \(it does not support elicitation\); the tunnel was not opened\./);
        const list = await c.call('ssh_tunnel_list', {});
        assert.equal((list.structuredContent as { total: number }).total, 0);
        // A close that would close nothing has nothing to confirm.
        const none = await c.call('ssh_tunnel_close', { tunnelId: 't1' });
        assert.ok(!none.isError, text(none));
        assert.match(text(none), /nothing was closed/);
        // Bad input is still answered with what to fix, before any question.
        assert.match(text(await c.call('ssh_tunnel_create', { server: 'fix', type: 'local', localPort: 0 })), /a local tunnel needs remotePort/);
      } finally {
        await c.client.close();
      }
    });
  });

  it('the configuration the extension copies starts this server', async () => {
    const config = mcpServerConfig(ROOT, process.execPath, false).mcpServers['ssh-tunnels'];
    assert.deepEqual(config.args, [CLI, 'mcp']);
    const transport = new StdioClientTransport({ command: config.command, args: config.args, env: { ...suite.home.env, ...config.env } as Record<string, string>, stderr: 'pipe' });
    const client = new Client({ name: 'copied-config', version: '1.0.0' });
    await client.connect(transport);
    try {
      assert.equal((await client.listTools()).tools.length, 5);
    } finally {
      await client.close();
    }
    // VS Code desktop runs it with its own Electron as Node.
    assert.deepEqual(mcpServerConfig('/ext', '/opt/code/code', true).mcpServers['ssh-tunnels'], { command: '/opt/code/code', args: ['/ext/dist/cli.js', 'mcp'], env: { ELECTRON_RUN_AS_NODE: '1' } });
  });

  it('the MCP inspector\'s CLI lists the tools with their schemas, opens a tunnel whose result fits its outputSchema, and gets -32602 for an unknown tool (offline)', async () => {
    const inspector = path.join(ROOT, 'node_modules/@modelcontextprotocol/inspector-cli/build/cli.js');
    const target = ['--cli', process.execPath, CLI, 'mcp'];
    const env = suite.home.env;
    // inspector-cli 1.0.3 finds its package.json relative to the working folder: run it from its own.
    const cwd = path.dirname(inspector);
    const listed = await run(process.execPath, [inspector, ...target, '--method', 'tools/list'], { env, cwd, timeout: 60_000 });
    const tools = (JSON.parse(listed.stdout) as { tools: { name: string; outputSchema?: unknown; annotations?: { readOnlyHint?: boolean } }[] }).tools;
    assert.deepEqual(tools.map((t) => t.name).sort(), ['ssh_connection_status', 'ssh_server_ports', 'ssh_tunnel_close', 'ssh_tunnel_create', 'ssh_tunnel_list']);
    assert.equal(tools.find((t) => t.name === 'ssh_tunnel_list')!.annotations?.readOnlyHint, true);
    for (const t of tools) assert.deepEqual(t.outputSchema, TOOL_DEFINITIONS.find((d) => d.name === t.name)!.outputSchema, t.name);
    const called = await run(
      process.execPath,
      [inspector, ...target, '--method', 'tools/call', '--tool-name', 'ssh_tunnel_create', '--tool-arg', 'server=fix', 'type=dynamic', 'localPort=0'],
      { env, cwd, timeout: 60_000 },
    );
    const result = JSON.parse(called.stdout) as CallToolResult;
    assert.ok(!result.isError, called.stdout);
    assert.match(text(result), /socks5h:\/\/127\.0\.0\.1:\d+/);
    checkResult('ssh_tunnel_create', result);
    const refused = await run(
      process.execPath,
      [inspector, ...target, '--method', 'tools/call', '--tool-name', 'ssh_tunnel_create', '--tool-arg', 'server=nosuch', 'type=dynamic', 'localPort=0'],
      { env, cwd, timeout: 60_000 },
    );
    assert.equal((JSON.parse(refused.stdout) as CallToolResult).isError, true);
    const unknown = await run(process.execPath, [inspector, ...target, '--method', 'tools/call', '--tool-name', 'ssh_exec'], { env, cwd, timeout: 60_000 }).then(
      () => assert.fail('the inspector should fail on an unknown tool'),
      (err: { code?: number; stdout: string; stderr: string }) => err,
    );
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout + unknown.stderr, /MCP error -32602: Unknown tool: "ssh_exec"/);
  });
});
