// The extension inside a real VS Code (code-server or desktop): every command driven with
// arguments, the tree and the status bar read through the API activate() returns, settings
// reconciled live, and workspace trust gating (deactivate: deactivate.last.ts). Tunnels run over
// a real OpenSSH sshd started by the fixture (the extension host runs as the same user).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../../src/extension';
import type { TunnelInfo, TunnelManager } from '../../src/engine';
import { managerActions } from '../../src/catalogue';
import { defaultRuntimeDir, type Peers, type PeersOptions } from '../../src/peers';
import type { TreeNode } from '../../src/ui/tree';
import { SshdFixture } from '../fixtures/sshd';
import { staticServers } from '../helpers/servers';
import { ensureTestUser } from '../helpers/testUser';
import { EXTENSION_ID, get, refused, run, waitFor } from '../helpers/vscode';

const SERVER = 'it-sshd';
const trusted = vscode.workspace.isTrusted;

async function rejects(command: string, args: unknown[], pattern: RegExp): Promise<void> {
  await assert.rejects(Promise.resolve(run(command, ...args)), (err: Error) => {
    assert.match(err.message, pattern);
    return true;
  });
}

/**
 * Accepts the first item of each quick pick of the create-tunnel flow until its forward box
 * shows. An accept that lands on the empty box is refused by its validation, so repeating is safe.
 */
async function throughPicks(): Promise<vscode.InputBox> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const box = apiRef?.inputs.forward;
    if (box) return box;
    if (Date.now() > deadline) throw new Error('the create-tunnel flow never reached its forward input box');
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Accepts the create-tunnel flow's last step, the optional name, as it is (no name). */
async function acceptName(): Promise<void> {
  await waitFor('the name step of the create-tunnel flow', () => apiRef?.inputs.name, 15_000);
  await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
}

/** What an input box says under it: its validation message, whatever its severity. */
function validation(box: vscode.InputBox): string {
  const m = box.validationMessage;
  return typeof m === 'string' ? m : (m?.message ?? '');
}

