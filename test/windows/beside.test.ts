// `ssh-tunnels up` and `ssh-tunnels mcp` running beside a window: each sees the others' tunnels,
// and closing the `up` tunnel from the window's tree closes it in the `up` process.
import * as assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as vscode from 'vscode';
import { freePort } from '../fixtures/sshd';
import { tableRow } from '../helpers/cli';
import { echoRoundTrip } from '../helpers/net';
import { TmuxPane } from '../helpers/tmux';
import { refused, waitFor } from '../helpers/vscode';
import { driver, type Setup } from './driver';
import { activate, inlineCommands, rowsOf, show, type Api } from './tree';

const AGENT_TUNNEL = 'agent-db';

/** A tunnel as the tools' results describe it (src/tools/format.ts). */
interface ListedTunnel {
  id: string;
  name: string;
  state: string;
  local?: { host: string; port: number };
  servedBy?: string;
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

describe('ssh-tunnels up and ssh-tunnels mcp beside a window', function () {
  this.timeout(90_000);
  let api: Api;
  let setup: Setup;
  let env: NodeJS.ProcessEnv;
  let up: TmuxPane | undefined;
  let mcp: Client | undefined;
  let mcpStderr = '';
  let upPort: number;
  let mcpPort: number;
  /** The name `up` gives a forward from its command line. */
  let upName: string;

  const call = async (name: string, args: Record<string, unknown>) => (await mcp!.callTool({ name, arguments: args })) as CallToolResult;

  before(async () => {
    api = await activate();
    setup = await driver.setup();
    // The windows' HOME (~/.ssh/config with the fixture) and runtime folder: the same person.
    env = { PATH: process.env.PATH, HOME: setup.home, XDG_RUNTIME_DIR: setup.runtimeDir, SSH_TUNNELS_RUNTIME_DIR: setup.peersDir, LANG: 'C.UTF-8', TERM: 'xterm-256color' };
    upPort = await freePort();
    mcpPort = await freePort();
    upName = `L ${upPort} → 127.0.0.1:${setup.echoPort}`;
    const line = [process.execPath, setup.cli, 'up', '--server', setup.upServer, '-L', `${upPort}:127.0.0.1:${setup.echoPort}`].map((a) => `'${a}'`).join(' ');
    up = new TmuxPane(`${line}; echo "EXIT=$?"; sleep 600`, { cwd: setup.home, env });
    await up.waitFor(new RegExp(`listening on 127\\.0\\.0\\.1:${upPort}`), 30_000);

    const transport = new StdioClientTransport({ command: process.execPath, args: [setup.cli, 'mcp'], env: env as Record<string, string>, stderr: 'pipe', cwd: setup.home });
    transport.stderr?.on('data', (d: Buffer) => (mcpStderr += d.toString()));
    mcp = new Client({ name: 'ssh-tunnels-two-windows', version: '1.0.0' });
    await mcp.connect(transport);
    await mcp.listTools();
    const created = await call('ssh_tunnel_create', { server: setup.server, type: 'local', localPort: mcpPort, remoteHost: '127.0.0.1', remotePort: setup.echoPort, name: AGENT_TUNNEL });
    assert.ok(!created.isError, `ssh_tunnel_create: ${text(created)}\n${mcpStderr}`);
    await vscode.commands.executeCommand('sshTunnels.focus');
  });

  after(async () => {
    await mcp?.close().catch(() => undefined);
    up?.kill();
  });

  it('the window shows the tunnels of `up` and of the agent as served by them, and both carry data', async () => {
    const byPort = (port: number) => api.peers.list().find((s) => s.info.localPort === port);
    const ofUp = await waitFor('up\'s tunnel served elsewhere', () => byPort(upPort), 10_000, () => api.peers.list());
    const ofAgent = await waitFor('the agent\'s tunnel served elsewhere', () => byPort(mcpPort), 10_000, () => api.peers.list());
    assert.equal(ofUp.peer.kind, 'up');
    assert.equal(ofUp.info.server, setup.upServer);
    assert.equal(ofAgent.peer.kind, 'mcp');
    assert.equal(ofAgent.info.name, AGENT_TUNNEL);

    const rows = () => rowsOf(api, setup.server);
    const upRows = () => rowsOf(api, setup.upServer);
    await waitFor('the rows served by up and by the agent', () => upRows().some((r) => r.description.includes('served by ssh-tunnels up')) && rows().some((r) => r.label === AGENT_TUNNEL && r.description.includes('served by an agent through MCP')), 10_000, () => show([...rows(), ...upRows()]));
    const upRow = upRows().find((r) => r.description.includes('served by ssh-tunnels up'))!;
    assert.ok(upRow.label.includes(String(upPort)) || upRow.description.includes(String(upPort)), `up's row names its port: ${show([upRow])}`);
    await driver.treeRow('second', (r) => r.includes(String(upPort)) && r.includes('served by ssh-tunnels up'), `of port ${upPort} served by ssh-tunnels up`);
    await driver.treeRow('second', (r) => r.includes(AGENT_TUNNEL) && r.includes('served by an agent through MCP'), `${AGENT_TUNNEL} served by an agent through MCP`);

    for (const port of [upPort, mcpPort]) {
      const { sent, received } = await echoRoundTrip(port, 64 * 1024);
      assert.equal(received, sent, `data through port ${port}`);
    }
  });

  it('the agent\'s ssh_tunnel_list includes the window\'s tunnel and up\'s, each marked with who serves it', async () => {
    const result = await call('ssh_tunnel_list', {});
    assert.ok(!result.isError, text(result));
    const listed = (result.structuredContent as { tunnels: ListedTunnel[] }).tunnels;
    const byPort = (port: number) => listed.find((t) => t.local?.port === port);
    assert.equal(byPort(setup.tunnelPort)?.servedBy, `window of folder ${setup.folders.second}`, JSON.stringify(listed));
    assert.equal(byPort(setup.tunnelPort)?.name, setup.tunnel);
    assert.equal(byPort(upPort)?.servedBy, 'ssh-tunnels up', JSON.stringify(listed));
    assert.equal(byPort(mcpPort)?.servedBy, undefined, 'its own tunnel is not marked');
    assert.match(text(result), new RegExp(`"${setup.tunnel}"[^\\n]*served by window of folder ${setup.folders.second}`));
  });

  it('up\'s table shows the window\'s tunnel and the agent\'s, served by them', async () => {
    await up!.waitFor(new RegExp(`1 tunnel through ${setup.upServer}: 1 active; 2 more served by other processes\\.`), 10_000);
    assert.equal(tableRow(up!.screen(), setup.tunnel).STATE, `● active, served by window of folder ${setup.folders.second}`);
    assert.equal(tableRow(up!.screen(), AGENT_TUNNEL).STATE, '● active, served by an agent through MCP');
    assert.equal(tableRow(up!.screen(), upName).STATE, '● active');
  });

  it('closing up\'s tunnel from the window\'s tree closes it in the up process: its table says so and the port is freed', async () => {
    const row = rowsOf(api, setup.upServer).find((r) => r.description.includes('served by ssh-tunnels up'));
    assert.ok(row, show(rowsOf(api, setup.upServer)));
    const inline = inlineCommands(row.contextValue);
    const close = inline.find((c) => c === 'sshTunnels.stopTunnel' || c === 'sshTunnels.closeTunnel');
    assert.ok(close, `no close action on the row (${row.contextValue}): ${inline.join(', ')}`);
    await vscode.commands.executeCommand(close, row.node);

    const deadline = Date.now() + 10_000;
    while (!(await refused(upPort))) {
      assert.ok(Date.now() < deadline, `port ${upPort} still open 10 s after the close`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await up!.waitFor(/0 active, 1 closed/, 10_000);
    assert.equal(tableRow(up!.screen(), upName).STATE, '○ closed');
    await waitFor('up\'s tunnel gone from the window', () => !api.peers.list().some((s) => s.info.localPort === upPort) && !rowsOf(api, setup.upServer).some((r) => r.description.includes('served by ssh-tunnels up')), 10_000, () => show(rowsOf(api, setup.upServer)));
    // The others are untouched.
    const { sent, received } = await echoRoundTrip(mcpPort, 4096);
    assert.equal(received, sent);
    // Through all of it, no tunnel of the window's settings was reported as failing.
    const toasts = await driver.toasts('second');
    assert.deepEqual(toasts.filter((t) => /Could not open the tunnel/i.test(t) || t.includes(setup.tunnel)), [], `toasts of the window: ${JSON.stringify(toasts)}`);
  });
});
