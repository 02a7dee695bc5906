// The tunnel tools called as an agent calls them, through vscode.lm.invokeTool, in a window where
// VS Code shows their confirmation dialogs (no test module loaded); the runner's Chromium answers
// the dialogs. Runs once trusted and once in Restricted Mode.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../../src/extension';
import type { TreeNode } from '../../src/ui/tree';
import { freePort, SshdFixture } from '../fixtures/sshd';
import { bound } from '../helpers/net';
import { EXTENSION_ID, get, waitFor } from '../helpers/vscode';
import { driver } from './driver';

const SERVER = 'agent-sshd';
const trusted = vscode.workspace.isTrusted;

/** A call as an agent makes it: no chat request, so no invocation token. */
function invoke(name: string, input: object, token?: vscode.CancellationToken): Promise<string> {
  return Promise.resolve(vscode.lm.invokeTool(name, { input, toolInvocationToken: undefined }, token)).then((result) =>
    result.content.map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : '')).join(''),
  );
}

/** Resolves with what `promise` did within `ms`, or 'pending'. */
function within<T>(promise: Promise<T>, ms: number): Promise<{ value?: T; error?: Error } | 'pending'> {
  return Promise.race([promise.then((value) => ({ value }), (error: Error) => ({ error })), new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);
}

describe(`agent tools through vscode.lm.invokeTool (${trusted ? 'trusted' : 'Restricted Mode'})`, function () {
  this.timeout(60_000);
  let api: SshTunnelsApi;
  let sshd: SshdFixture;
  let web: http.Server;
  let webPort: number;
  const config = () => vscode.workspace.getConfiguration('sshTunnels');
  const tunnelSettings = () => JSON.stringify(config().inspect('tunnels'));
  let tunnelSettingsBefore: string;

  const tunnelItem = (id: string) => {
    const server = api.tree.getChildren().find((n) => n.kind === 'server' && n.name === SERVER);
    const node = server && api.tree.getChildren(server).find((n: TreeNode) => n.kind === 'tunnel' && n.id === id);
    return node ? api.tree.resolveTreeItem(api.tree.getTreeItem(node), node) : undefined;
  };

  before(async () => {
    const ext = vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not loaded`);
    api = await ext.activate();
    await api.ready;
    sshd = await SshdFixture.start();
    web = http.createServer((_req, res) => res.end('hello, agent'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
    webPort = (web.address() as net.AddressInfo).port;
    const { alias: _h, ...fields } = sshd.server(SERVER);
    await vscode.commands.executeCommand('sshTunnels.addServer', { host: SERVER, ...fields });
    await waitFor('the server', () => api.servers.get(SERVER));
    tunnelSettingsBefore = tunnelSettings();
  });

  after(async () => {
    await api?.manager.closeServer(SERVER);
    await api?.manager.closeServer('agent-newhost');
    await config().update('servers', undefined, vscode.ConfigurationTarget.Global);
    web?.close();
    await sshd?.stop();
  });

  it('runs in the trust mode the runner chose', () => {
    assert.equal(trusted, process.env.SSH_TUNNELS_TEST_TRUST === 'trusted');
  });

  it('the four tools are registered, and sshTunnels.agentTools.enabled removes and restores them', async () => {
    const ours = () => vscode.lm.tools.map((t) => t.name).filter((n) => /^ssh_(tunnel|connection)_/.test(n)).sort();
    assert.deepEqual(ours(), ['ssh_connection_status', 'ssh_tunnel_close', 'ssh_tunnel_create', 'ssh_tunnel_list']);
    await config().update('agentTools.enabled', false, vscode.ConfigurationTarget.Global);
    try {
      await waitFor('the tools gone', () => ours().length === 0);
    } finally {
      await config().update('agentTools.enabled', undefined, vscode.ConfigurationTarget.Global);
    }
    await waitFor('the tools back', () => ours().length === 4);
  });

  it('ssh_connection_status answers at once, with no dialog: alias, user@host:port, where defined, state', async () => {
    const outcome = await within(invoke('ssh_connection_status', {}), 10_000);
    assert.notEqual(outcome, 'pending', 'the call waited (for a dialog?)');
    const text = (outcome as { value: string }).value;
    assert.ok(text.includes(`- ${SERVER}: ${sshd.user}@127.0.0.1:${sshd.port}, defined in settings; disconnected, 0 tunnels`), text);
    assert.equal(await driver.dialogShowing(), false);
  });

  if (!trusted) {
    it('Restricted Mode refuses create and close, saying the workspace must be trusted first, and asks nothing', async () => {
      const port = await freePort();
      for (const [name, input] of [
        ['ssh_tunnel_create', { server: SERVER, type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: webPort }],
        ['ssh_tunnel_close', { server: SERVER }],
      ] as const) {
        const outcome = await within(invoke(name, input), 10_000);
        assert.notEqual(outcome, 'pending', `${name} waited (for a dialog?)`);
        const error = (outcome as { error?: Error }).error;
        assert.ok(error, `${name} was not refused`);
        assert.match(error.message, new RegExp(`${name} is refused in Restricted Mode: the workspace must be trusted first`));
      }
      assert.equal(await driver.dialogShowing(), false);
      assert.deepEqual(api.manager.listTunnels(SERVER), []);
      assert.equal(await bound(port), false);
      // Reading stays allowed.
      assert.match(await invoke('ssh_tunnel_list', {}), /No tunnels are open/);
    });
    return;
  }

  let agentTunnel: { id: string; port: number };

  it('create asks first in plain words; approved, the tunnel opens, carries data and shows in the tree as the agent\'s', async () => {
    const call = invoke('ssh_tunnel_create', { server: SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: webPort, name: 'agent-web' });
    const dialog = await driver.answerDialog('Yes');
    assert.match(dialog.text, new RegExp(`Open an SSH tunnel through ${SERVER}\\?`));
    assert.ok(dialog.text.includes(`An agent asks to open a local forward (-L) through ${SERVER} (${sshd.user}@127.0.0.1:${sshd.port}): listen on 127.0.0.1, on a free port on this machine and forward each connection through ${SERVER} to 127.0.0.1:${webPort}`), dialog.text);
    const text = await call;
    const m = /Opened tunnel (t\d+) "agent-web" .*Connect to 127\.0\.0\.1:(\d+) to reach/.exec(text);
    assert.ok(m, text);
    agentTunnel = { id: m[1], port: Number(m[2]) };
    assert.equal(await get(agentTunnel.port), 'hello, agent');
    const info = api.manager.getTunnel(agentTunnel.id)!;
    assert.equal(info.openedBy, 'agent');
    assert.equal(info.state, 'active');
    const item = await waitFor('the tunnel in the tree', () => tunnelItem(agentTunnel.id));
    assert.match(String(item.description), /opened by an agent/);
    assert.match((item.tooltip as vscode.MarkdownString).value, /Opened by an agent/);
    assert.equal(tunnelSettings(), tunnelSettingsBefore, 'an agent\'s tunnel is never written to settings');
  });

  it('create cancelled in the dialog opens nothing', async () => {
    const port = await freePort();
    const before = api.manager.listTunnels().map((t) => t.id);
    const call = invoke('ssh_tunnel_create', { server: SERVER, type: 'dynamic', localPort: port });
    const dialog = await driver.answerDialog('Cancel');
    assert.match(dialog.text, new RegExp(`open a SOCKS5 proxy on 127\\.0\\.0\\.1:${port} on this machine`));
    await assert.rejects(call, (err: Error) => err.name === 'Canceled' || /Canceled/.test(err.message));
    assert.deepEqual(api.manager.listTunnels().map((t) => t.id), before);
    assert.equal(await bound(port), false);
  });

  it('ssh_tunnel_list shows no dialog and lists the agent\'s tunnel with its traffic', async () => {
    const outcome = await within(invoke('ssh_tunnel_list', { server: SERVER }), 10_000);
    assert.notEqual(outcome, 'pending', 'the call waited (for a dialog?)');
    const text = (outcome as { value: string }).value;
    assert.match(text, new RegExp(`- ${agentTunnel.id} "agent-web" \\(local, 127\\.0\\.0\\.1:${agentTunnel.port} → 127\\.0\\.0\\.1:${webPort}, server ${SERVER}\\): active, opened by an agent .*connections 0 active, 1 total`));
    assert.equal(await driver.dialogShowing(), false);
  });

  it('a refusal reaches the agent as the error, before any dialog', async () => {
    const outcome = await within(invoke('ssh_tunnel_create', { server: SERVER, type: 'local', localHost: '0.0.0.0', localPort: 0, remotePort: webPort }), 10_000);
    assert.notEqual(outcome, 'pending');
    assert.match((outcome as { error: Error }).error.message, /"0\.0\.0\.0" is not a loopback address.*sshTunnels\.agentTools\.allowNonLoopback/);
    const unknown = await within(invoke('ssh_tunnel_create', { server: 'nope', type: 'local', remotePort: webPort }), 10_000);
    assert.match((unknown as { error: Error }).error.message, new RegExp(`Unknown server "nope"\\. Known servers: .*${SERVER}`));
    assert.equal(await driver.dialogShowing(), false);
  });

  it('the host-key question reaches the person as for any tunnel; a call cancelled meanwhile (its token) leaves nothing open', async () => {
    const knownHosts = path.join(sshd.dir, 'agent_empty_known_hosts');
    fs.writeFileSync(knownHosts, '');
    const { alias: _h, strictHostKeyChecking: _s, ...fields } = sshd.server('agent-newhost');
    await vscode.commands.executeCommand('sshTunnels.addServer', { ...fields, host: 'agent-newhost', userKnownHostsFile: knownHosts });
    await waitFor('the new server', () => api.servers.get('agent-newhost'));
    const port = await freePort();
    const cancel = new vscode.CancellationTokenSource();
    const call = invoke('ssh_tunnel_create', { server: 'agent-newhost', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: webPort }, cancel.token);
    await driver.answerDialog('Yes');
    const question = await driver.readDialog();
    assert.match(question.text, /The authenticity of agent-newhost .* cannot be established/);
    cancel.cancel();
    await assert.rejects(call, (err: Error) => err.name === 'Canceled' || /Canceled|Cancelled/.test(err.message));
    assert.deepEqual(api.manager.listTunnels('agent-newhost'), []);
    // Answered after the cancel, even "trust": still nothing opens.
    await driver.answerDialog('Trust once');
    const deadline = Date.now() + 5000;
    while ((await bound(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await bound(port), false, 'nothing listens');
    assert.equal(api.manager.serverStatus('agent-newhost').state, 'disconnected');
    assert.deepEqual(api.manager.listTunnels('agent-newhost'), []);
  });

  it('close asks first, saying how many live connections it cuts; approved, it closes', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: agentTunnel.port });
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('connect', r));
    await waitFor('the live connection', () => api.manager.getTunnel(agentTunnel.id)?.stats.connectionsActive === 1);
    const closed = new Promise((r) => socket.once('close', r));
    const call = invoke('ssh_tunnel_close', { tunnelId: agentTunnel.id });
    const dialog = await driver.answerDialog('Yes');
    assert.match(dialog.text, new RegExp(`Close SSH tunnel ${agentTunnel.id}\\?`));
    assert.match(dialog.text, /opened by an agent\. 1 live connection will be cut\./);
    assert.match(await call, new RegExp(`^Closed ${agentTunnel.id} "agent-web" .*\\. 1 live connection was cut\\.$`));
    await closed;
    assert.equal(api.manager.getTunnel(agentTunnel.id), undefined);
    assert.equal(await bound(agentTunnel.port), false);
  });
  it('a tunnel from settings that an agent closed (approved) stays stopped when the settings are read again', async () => {
    const entry = { name: 'agent-settings', server: SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: webPort, autoStart: true };
    // The workspace's settings define tunnels too (they win over user settings): add to them.
    const previous = config().inspect<unknown[]>('tunnels')?.workspaceValue;
    await config().update('tunnels', [...(previous ?? []), entry], vscode.ConfigurationTarget.Workspace);
    try {
      const running = await waitFor('the settings tunnel running', () => api.manager.listTunnels(SERVER).find((t) => t.name === 'agent-settings' && t.state === 'active'));
      assert.equal(running.openedBy, 'settings');
      const call = invoke('ssh_tunnel_close', { tunnelId: running.id });
      const dialog = await driver.answerDialog('Yes');
      assert.match(dialog.text, /opened by settings\. No live connections will be cut\./);
      assert.match(await call, new RegExp(`^Closed ${running.id} "agent-settings"`));
      await api.settingsTunnels.reconcile();
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(api.manager.listTunnels(SERVER).filter((t) => t.name === 'agent-settings'), [], 'reopened by the next reconcile');
      assert.ok(api.settingsTunnels.stopped(SERVER).some((t) => t.spec.name === 'agent-settings'), 'shown as stopped');
    } finally {
      await config().update('tunnels', previous, vscode.ConfigurationTarget.Workspace);
    }
  });
});
