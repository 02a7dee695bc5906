// Forward a Port from Server… and the tunnels' attributes, in a real VS Code over a real sshd:
// the quick pick lists what the server listens on with its processes, the picked port opens (on
// the next free port when its own is busy) and carries data; protocol https opens https://…;
// onForward openBrowserOnce opens once and remembers it; requireLocalPort false takes the next
// port; a busy port's error names the process that holds it.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../../src/extension';
import type { TunnelInfo } from '../../src/engine';
import { freePort, SshdFixture } from '../fixtures/sshd';
import { startListener, type ListenerProcess } from '../helpers/listeners';
import { EXTENSION_ID, get, run, waitFor } from '../helpers/vscode';

const SERVER = 'ports-sshd';
const config = () => vscode.workspace.getConfiguration('sshTunnels');

describe('Forward a Port from Server, and the tunnels\' attributes', function () {
  this.timeout(60_000);
  let api: SshTunnelsApi;
  let sshd: SshdFixture;
  let web: http.Server;
  let webPort: number;
  const held: ListenerProcess[] = [];
  const opened: string[] = [];

  before(async function () {
    // The settings' tunnels open only in a trusted workspace; user settings serve both modes.
    api = await vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID)!.activate();
    await api.ready;
    sshd = await SshdFixture.start();
    web = http.createServer((_req, res) => res.end('a web page on the server'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
    webPort = (web.address() as net.AddressInfo).port;
    const { alias: _a, ...fields } = sshd.server(SERVER);
    await config().update('servers', [...(config().inspect<unknown[]>('servers')?.globalValue ?? []), { host: SERVER, ...fields }], vscode.ConfigurationTarget.Global);
    await waitFor('the server', () => api.servers.get(SERVER));
    // No page leaves for a real browser: what would open is recorded.
    api.attributes.opener.external = async (uri) => (opened.push(uri.toString()), true);
  });

  /** Where the window reads sshTunnels.tunnels from: the workspace's list when it has one (trusted), else the user's. */
  const tunnelsTarget = () => (vscode.workspace.isTrusted && config().inspect('tunnels')?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
  let workspaceTunnels: unknown;

  after(async () => {
    if (tunnelsTarget() === vscode.ConfigurationTarget.Workspace) await config().update('tunnels', workspaceTunnels, vscode.ConfigurationTarget.Workspace);
    await config().update('tunnels', undefined, vscode.ConfigurationTarget.Global);
    const servers = (config().inspect<{ host: string }[]>('servers')?.globalValue ?? []).filter((s) => s.host !== SERVER);
    await config().update('servers', servers.length ? servers : undefined, vscode.ConfigurationTarget.Global);
    await api.manager.closeServer(SERVER).catch(() => undefined);
    await Promise.all(held.map((h) => h.stop()));
    web?.close();
    await sshd?.stop();
  });

  it('the quick pick lists what the server listens on with its processes; the picked port opens (its own port busy: the next one) and carries data', async () => {
    const running = Promise.resolve(run<TunnelInfo | undefined>('forwardPort', SERVER));
    const pick = await waitFor('the ports quick pick', () => api.inputs.ports, 30_000);
    const item = pick.items.find((i) => i.label === String(webPort));
    assert.ok(item, `port ${webPort} is listed: ${pick.items.map((i) => i.label).join(', ')}`);
    assert.match(item.description ?? '', new RegExp(`^loopback · node \\(pid ${process.pid}\\)$`));
    assert.ok(pick.items.some((i) => i.label === String(sshd.port) && /sshd/.test(i.description ?? '')), 'the sshd itself is listed, named');
    pick.activeItems = [item];
    // The workbench shows the active item a moment later; the accept takes what it shows.
    await new Promise((r) => setTimeout(r, 500));
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    const info = await running;
    assert.ok(info, 'a tunnel opened');
    // This machine is the server: its own port is held here (by this very web server), so the next one is taken.
    assert.notEqual(info.localPort, webPort);
    assert.equal(info.remotePort, webPort);
    assert.equal(await get(info.localPort), 'a web page on the server');
    // Picked again, it is marked as forwarded and not opened twice.
    const again = Promise.resolve(run<TunnelInfo | undefined>('forwardPort', SERVER));
    const second = await waitFor('the ports quick pick, again', () => api.inputs.ports, 30_000);
    const marked = second.items.find((i) => i.label === `$(pass-filled) ${webPort}`);
    assert.ok(marked, 'the forwarded port is marked');
    assert.equal(marked.detail, `forwarded to 127.0.0.1:${info.localPort}`);
    second.activeItems = [marked];
    await new Promise((r) => setTimeout(r, 500));
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    assert.equal((await again)?.id, info.id);
    await api.manager.closeTunnel(info.id);
  });

  describe('attributes of sshTunnels.tunnels (trusted or not: user settings)', () => {
    const openTunnel = async (entry: Record<string, unknown>) => {
      // Next to the workspace's own entries when it has some (they hide the user's in a trusted window).
      const target = tunnelsTarget();
      const theirs = target === vscode.ConfigurationTarget.Workspace ? (config().inspect<unknown[]>('tunnels')?.workspaceValue ?? []) : [];
      workspaceTunnels ??= target === vscode.ConfigurationTarget.Workspace ? theirs : undefined;
      const own = (workspaceTunnels as unknown[] | undefined) ?? [];
      await config().update('tunnels', [...own, { server: SERVER, remoteHost: '127.0.0.1', remotePort: webPort, autoStart: true, ...entry }], target);
      return waitFor(`the tunnel ${String(entry.name)}`, () => api.manager.listTunnels(SERVER).find((t) => t.name === entry.name && t.state === 'active'), 20_000);
    };

    it('protocol https: Open in Browser hands the opener https://127.0.0.1:PORT/, Copy Local Address copies it', async () => {
      const info = await openTunnel({ name: 'secure', localPort: 0, protocol: 'https' });
      const url = await run<string>('openInBrowser', info.id);
      assert.equal(url, `https://127.0.0.1:${info.localPort}/`);
      assert.equal(opened.at(-1), url, 'the URI handed to the opener');
      assert.equal(await run<string>('copyLocalAddress', info.id), url);
    });

    it('onForward openBrowserOnce: the page opens when the tunnel is first active, and not again (remembered in the global state, across restarts)', async () => {
      const before = opened.length;
      const info = await openTunnel({ name: 'once', localPort: 0, onForward: 'openBrowserOnce' });
      await waitFor('the page opened', () => opened.length > before);
      assert.equal(opened.at(-1), `http://127.0.0.1:${info.localPort}/`);
      const restarted = await run<TunnelInfo>('restartTunnel', info.id);
      await waitFor('restarted', () => api.manager.getTunnel(restarted.id)?.state === 'active');
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(opened.length, before + 1, 'opened once only');
      assert.equal(api.attributes.opener.opened.filter((o) => /openBrowserOnce/.test(o.why)).length, 1);
    });

    it('requireLocalPort false on a busy port opens the next one; without it the error names the process that holds the port', async () => {
      const busy = await freePort();
      held.push(await startListener('127.0.0.1', busy));
      const info = await openTunnel({ name: 'moved', localPort: busy, requireLocalPort: false });
      assert.ok(info.localPort > busy && info.localPort <= busy + 20, `opened on ${info.localPort}`);
      assert.equal(await get(info.localPort), 'a web page on the server');
      await assert.rejects(Promise.resolve(run('createTunnel', { server: SERVER, forward: `${busy}:127.0.0.1:${webPort}` })), (err: Error) => {
        assert.match(err.message, new RegExp(`^Local port ${busy} on 127\\.0\\.0\\.1 is held by node \\(pid ${held[0].pid}\\)\\. Port \\d+ is free\\.$`));
        return true;
      });
    });
  });
});