/** A tooltip as it reads: what it shows as text (addresses, figures, errors) is markdown-escaped in its value. */
function readable(tip: vscode.MarkdownString): string {
  return tip.value.replace(/&nbsp;/g, ' ').replace(/\\([\\`*_{}[\]()#+\-.!|~<>])/g, '$1');
}

let apiRef: SshTunnelsApi | undefined;

const config = () => vscode.workspace.getConfiguration('sshTunnels');

describe('SSH Tunnels extension', function () {
  this.timeout(60_000);
  let api: SshTunnelsApi;
  let sshd: SshdFixture;
  let web: http.Server;
  let webPort: number;

  const serverNode = (): TreeNode | undefined => api.tree.getChildren().find((n) => n.kind === 'server' && n.name === SERVER);
  const tunnelNodes = () => {
    const server = serverNode();
    return server ? api.tree.getChildren(server) : [];
  };
  const itemOf = (id: string) => {
    const node = tunnelNodes().find((n) => n.kind === 'tunnel' && n.id === id);
    assert.ok(node, `tunnel ${id} is not in the tree`);
    // With its tooltip, as VS Code resolves it on hover.
    return api.tree.resolveTreeItem(api.tree.getTreeItem(node), node);
  };

  before(async () => {
    const ext = vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
    api = await ext.activate();
    apiRef = api;
    await api.ready;
    sshd = await SshdFixture.start();
    web = http.createServer((_req, res) => res.end('hello through the tunnel'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
    webPort = (web.address() as net.AddressInfo).port;
  });

  after(async () => {
    await config().update('tunnels', undefined, vscode.ConfigurationTarget.Global);
    if (vscode.workspace.workspaceFolders) await config().update('tunnels', undefined, vscode.ConfigurationTarget.Workspace);
    await config().update('servers', undefined, vscode.ConfigurationTarget.Global);
    web?.close();
    await sshd?.stop();
  });

  describe('activation', () => {
    it('activates and hands back the manager, tree and status bar', () => {
      assert.ok(api.manager && api.tree && api.statusBar && api.settingsTunnels);
      assert.equal(typeof api.activationMs, 'number');
      console.log(`      activation took ${api.activationMs.toFixed(1)} ms`);
      assert.ok(api.activationMs < 1000, `activation took ${api.activationMs} ms`);
    });

    it('shares tunnels with the other processes (a socket in the runtime folder), and reports what starting that cost activation', async () => {
      assert.ok(api.peers, 'sharing with other processes did not start');
      await api.peers.ready();
      console.log(`      of which sharing with other processes: ${api.peersStartMs.toFixed(2)} ms (${api.peersStartCpuMs.toFixed(2)} ms of CPU)`);
      // The budget is 5 ms; on a busy shared machine the figures measured here (wall, and the whole process's CPU) run over it, so only a gross regression fails.
      assert.ok(api.peersStartMs < 100, `sharing with other processes took ${api.peersStartMs} ms of activation`);
      assert.ok(fs.readdirSync(defaultRuntimeDir()).includes(`${process.pid}.sock`), 'no socket of this window in the runtime folder');
    });

    it('registers every command the manifest contributes', async () => {
      const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
      const contributed = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
      const registered = new Set(await vscode.commands.getCommands(true));
      assert.ok(contributed.length >= 15);
      assert.deepEqual(contributed.filter((c) => !registered.has(c)), []);
    });

    it('declares limited support for untrusted workspaces and prefers the UI side', () => {
      const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
      assert.deepEqual(pkg.extensionKind, ['ui', 'workspace']);
      assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
      assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('sshTunnels.tunnels'));
    });
  });

  describe('servers', () => {
    it('addServer writes the server to user settings and the tree shows it', async () => {
      const { alias: _h, ...fields } = sshd.server(SERVER);
      const added = await run<string>('addServer', { host: SERVER, ...fields });
      assert.equal(added, SERVER);
      const written = config().inspect<{ host: string }[]>('servers')?.globalValue ?? [];
      assert.ok(written.some((s) => s.host === SERVER), 'not written to user settings');
      await waitFor('the server in the source', () => api.servers.get(SERVER));
      await waitFor('the server in the tree', () => serverNode());
      const item = api.tree.resolveTreeItem(api.tree.getTreeItem(serverNode()!), serverNode()!);
      assert.equal(item.label, SERVER);
      assert.match(String(item.description), /disconnected/);
      assert.match(String(item.contextValue), /^server\.disconnected/);
      assert.match((item.tooltip as vscode.MarkdownString).value, /From: sshTunnels\.servers/);
    });

    it('addServer refuses secrets, duplicates and a missing alias, and writes nothing', async () => {
      const before = JSON.stringify(config().inspect('servers')?.globalValue);
      await rejects('addServer', [{ host: 'x', hostName: 'h', password: 'hunter2' }], /Secrets are never written to settings/);
      await rejects('addServer', [{ host: SERVER, hostName: 'h' }], /exists already/);
      await rejects('addServer', [{ hostName: 'h' }], /needs a "host" alias/);
      await rejects('addServer', [{ host: 'bad-port', hostName: 'h', port: 70000 }], /port must be a whole number from 1 to 65535; got 70000/);
      await rejects('addServer', [{ host: 'typo', hostname: 'h' }], /unknown field "hostname" \(did you mean "hostName"\?\)/);
      assert.equal(JSON.stringify(config().inspect('servers')?.globalValue), before);
    });

    it('connectServer shows progress while connecting, then the tree shows it connected', async () => {
      let progressWhileConnecting: boolean | undefined;
      const sub = api.manager.onDidChangeServer((s) => {
        if (s.name === SERVER && s.state === 'connecting') progressWhileConnecting = api.progress.showing().includes(SERVER);
      });
      try {
        const status = await run<{ state: string }>('connectServer', SERVER);
        assert.equal(status.state, 'connected');
      } finally {
        sub.dispose();
      }
      assert.equal(progressWhileConnecting, true, 'no progress notification while connecting');
      assert.deepEqual(api.progress.showing(), []);
      await waitFor('connected server item', () => /^server\.connected/.test(String(api.tree.getTreeItem(serverNode()!).contextValue)));
    });

    it('disconnectServer drops the connection', async () => {
      await run('disconnectServer', SERVER);
      assert.equal(api.manager.serverStatus(SERVER).state, 'disconnected');
      await waitFor('disconnected server item', () => /^server\.disconnected/.test(String(api.tree.getTreeItem(serverNode()!).contextValue)));
    });
  });

  describe('settings at activation (workspace fixture: tunnel "boot" on server "it-boot")', () => {
    const boot = () => api.manager.listTunnels().find((t) => t.name === 'boot');

    it(trusted ? 'tried the autoStart tunnel at activation, and opens it once its server is added' : 'withheld the workspace tunnel at activation, and keeps it closed', async () => {
      if (trusted) {
        assert.match(api.settingsTunnels.lastFailure('name:boot') ?? '', /Unknown server "it-boot"/);
        assert.equal(api.settingsTunnels.withheld, 0);
      } else {
        assert.equal(api.settingsTunnels.withheld, 1);
        assert.equal(api.settingsTunnels.configured().length, 0);
      }
      const { alias: _h, ...fields } = sshd.server('it-boot');
      await run('addServer', { host: 'it-boot', ...fields });
      if (trusted) {
        const opened = await waitFor('boot open', () => boot()?.state === 'active' && boot());
        assert.equal(api.settingsTunnels.configured()[0]?.fromWorkspace, true);
        await run('stopTunnel', { kind: 'tunnel', id: opened.id, server: 'it-boot' });
        assert.equal(await refused(opened.localPort), true);
        const server = api.tree.getChildren().find((n) => n.kind === 'server' && n.name === 'it-boot')!;
        const stopped = api.tree.getChildren(server);
        assert.deepEqual(stopped.map((n) => n.kind), ['configured']);
        assert.equal(api.tree.getTreeItem(stopped[0]).label, 'boot');
        // Workspace values override user ones: clear it so the later user-settings tests apply.
        await config().update('tunnels', undefined, vscode.ConfigurationTarget.Workspace);
        await waitFor('boot gone from the tree', () => api.tree.getChildren(server).length === 0);
      } else {
        await waitFor('the server in the source', () => api.servers.get('it-boot'));
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(boot(), undefined, 'a workspace tunnel opened in Restricted Mode');
      }
    });
  });

  describe('tunnels from commands', () => {
    let local: TunnelInfo;

    it('createTunnel with a spec opens a working local forward, shown in the tree and status bar', async () => {
      local = await run<TunnelInfo>('createTunnel', { server: SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: webPort });
      assert.equal(local.state, 'active');
      assert.ok(local.localPort > 0);
      assert.equal(await get(local.localPort), 'hello through the tunnel');

      // The request's connection closes a moment after the response.
      await waitFor('the connection closed', () => api.manager.getTunnel(local.id)?.stats.connectionsActive === 0);
      const item = itemOf(local.id);
      // Issue 31: an unnamed tunnel's row is its port, and where it goes; the kind is its icon.
      assert.equal(item.label, String(local.localPort));
      assert.equal(item.description, `→ 127.0.0.1:${webPort}`);
      assert.equal(item.accessibilityInformation?.label, `local address 127.0.0.1:${local.localPort} forwarded to 127.0.0.1:${webPort} through server ${SERVER}, active`);
      assert.equal(item.contextValue, 'tunnel.active.local.browsable.person');
      assert.equal((item.iconPath as vscode.ThemeIcon).id, 'arrow-right');
      const tip = readable(item.tooltip as vscode.MarkdownString);
      for (const words of ['State: active (up ', 'Traffic: ', 'Connections: 0 open, 1 in all', `ssh -L 127.0.0.1:${local.localPort}:127.0.0.1:${webPort} ${SERVER}`]) assert.ok(tip.includes(words), `tooltip lacks ${words}: ${tip}`);

      await waitFor('status bar with 1 tunnel', () => api.statusBar.item.text === '$(plug) 1 tunnel');
      // Connection counts reach it at most every 250 ms.
      await waitFor('no connection open', () => /^SSH Tunnels: 1 tunnel, no connections open\./.test(api.statusBar.item.accessibilityInformation?.label ?? ''), 5000, () => api.statusBar.item.accessibilityInformation?.label);
      assert.equal(api.statusBar.item.backgroundColor, undefined);
      assert.ok(readable(api.statusBar.item.tooltip as vscode.MarkdownString).includes(`- ${local.localPort} → 127.0.0.1:${webPort} (${SERVER}): active, 0 connections`), readable(api.statusBar.item.tooltip as vscode.MarkdownString));
      const serverItem = api.tree.getTreeItem(serverNode()!);
      assert.match(String(serverItem.description), /connected · 1 tunnel/);
    });

    it('createTunnel reads the OpenSSH forms (-D, -R) and names tunnels', async () => {
      const socks = await run<TunnelInfo>('createTunnel', { server: SERVER, forward: '-D 127.0.0.1:0', name: 'socks' });
      assert.equal(socks.type, 'dynamic');
      assert.equal(socks.name, 'socks');
      assert.equal(itemOf(socks.id).label, 'socks');
      assert.match(String(itemOf(socks.id).description), /^SOCKS proxy on 127\.0\.0\.1:\d+$/);
      assert.equal((itemOf(socks.id).iconPath as vscode.ThemeIcon).id, 'globe');

      const remote = await run<TunnelInfo>('createTunnel', { server: SERVER, forward: `-R 0:127.0.0.1:${webPort}` });
      assert.equal(remote.type, 'remote');
      assert.ok(remote.remotePort! > 0, 'the server picked no port');
      // The server's listener is on the same machine here: it leads back to the web page.
      assert.equal(await get(remote.remotePort!), 'hello through the tunnel');
      assert.equal(itemOf(remote.id).contextValue, 'tunnel.active.remote.person');
      // Which side listens: the server's port, then where it leads here.
      assert.equal(itemOf(remote.id).label, `${SERVER}:${remote.remotePort}`);
      assert.equal(itemOf(remote.id).description, `→ 127.0.0.1:${webPort} here`);
      assert.equal((itemOf(remote.id).iconPath as vscode.ThemeIcon).id, 'arrow-left');
      await waitFor('status bar with 3 tunnels', () => api.statusBar.item.text === '$(plug) 3 tunnels');
      await run('closeTunnel', socks.id);
      await run('closeTunnel', remote.id);
    });

    it('createTunnel from the palette: server and type picks, then a forward validated as typed', async () => {
      const accept = () => vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      const flow = Promise.resolve(run<TunnelInfo | undefined>('createTunnel'));
      flow.catch(() => undefined);
      // Step 1 lists the servers (it-sshd first, as in the settings), step 2 the types (local first).
      const box = await throughPicks();
      assert.match(box.prompt ?? '', /as ssh -L writes it: \[bind_address:\]port:host:hostport/);
      box.value = '8080:db';
      await accept(); // refused: the box stays open with the reason
      await waitFor('the validation message', () => /forward is/.test(validation(box)), 5000);
      assert.match(validation(box), /local \(-L\) forward is/);
      assert.equal(api.inputs.forward, box);
      box.value = `-L 127.0.0.1:0:127.0.0.1:${webPort}`;
      await accept();
      await acceptName();
      const info = await flow;
      assert.ok(info, 'the flow returned no tunnel');
      assert.equal(info.server, SERVER);
      assert.equal(info.state, 'active');
      assert.equal(await get(info.localPort), 'hello through the tunnel');
      await run('closeTunnel', info.id);
    });

    it('createTunnel from the palette takes a socket path (-L /x.sock:host:port) and -R port alone (a SOCKS proxy on the server)', async () => {
      const accept = () => vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      const flow = Promise.resolve(run<TunnelInfo | undefined>('createTunnel'));
      flow.catch(() => undefined);
      const box = await throughPicks();
      assert.match(box.placeholder ?? '', /2375:\/var\/run\/docker\.sock/);
      const sock = path.join(sshd.dir, 'palette.sock');
      box.value = `-L ${sock}:127.0.0.1:${webPort}`;
      await accept();
      await acceptName();
      const info = await flow;
      assert.ok(info, 'the flow returned no tunnel');
      assert.equal(info.localPath, sock);
      assert.equal(await get({ socketPath: sock }), 'hello through the tunnel');
      assert.equal(itemOf(info.id).label, sock);
      assert.equal(itemOf(info.id).description, `→ 127.0.0.1:${webPort}`);
      assert.equal(itemOf(info.id).contextValue, 'tunnel.active.local.person', 'no "open in browser" for a socket file');
      await run('closeTunnel', info.id);

      const socks = await run<TunnelInfo>('createTunnel', { server: SERVER, forward: '-R 0' });
      assert.equal(socks.socks, true);
      assert.match(String(itemOf(socks.id).label), new RegExp(`^${SERVER}:\\d+$`));
      assert.equal(itemOf(socks.id).description, 'SOCKS proxy on the server');
      await run('closeTunnel', socks.id);
    });

    it('a busy port from the palette offers the free one, and taking the offer opens it there', async () => {
      const accept = () => vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      const busy = await run<TunnelInfo>('createTunnel', { server: SERVER, forward: `0:127.0.0.1:${webPort}` });
      const existing = new Set(api.manager.listTunnels().map((t) => t.id));
      const flow = Promise.resolve(run<TunnelInfo | undefined>('createTunnel'));
      flow.catch(() => undefined);
      const box = await throughPicks();
      box.value = `${busy.localPort}:127.0.0.1:${webPort}`;
      await accept();
      await acceptName();
      assert.equal(await flow, undefined, 'the busy port did not fail');
      // The error notification's first button is "Use port N": take it as a person would
      // (repeated until it has shown; with no notification the command does nothing).
      const opened = () => api.manager.listTunnels().find((t) => !existing.has(t.id) && t.state === 'active');
      for (let i = 0; i < 30 && !opened(); i++) {
        await vscode.commands.executeCommand('notification.acceptPrimaryAction');
        await new Promise((r) => setTimeout(r, 300));
      }
      const moved = await waitFor('the tunnel on the offered port', opened);
      assert.ok(moved.localPort > busy.localPort && moved.localPort <= busy.localPort + 20, `offered port ${moved.localPort}`);
      assert.equal(await get(moved.localPort), 'hello through the tunnel');
      await run('closeTunnel', moved.id);
      await run('closeTunnel', busy.id);
    });

    it('createTunnel refuses bad input with an actionable error', async () => {
      await rejects('createTunnel', [{ server: SERVER, forward: '-L 8080:db' }], /local \(-L\) forward is \[bind_address:\]port:host:hostport/);
      await rejects('createTunnel', [{ server: 'nope', type: 'local', localPort: 0, remoteHost: 'h', remotePort: 1 }], /Unknown server "nope"/);
    });

    it('a busy local port fails with PORT_IN_USE and names a free port', async () => {
      await assert.rejects(
        Promise.resolve(run('createTunnel', { server: SERVER, type: 'local', localPort: local.localPort, remoteHost: '127.0.0.1', remotePort: webPort })),
        (err: Error & { code?: string; details?: { suggestion?: number } }) => {
          assert.equal(err.code, 'PORT_IN_USE');
          assert.equal(typeof err.details?.suggestion, 'number');
          assert.match(err.message, new RegExp(`Port ${err.details!.suggestion} is free`));
          return true;
        },
      );
      assert.equal(api.manager.listTunnels().length, 1, 'the failed tunnel stayed around');
    });

    it('copyLocalAddress and openInBrowser give the local address', async () => {
      assert.equal(await run('copyLocalAddress', local.id), `127.0.0.1:${local.localPort}`);
      const url = await Promise.race([
        run<string>('openInBrowser', local.id),
        new Promise<string>((_, reject) => setTimeout(() => reject(new Error('openInBrowser did not return')), 10_000)),
      ]);
      assert.equal(url, `http://127.0.0.1:${local.localPort}/`);
    });

    it('copyMcpConfig copies an MCP client configuration whose command runs the bundled ssh-tunnels', async () => {
      const text = await run<string>('copyMcpConfig');
      assert.equal(await vscode.env.clipboard.readText(), text);
      const entry = (JSON.parse(text) as { mcpServers: Record<string, { command: string; args: string[]; env?: Record<string, string> }> }).mcpServers['ssh-tunnels'];
      const extensionPath = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
      assert.deepEqual(entry.args, [path.join(extensionPath, 'dist', 'cli.js'), 'mcp']);
      const version = execFileSync(entry.command, [entry.args[0], '--version'], { env: { ...process.env, ...entry.env }, encoding: 'utf8' }).trim();
      assert.equal(version, vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.version);
    });

    it('the tree refreshes only the changed element on engine events, and tracks sshd going away', async () => {
      const before = { ...api.tree.refreshes };
      await sshd.kill();
      try {
        await waitFor('reconnecting', () => api.manager.getTunnel(local.id)?.state === 'reconnecting', 15_000, () => api.manager.getTunnel(local.id));
        assert.ok(api.tree.refreshes.tunnel > before.tunnel, 'the tunnel element was not refreshed');
        assert.equal(api.tree.refreshes.root, before.root, 'the whole tree was refreshed for a state change');
        assert.equal((itemOf(local.id).iconPath as vscode.ThemeIcon).id, 'loading~spin');
        assert.ok(api.statusBar.item.backgroundColor, 'no warning look while reconnecting');
        assert.equal(api.statusBar.item.text, '$(sync~spin) 1 tunnel · reconnecting…');
      } finally {
        await sshd.restart();
      }
      await waitFor('active again', () => api.manager.getTunnel(local.id)?.state === 'active', 30_000, () => api.manager.getTunnel(local.id));
      assert.equal((itemOf(local.id).iconPath as vscode.ThemeIcon).id, 'arrow-right');
      assert.equal(api.statusBar.item.backgroundColor, undefined);
      assert.equal(await get(local.localPort), 'hello through the tunnel');
    });

    it('restartTunnel reopens on the same port with a new id', async () => {
      const restarted = await run<TunnelInfo>('restartTunnel', local.id);
      assert.notEqual(restarted.id, local.id);
      assert.equal(restarted.localPort, local.localPort);
      assert.equal(restarted.state, 'active');
      assert.equal(api.manager.getTunnel(local.id), undefined);
      assert.equal(await get(restarted.localPort), 'hello through the tunnel');
      local = restarted;
    });

    it('closeTunnel closes the port and the tree drops the item (refreshing its server only)', async () => {
      const before = { ...api.tree.refreshes };
      await run('closeTunnel', local.id);
      assert.equal(await refused(local.localPort), true);
      assert.equal(tunnelNodes().filter((n) => n.kind === 'tunnel').length, 0);
      assert.ok(api.tree.refreshes.server > before.server);
      assert.equal(api.tree.refreshes.root, before.root);
      await rejects('closeTunnel', [local.id], /No open tunnel has id/);
      await waitFor('status bar at 0', () => api.statusBar.item.text === '$(plug) no tunnels');
    });

    it("closeAll and closeServerTunnels close a server's tunnels", async () => {
      const spec = { server: SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: webPort };
      await run('createTunnel', spec);
      await run('createTunnel', spec);
      assert.equal(await run('closeServerTunnels', SERVER), 2);
      assert.equal(api.manager.listTunnels().length, 0);
      await run('createTunnel', spec);
      assert.equal(await run('closeAll'), 1);
      assert.equal(api.manager.listTunnels().length, 0);
    });
  });

  describe('a tunnel another process serves (tree, status bar)', () => {
    const OTHER = 'it-elsewhere';

    it('shows in the tree as served by it and counts in the status bar; Restart and Close from the tree ask the owner, as in its own process', async () => {
      // A second process's part, in this one: the extension's own Peers and engine classes (its bundle), a further socket in the same folder.
      const PeersOfExtension = (api.peers as object).constructor as unknown as { start(options: PeersOptions): Peers };
      const Manager = api.manager.constructor as typeof TunnelManager;
      const other = new Manager({ servers: staticServers(sshd.server(OTHER)) });
      const closed: TunnelInfo[] = [];
      other.onDidChangeTunnel((t) => t.state === 'closed' && closed.push(t));
      const peers = PeersOfExtension.start({ kind: 'up', manager: other, actions: managerActions(other), log: () => undefined });
      try {
        await peers.ready();
        const opened = await other.createTunnel({ server: OTHER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: webPort, name: 'shared-web' });
        const served = await waitFor('the tunnel served elsewhere', () => api.peers!.list(OTHER).find((t) => t.info.id === opened.id));
        assert.equal(served.info.localPort, opened.localPort);

        const node = await waitFor('its item in the tree', () => {
          const server = api.tree.getChildren().find((n) => n.kind === 'server' && n.name === OTHER);
          return server && api.tree.getChildren(server).find((n) => n.kind === 'elsewhere' && n.id === opened.id);
        });
        const item = api.tree.resolveTreeItem(api.tree.getTreeItem(node), node);
        assert.equal(item.label, 'shared-web');
        assert.equal(item.description, `served by ssh-tunnels up · 127.0.0.1:${opened.localPort} → 127.0.0.1:${webPort}`);
        assert.equal(item.contextValue, 'tunnel.elsewhere');
        assert.match((item.tooltip as vscode.MarkdownString).value, new RegExp(`Served by ssh-tunnels up \\(process ${process.pid}, `));

        // The status bar counts this window's tunnels, then how many others serve.
        const mine = api.manager.listTunnels().length;
        const here = mine === 0 ? 'no tunnels' : mine === 1 ? '1 tunnel' : `${mine} tunnels`;
        await waitFor('status bar with 1 elsewhere', () => api.statusBar.item.text === `$(plug) ${here} · 1 elsewhere`, 5000, () => api.statusBar.item.text);
        assert.match((api.statusBar.item.tooltip as vscode.MarkdownString).value, /Elsewhere: 1 served by ssh-tunnels up/);

        // Restart from the tree: the owner replaces it on the same port, as its own restart would.
        const restarted = await run<TunnelInfo>('restartTunnel', node);
        assert.notEqual(restarted.id, opened.id);
        assert.equal(restarted.localPort, opened.localPort);
        assert.deepEqual(other.listTunnels().map((t) => t.id), [restarted.id]);
        assert.equal(closed.find((t) => t.id === opened.id)?.closeReason, 'replaced');
        assert.equal(await get(restarted.localPort), 'hello through the tunnel');
        const again = await waitFor('the restarted tunnel in the tree', () => {
          const server = api.tree.getChildren().find((n) => n.kind === 'server' && n.name === OTHER);
          return server && api.tree.getChildren(server).find((n) => n.kind === 'elsewhere' && n.id === restarted.id);
        });

        // Close from the tree: closed in the owner, as its person's close; gone here.
        await run('closeTunnel', again);
        assert.deepEqual(other.listTunnels(), []);
        assert.equal(closed.find((t) => t.id === restarted.id)?.closeReason, 'person');
        await waitFor('no longer served elsewhere', () => api.peers!.list(OTHER).length === 0);
        await waitFor('status bar without elsewhere', () => !api.statusBar.item.text.includes('elsewhere'), 5000, () => api.statusBar.item.text);
      } finally {
        await peers.dispose(() => other.dispose());
      }
    });
  });

  describe('settings', () => {
    const tunnel = (name: string, extra: Record<string, unknown> = {}) => ({
      name,
      server: SERVER,
      type: 'local',
      localPort: 0,
      remoteHost: '127.0.0.1',
      remotePort: webPort,
      autoStart: true,
      ...extra,
    });
    const byName = (name: string) => api.manager.listTunnels().find((t) => t.name === name);

    it('autoStart tunnels open when added; others show as stopped items that can be started', async () => {
      await config().update('tunnels', [tunnel('a'), tunnel('b'), tunnel('manual', { autoStart: false })], vscode.ConfigurationTarget.Global);
      const a = await waitFor('a open', () => byName('a')?.state === 'active' && byName('a'));
      await waitFor('b open', () => byName('b')?.state === 'active');
      assert.equal(await get(a.localPort), 'hello through the tunnel');
      assert.equal(byName('manual'), undefined);
      const stopped = tunnelNodes().find((n) => n.kind === 'configured' && n.key === 'name:manual');
      assert.ok(stopped, 'no stopped item for the manual tunnel');
      const item = api.tree.getTreeItem(stopped);
      assert.equal(item.label, 'manual');
      // Issue 31: a stopped row says where it is defined, so its menu offers what fits (edit, remove).
      assert.equal(item.contextValue, 'tunnel.stopped.local.settings');
      assert.equal((item.iconPath as vscode.ThemeIcon).id, 'arrow-right', 'stopped shows its kind (dimmed), not the stop button');

      const started = await run<TunnelInfo>('startTunnel', stopped);
      assert.equal(started.name, 'manual');
      assert.equal(started.state, 'active');
      assert.equal(tunnelNodes().filter((n) => n.kind === 'configured' && n.key === 'name:manual').length, 0);
      await run('stopTunnel', { kind: 'tunnel', id: started.id, server: SERVER });
      await waitFor('manual stopped again', () => tunnelNodes().some((n) => n.kind === 'configured' && n.key === 'name:manual'));
      assert.equal(await refused(started.localPort), true);
    });

    it('restartTunnel on a tunnel from the settings keeps it tied to its entry', async () => {
      const a = byName('a')!;
      const restarted = await run<TunnelInfo>('restartTunnel', a.id);
      assert.notEqual(restarted.id, a.id);
      assert.equal(restarted.name, 'a');
      assert.equal(api.settingsTunnels.keyOf(restarted.id), 'name:a');
      assert.equal(api.manager.listTunnels().filter((t) => t.name === 'a').length, 1);
    });

    it('editing the settings reconciles live: changed restarts, removed closes, new opens, untouched keeps running', async () => {
      const a = byName('a')!;
      const b = byName('b')!;
      await config().update(
        'tunnels',
        [tunnel('a', { localHost: '127.0.0.2' }), tunnel('c'), tunnel('manual', { autoStart: false })],
        vscode.ConfigurationTarget.Global,
      );
      await waitFor('c open', () => byName('c')?.state === 'active');
      await waitFor('b closed', () => !byName('b'));
      const a2 = await waitFor('a restarted', () => byName('a')?.localHost === '127.0.0.2' && byName('a')?.state === 'active' && byName('a'));
      assert.notEqual(a2.id, a.id);
      assert.equal(await refused(b.localPort), true);
      assert.equal(await get(a2.localPort, '127.0.0.2'), 'hello through the tunnel');

      const c = byName('c')!;
      await config().update('tunnels', [tunnel('a', { localHost: '127.0.0.2' }), tunnel('c'), tunnel('d')], vscode.ConfigurationTarget.Global);
      await waitFor('d open', () => byName('d')?.state === 'active');
      assert.equal(byName('a')?.id, a2.id, 'an untouched tunnel was restarted');
      assert.equal(byName('c')?.id, c.id, 'an untouched tunnel was restarted');

      await config().update('tunnels', undefined, vscode.ConfigurationTarget.Global);
      await waitFor('all closed', () => api.manager.listTunnels().length === 0, 15_000, () => api.manager.listTunnels().map((t) => [t.name, t.id, t.state]));
    });

    it('settings entries take localPath, remotePath and socks: a socket here, the server\'s socket, a SOCKS proxy on the server', async () => {
      const here = path.join(sshd.dir, 'from-settings.sock');
      const onServer = path.join(sshd.dir, 'server-side.sock');
      const serverSide = http.createServer((_req, res) => res.end('the server\'s socket'));
      await new Promise<void>((r) => serverSide.listen(onServer, () => r()));
      try {
        await config().update('tunnels', [
          { name: 'sock-here', server: SERVER, type: 'local', localPath: here, remoteHost: '127.0.0.1', remotePort: webPort, autoStart: true },
          { name: 'docker-like', server: SERVER, type: 'local', localPort: 0, remotePath: onServer, autoStart: true },
          { name: 'reverse-socks', server: SERVER, type: 'remote', remotePort: 0, socks: true, autoStart: true },
        ], vscode.ConfigurationTarget.Global);
        await waitFor('all three open', () => ['sock-here', 'docker-like', 'reverse-socks'].every((n) => byName(n)?.state === 'active'), 15_000,
          () => [api.manager.listTunnels().map((t) => [t.name, t.state, t.lastError]), api.settingsTunnels.configured().map((c) => [c.key, api.settingsTunnels.lastFailure(c.key)])]);
        assert.equal(await get({ socketPath: here }), 'hello through the tunnel');
        assert.equal(await get(byName('docker-like')!.localPort), 'the server\'s socket');
        assert.equal(byName('reverse-socks')!.socks, true);
        assert.equal(itemOf(byName('docker-like')!.id).description, `127.0.0.1:${byName('docker-like')!.localPort} → ${onServer}`);
        await config().update('tunnels', undefined, vscode.ConfigurationTarget.Global);
        await waitFor('all closed', () => api.manager.listTunnels().length === 0);
        assert.equal(fs.existsSync(here), false, 'the socket file was removed');
      } finally {
        serverSide.close();
      }
    });

    it(`workspace-defined tunnels open only in a trusted workspace (this run: ${trusted ? 'trusted' : 'Restricted Mode'})`, async () => {
      assert.ok(vscode.workspace.workspaceFolders?.length, 'the runner opened no workspace folder');
      let withheldLogged = false;
      const sub = api.settingsTunnels.onDidWithhold((message) => (withheldLogged = /Restricted Mode/.test(message)));
      await config().update('tunnels', [tunnel('from-workspace')], vscode.ConfigurationTarget.Workspace);
      if (trusted) {
        sub.dispose();
        const opened = await waitFor('workspace tunnel open', () => byName('from-workspace')?.state === 'active' && byName('from-workspace'));
        assert.equal(api.settingsTunnels.configured().find((t) => t.spec.name === 'from-workspace')?.fromWorkspace, true);
        assert.equal(api.settingsTunnels.withheld, 0);
        await config().update('tunnels', undefined, vscode.ConfigurationTarget.Workspace);
        await waitFor('workspace tunnel closed', () => !byName('from-workspace'));
        assert.equal(await refused(opened.localPort), true);
      } else {
        try {
          await waitFor('Restricted Mode saying why the workspace tunnel stays closed', () => withheldLogged);
        } finally {
          sub.dispose();
        }
        assert.equal(api.settingsTunnels.withheld, 1);
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(byName('from-workspace'), undefined, 'a workspace tunnel opened in Restricted Mode');
        assert.equal(api.settingsTunnels.configured().length, 0);
        await config().update('tunnels', undefined, vscode.ConfigurationTarget.Workspace);
      }
    });
  });

  describe('other commands', () => {
    it('forgetSecrets removes the saved secrets of a server', async () => {
      await api.prompts.remember(SERVER, 'password', 'not-a-real-password');
      assert.deepEqual(api.prompts.serversWithSecrets(), [SERVER]);
      assert.equal(await run('forgetSecrets', SERVER), 1);
      assert.equal(await run('forgetSecrets', SERVER), 0);
      assert.deepEqual(api.prompts.serversWithSecrets(), []);
    });

    it('focus (the status bar click) reveals the tree view; the visible view rebuilds a row for new counts only, and never the one whose tooltip is read', async () => {
      assert.equal(api.statusBar.item.command, 'sshTunnels.focus');
      await run('focus');
      await waitFor('the view visible', () => api.treeView.visible);
      const info = await run<TunnelInfo>('createTunnel', { server: SERVER, forward: `0:127.0.0.1:${webPort}` });
      await new Promise((r) => setTimeout(r, 2500));
      // Issue 31: a quiet tunnel's row stays as it is (a rebuilt row closes the hover being read).
      let before = api.tree.refreshes.tunnel;
      await new Promise((r) => setTimeout(r, 4500));
      assert.equal(api.tree.refreshes.tunnel, before, 'a quiet tunnel\'s row was rebuilt');
      // New counts on a row not hovered since it was built: nothing to rebuild (its next hover builds the tooltip).
      assert.equal(await get(info.localPort), 'hello through the tunnel');
      await new Promise((r) => setTimeout(r, 4500));
      assert.equal(api.tree.refreshes.tunnel, before, 'a row with no tooltip was rebuilt');
      // Hovered, then another row hovered: new counts rebuild it, so that its next hover shows them.
      itemOf(info.id);
      api.tree.resolveTreeItem(api.tree.getTreeItem(serverNode()!), serverNode()!);
      before = api.tree.refreshes.tunnel;
      assert.equal(await get(info.localPort), 'hello through the tunnel');
      await waitFor('a timer refresh', () => api.tree.refreshes.tunnel > before, 5000);
      // While its tooltip is asked for (a hover), new counts leave it alone.
      itemOf(info.id);
      before = api.tree.refreshes.tunnel;
      assert.equal(await get(info.localPort), 'hello through the tunnel');
      await new Promise((r) => setTimeout(r, 4500));
      assert.equal(api.tree.refreshes.tunnel, before, 'the row being read was rebuilt');
      await run('closeTunnel', info);
    });

    it('showLog, openSettings and refresh run', async () => {
      const before = api.tree.refreshes.root;
      await run('refresh');
      assert.equal(api.tree.refreshes.root, before + 1);
      await run('showLog');
      await run('openSettings');
    });
  });

  describe('prompts', () => {
    let pwSshd: SshdFixture;
    let password: string;
    const PW = 'it-password';

    before(async () => {
      const account = ensureTestUser();
      password = account.password;
      pwSshd = await SshdFixture.start({ passwordAuthentication: true, extraConfig: ['AuthenticationMethods password'] });
      await run('addServer', {
        host: PW,
        hostName: pwSshd.host,
        port: pwSshd.port,
        user: account.user,
        identityFile: path.join(pwSshd.dir, 'no-such-key'),
        identityAgent: false,
        userKnownHostsFile: pwSshd.knownHostsPath,
        strictHostKeyChecking: 'yes',
      });
      await waitFor('the password server', () => api.servers.get(PW));
    });
    after(async () => {
      await api.prompts.forget(PW);
      await pwSshd?.stop();
    });

    it('a password remembered in SecretStorage logs in without asking, and never reaches settings', async () => {
      await api.prompts.remember(PW, 'password', password);
      const status = await run<{ state: string }>('connectServer', PW);
      assert.equal(status.state, 'connected');
      await waitFor('the sshd log line', () => /Accepted password for/.test(pwSshd.output));
      assert.ok(!JSON.stringify(config().inspect('servers')).includes(password), 'the password is in the settings');
      await run('disconnectServer', PW);
    });

    it('a refused saved password is forgotten, and the person is asked instead', async () => {
      // The engine keeps the password of the test before in memory for the session: start without it.
      await run('forgetSecrets', PW);
      await api.prompts.remember(PW, 'password', 'not-the-password');
      const attempt = async () => {
        let settled = false;
        const connecting = Promise.resolve(run('connectServer', PW)).finally(() => (settled = true));
        connecting.catch(() => undefined); // awaited below; this only marks it handled meanwhile
        // Once the saved answer failed, the next ask shows a password box: dismiss it as a person would.
        await waitFor('the saved password forgotten, or the attempt over', () => settled || !api.prompts.serversWithSecrets().includes(PW), 20_000);
        if (!settled) {
          await new Promise((r) => setTimeout(r, 300));
          await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
        }
        return connecting;
      };
      await assert.rejects(attempt(), /password|authenticat/i);
      if (api.prompts.serversWithSecrets().includes(PW)) {
        // The engine tried the password once per connection: the next connection asks the person.
        await assert.rejects(attempt(), /password|authenticat/i);
      }
      assert.deepEqual(api.prompts.serversWithSecrets(), []);
    });

    it('an unknown host key is put to the person (a refused dialog rejects it) and nothing is remembered', async () => {
      const knownHosts = path.join(sshd.dir, 'empty_known_hosts');
      fs.writeFileSync(knownHosts, '');
      const { alias: _h, strictHostKeyChecking: _s, ...fields } = sshd.server('it-new-host');
      await run('addServer', { ...fields, host: 'it-new-host', userKnownHostsFile: knownHosts });
      await waitFor('the new server', () => api.servers.get('it-new-host'));
      const asked: { keyType: string; fingerprint: string; answer: string }[] = [];
      const sub = api.prompts.onDidAnswerHostKey((q) => asked.push(q));
      try {
        // In test mode VS Code refuses modal dialogs: an unanswered question means "no".
        await assert.rejects(Promise.resolve(run('connectServer', 'it-new-host')), /was not trusted/);
      } finally {
        sub.dispose();
      }
      assert.equal(asked.length, 1);
      assert.equal(asked[0].answer, 'reject');
      assert.equal(asked[0].keyType, 'ssh-ed25519');
      assert.match(asked[0].fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
      assert.equal(fs.readFileSync(knownHosts, 'utf8'), '');
    });
  });
});
