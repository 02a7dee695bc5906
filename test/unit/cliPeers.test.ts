// `ssh-tunnels up` and `ssh-tunnels mcp` side by side for one user: each sees the other's
// tunnels, an agent reuses (rather than fails on) a forward `up` serves and can close it, and a
// second `up` takes a tunnel over when the first one ends. Real sshd, real processes, a real
// terminal (tmux) and the MCP SDK's client.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { canConnect, freePort } from '../fixtures/sshd';
import { CLI, ROOT, shellLine, tableRow as row, workspace } from '../helpers/cli';
import { echoRoundTrip, waitFor } from '../helpers/net';
import { assertMatchesOutputSchema } from '../helpers/outputSchema';
import { cliSuite } from '../helpers/suite';
import { TmuxPane } from '../helpers/tmux';

interface Tunnel {
  id: string;
  name: string;
  state: string;
  local?: { host: string; port: number };
  servedBy?: string;
}

describe('ssh-tunnels up and mcp side by side', function () {
  this.timeout(120_000);
  const suite = cliSuite();
  let env: NodeJS.ProcessEnv;
  let runtime: string;
  const panes: TmuxPane[] = [];
  let client: Client | undefined;

  beforeEach(() => {
    runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-run-'));
    env = { ...suite.home.env, SSH_TUNNELS_RUNTIME_DIR: runtime };
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    for (const p of panes.splice(0)) p.kill();
    fs.rmSync(runtime, { recursive: true, force: true });
  });

  const call = async (name: string, args: Record<string, unknown>) => {
    const result = (await client!.callTool({ name, arguments: args })) as CallToolResult;
    assert.ok(!result.isError, JSON.stringify(result.content));
    assertMatchesOutputSchema(name, result.structuredContent);
    const text = result.content[0].type === 'text' ? result.content[0].text : '';
    return { text, data: result.structuredContent as Record<string, unknown> };
  };

  it('each sees the other\'s tunnels; an agent reuses and closes the tunnel up serves; a second up takes it over when the first ends', async () => {
    const port = await freePort();
    const ws = workspace(suite.home.home, {
      'sshTunnels.tunnels': [{ name: 'db', server: 'fix', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: suite.echo.port, autoStart: true }],
    }, { allow: suite.home.env });
    const first = new TmuxPane(shellLine([]), { cwd: ws, env });
    panes.push(first);
    await first.waitFor(/1 tunnel through fix: 1 active\. Ctrl-C closes them all\./);

    // The agent sees up's tunnel, marked, with an id that names its process.
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], env: env as Record<string, string>, stderr: 'pipe', cwd: ROOT });
    client = new Client({ name: 'ssh-tunnels-test', version: '1.0.0' });
    await client.connect(transport);
    await client.listTools();
    const listed = await call('ssh_tunnel_list', {});
    const tunnels = listed.data.tunnels as Tunnel[];
    assert.equal(tunnels.length, 1, listed.text);
    assert.equal(tunnels[0].servedBy, 'ssh-tunnels up');
    assert.match(tunnels[0].id, /^\d+-[0-9a-f]+\/t1$/);
    assert.equal(tunnels[0].local?.port, port);
    assert.match(listed.text, /1 served by other processes[\s\S]*"db"[\s\S]*served by ssh-tunnels up/);

    // Asked for the same forward, the agent gets that tunnel rather than a busy port.
    const again = await call('ssh_tunnel_create', { server: 'fix', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: suite.echo.port });
    const reused = (again.data.tunnel as Tunnel);
    assert.equal(reused.id, tunnels[0].id);
    assert.equal(reused.servedBy, 'ssh-tunnels up');
    assert.match(again.text, /is already served by ssh-tunnels up/);

    // A tunnel the agent opens shows in up's table, marked, without counting as up's.
    const proxy = (await call('ssh_tunnel_create', { server: 'fix', type: 'dynamic', localPort: 0 })).data.tunnel as Tunnel;
    await first.waitFor(/1 tunnel through fix: 1 active; 1 more served by other processes\. Ctrl-C closes this command's\./);
    assert.equal(row(first.screen(), proxy.name).STATE, '● active, served by an agent through MCP');

    // A second up for the same workspace: its tunnel is served by the first, not a port failure.
    const second = new TmuxPane(shellLine([]), { cwd: ws, env });
    panes.push(second);
    await second.waitFor(/0 tunnels: 0 active; 2 more served by other processes\./);
    assert.equal(row(second.screen(), 'db').STATE, '● active, served by ssh-tunnels up');
    assert.doesNotMatch(second.screen(), /already in use/);

    // The first ends (Ctrl-C): the second takes db over on the same port, within 3 s.
    first.key('C-c');
    await first.waitFor(/EXIT=0/);
    const endedAt = Date.now();
    await second.waitFor(/db: ssh-tunnels up \(pid \d+\) ended; taking the tunnel over/, 5000);
    await second.waitFor(/1 tunnel through fix: 1 active; 1 more served by other processes/, 5000);
    assert.ok(Date.now() - endedAt < 3000 + 500, `taken over after ${Date.now() - endedAt} ms`);
    assert.equal(row(second.screen(), 'db').STATE, '● active');
    const r = await echoRoundTrip(port, 4096);
    assert.equal(r.received, r.sent);

    // The agent sees the new owner, and closing it asks the second up to close it.
    let owned: Tunnel | undefined;
    await waitFor(async () => {
      owned = ((await call('ssh_tunnel_list', {})).data.tunnels as Tunnel[]).find((t) => t.name === 'db');
      return owned !== undefined && owned.id !== tunnels[0].id;
    }, 3000, 'the agent to see db served by the second up');
    const closed = await call('ssh_tunnel_close', { tunnelId: owned!.id });
    assert.deepEqual(closed.data.closed, [owned!.id]);
    assert.match(closed.text, /ssh-tunnels up closed it/);
    await second.waitFor(/^db .*○ closed/m);
    assert.equal(await canConnect('127.0.0.1', port), false, 'the port is freed');
  });
});
