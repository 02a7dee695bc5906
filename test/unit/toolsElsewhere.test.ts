// The agent tools with tunnels other processes serve (ToolHost.peers): listed and marked,
// reused by a create instead of a port failure, closed by asking their owner. Two Peers over one
// runtime folder, each with its own engine, against a real sshd.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelManager, type TunnelSpec } from '../../src/engine';
import { managerActions } from '../../src/catalogue';
import { Peers } from '../../src/peers';
import { LIST_LIMIT, ToolError, TunnelTools, type ToolResult } from '../../src/tools';
import { freePort } from '../fixtures/sshd';
import { bound, echoRoundTrip, waitFor } from '../helpers/net';
import { assertMatchesOutputSchema } from '../helpers/outputSchema';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';

type Data = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('agent tools: tunnels served by other processes', function () {
  this.timeout(60_000);
  const env = sshdWithEcho();
  let dir: string;
  let window: { manager: TunnelManager; peers: Peers };
  let agent: { manager: TunnelManager; peers: Peers; tools: TunnelTools };
  let logs: string[];

  const side = (kind: 'window' | 'mcp', folder?: string) => {
    const manager = new TunnelManager({ servers: staticServers(env.sshd.server('test')) });
    const peers = Peers.start({ kind, folder, dir, manager, actions: managerActions(manager), log: (l) => logs.push(l) });
    return { manager, peers };
  };
  const invoke = async (name: string, input: unknown): Promise<ToolResult & { data: Data }> => {
    const result = await agent.tools.invoke(name, input);
    assertMatchesOutputSchema(name, result.data);
    return result as ToolResult & { data: Data };
  };

  beforeEach(async () => {
    logs = [];
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-'));
    window = side('window', 'api');
    await window.peers.ready();
    const a = side('mcp');
    agent = { ...a, tools: new TunnelTools({ manager: a.manager, servers: staticServers(env.sshd.server('test')), peers: a.peers }) };
    await agent.peers.ready();
  });
  afterEach(async () => {
    await agent.peers.dispose(() => agent.manager.dispose());
    await window.peers.dispose(() => window.manager.dispose());
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists them marked, with ids that name their process; a create of the same forward answers with it; a close asks the owner', async () => {
    const port = await freePort();
    const spec: TunnelSpec = { server: 'test', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: env.echo.port };
    const served = await window.manager.createTunnel({ ...spec, name: 'db' });
    await waitFor(() => agent.peers.serving(spec) !== undefined, 2000, 'the agent side to see it');
    const id = `${window.peers.self.id}/${served.id}`;

    const list = await invoke('ssh_tunnel_list', {});
    assert.equal(list.data.total, 1);
    assert.equal(list.data.tunnels[0].id, id);
    assert.equal(list.data.tunnels[0].servedBy, 'window of folder api');
    assert.match(list.text, /served by window of folder api \(pid \d+\)/);
    assert.equal((await invoke('ssh_tunnel_list', { server: 'test' })).data.total, 1, 'the server filter counts them');

    const created = await invoke('ssh_tunnel_create', { ...spec });
    assert.equal(created.data.tunnel.id, id);
    assert.equal(created.data.tunnel.servedBy, 'window of folder api');
    assert.match(created.text, /already served by window of folder api/);
    assert.equal(agent.manager.listTunnels().length, 0, 'nothing opened twice');

    const question = agent.tools.confirmation('ssh_tunnel_close', { tunnelId: id });
    assert.match(question!.message, /window of folder api will close it/);
    const closed = await invoke('ssh_tunnel_close', { tunnelId: id });
    assert.deepEqual(closed.data.closed, [id]);
    assert.equal(window.manager.listTunnels().length, 0, 'the owner closed it');
    assert.equal(await bound(port), false);
    await waitFor(() => agent.peers.list().length === 0, 2000, 'the close to be told');
    const again = await invoke('ssh_tunnel_close', { tunnelId: id });
    assert.deepEqual(again.data.closed, []);
    assert.match(again.text, /No open tunnel has id/);
  });

  it('a create whose port the other process wins meanwhile answers with its tunnel; a port some program holds still fails', async () => {
    const port = await freePort();
    const spec: TunnelSpec = { server: 'test', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: env.echo.port };
    // Both at once: one binds, the other finds the port taken and learns who serves it.
    const [mine, theirs] = await Promise.allSettled([invoke('ssh_tunnel_create', { ...spec }), window.manager.createTunnel(spec)]);
    if (theirs.status === 'fulfilled') {
      assert.equal(mine.status, 'fulfilled', String((mine as PromiseRejectedResult).reason));
      assert.equal((mine as PromiseFulfilledResult<Data>).value.data.tunnel.servedBy, 'window of folder api');
    } else {
      assert.equal(mine.status, 'fulfilled');
      assert.equal((mine as PromiseFulfilledResult<Data>).value.data.tunnel.servedBy, undefined);
    }
    const r = await echoRoundTrip(port, 1024);
    assert.equal(r.received, r.sent);
    // A port some other program holds: no process claims it, so the refusal comes at once.
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => busy.once('listening', resolve));
    try {
      const t0 = Date.now();
      await assert.rejects(invoke('ssh_tunnel_create', { ...spec, localPort: (busy.address() as net.AddressInfo).port }), (err: ToolError) => err.code === 'PORT_IN_USE');
      assert.ok(Date.now() - t0 < 1500, `refused after ${Date.now() - t0} ms`);
    } finally {
      busy.close();
    }
  });

  it('a create of a fixed remote port the other process wins meanwhile answers with its tunnel (the server refused the second)', async () => {
    const remotePort = await freePort();
    const spec: TunnelSpec = { server: 'test', type: 'remote', localPort: env.echo.port, localHost: '127.0.0.1', remoteHost: '127.0.0.1', remotePort };
    // The window's connection is up, so its request reaches the server first; it is not announced while it opens.
    await window.manager.connectServer('test');
    const theirs = window.manager.createTunnel(spec);
    const mine = await invoke('ssh_tunnel_create', { ...spec });
    await theirs;
    assert.equal(mine.data.tunnel.servedBy, 'window of folder api');
    assert.equal(agent.manager.listTunnels().length + window.manager.listTunnels().length, 1, 'one tunnel holds the port');
    const r = await echoRoundTrip(remotePort, 1024);
    assert.equal(r.received, r.sent);
  });

  it(`keeps the list within ${LIST_LIMIT} entries, its own first, and counts the rest`, async () => {
    for (let i = 0; i < 40; i++) await agent.manager.createTunnel({ server: 'test', type: 'dynamic', localPort: 0 });
    for (let i = 0; i < 15; i++) await window.manager.createTunnel({ server: 'test', type: 'dynamic', localPort: 0 });
    await waitFor(() => agent.peers.list().length === 15, 5000, 'the window\'s 15 tunnels');
    const list = await invoke('ssh_tunnel_list', {});
    assert.equal(list.data.total, 55);
    assert.equal(list.data.tunnels.length, LIST_LIMIT);
    assert.equal(list.data.omitted, 5);
    assert.equal(list.data.tunnels.filter((t: Data) => t.servedBy).length, 10);
    assert.ok(list.data.tunnels.slice(0, 40).every((t: Data) => !t.servedBy));
  });

  it('closing a tunnel whose process ends before it answers fails with why, and changes nothing here', async () => {
    // An owner that has not answered yet (its person still deciding) when it ends.
    const manager = new TunnelManager({ servers: staticServers(env.sshd.server('test')) });
    const hung = Peers.start({ kind: 'window', folder: 'web', dir, manager, actions: { close: () => new Promise(() => undefined), restart: () => new Promise(() => undefined) }, log: () => undefined });
    try {
      const served = await manager.createTunnel({ server: 'test', type: 'dynamic', localPort: 0 });
      await waitFor(() => agent.peers.list().length === 1, 2000, 'the agent side to see it');
      const id = `${hung.self.id}/${served.id}`;
      const asked = agent.tools.invoke('ssh_tunnel_close', { tunnelId: id });
      await waitFor(() => logs.length > 0 && agent.peers.peers().length === 2, 1000, 'the question to leave');
      await new Promise((r) => setTimeout(r, 100));
      await hung.dispose();
      const result = (await asked) as ToolResult & { data: Data };
      assertMatchesOutputSchema('ssh_tunnel_close', result.data);
      assert.deepEqual(result.data.closed, []);
      assert.equal(result.data.failures.length, 1);
      assert.match(result.data.failures[0], new RegExp(`^${id}: window of folder web \\(pid \\d+\\) has ended before it answered`));
      assert.match(result.text, /Could not close/);
      assert.equal(agent.manager.listTunnels().length, 0);
    } finally {
      await hung.dispose();
      await manager.dispose();
    }
  });
});
