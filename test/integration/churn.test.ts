// The tree and the status bar under connection churn: the engine reports connection counts every
// turn of the event loop, and neither redraws for each report (the bench's editor rows measure
// what that costs the extension host: bench/editorLoop.ts). A state change still shows at once.
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../../src/extension';
import type { TunnelInfo } from '../../src/engine';
import { TunnelStatusBar } from '../../src/ui/statusBar';
import { SshdFixture } from '../fixtures/sshd';
import { EXTENSION_ID, waitFor } from '../helpers/vscode';

const SERVER = 'it-churn';
const config = () => vscode.workspace.getConfiguration('sshTunnels');

/** Connects, sends a byte, waits for its echo and closes, `total` times, `concurrency` at a time. */
async function churn(port: number, total: number, concurrency: number): Promise<void> {
  let started = 0;
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.setTimeout(10_000, () => s.destroy(new Error(`no echo through port ${port}`)));
      s.once('error', reject);
      s.once('connect', () => s.write('x'));
      s.once('data', () => {
        s.destroy();
        resolve();
      });
    });
  const worker = async () => {
    while (started < total) {
      started++;
      await once();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

describe('tree and status bar under connection churn', function () {
  this.timeout(60_000);
  let api: SshTunnelsApi;
  let sshd: SshdFixture;
  let echo: net.Server;
  let tunnel: TunnelInfo;
  /** The status bar says no connection is open (in its screen-reader label: the text counts tunnels only). */
  const idle = () => /, no connections open\./.test(api.statusBar.item.accessibilityInformation?.label ?? '');

  before(async () => {
    api = await vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID)!.activate();
    await api.ready;
    sshd = await SshdFixture.start();
    echo = net.createServer((s) => {
      s.on('error', () => undefined);
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    await config().update('servers', [sshd.settingsEntry(SERVER)], vscode.ConfigurationTarget.Global);
    await waitFor('the server from settings', () => api.servers.get(SERVER));
    tunnel = await api.manager.createTunnel({ server: SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: (echo.address() as net.AddressInfo).port });
    await waitFor('the status bar with the tunnel and no connection', () => /^\$\(plug\) \d+ tunnels?$/.test(api.statusBar.item.text) && idle());
  });

  after(async () => {
    if (tunnel) await api.manager.closeTunnel(tunnel.id).catch(() => undefined);
    await config().update('servers', undefined, vscode.ConfigurationTarget.Global);
    echo?.close();
    await sshd?.stop();
  });

  it('counts alone neither refresh the tunnel item nor update the status bar more than every COUNTS_EVERY_MS', async () => {
    let events = 0;
    const counting = api.manager.onDidChangeTunnel((info) => info.id === tunnel.id && events++);
    const refreshes = { ...api.tree.refreshes };
    const updates = { ...api.statusBar.updates };
    const started = Date.now();
    try {
      await churn(tunnel.localPort, 300, 20);
    } finally {
      counting.dispose();
    }
    const ms = Date.now() - started;
    assert.ok(events >= 10, `only ${events} tunnel events for 300 connections: the test did not make churn`);
    assert.equal(api.tree.refreshes.tunnel, refreshes.tunnel, `the tunnel item was refreshed for ${events} count-only events`);
    assert.equal(api.tree.refreshes.root, refreshes.root);
    assert.equal(api.statusBar.updates.now, updates.now, 'a count-only event updated the status bar at once');
    const coalesced = api.statusBar.updates.coalesced - updates.coalesced;
    assert.ok(coalesced <= ms / TunnelStatusBar.COUNTS_EVERY_MS + 2, `${coalesced} status bar updates in ${ms} ms`);
    // The last counts still reach the item.
    await waitFor('the status bar back at 0 connections', idle, 5000, () => api.statusBar.item.accessibilityInformation?.label);
  });

  it('a change of state still refreshes the item and the status bar at once', async () => {
    const refreshes = { ...api.tree.refreshes };
    const updates = { ...api.statusBar.updates };
    await api.manager.closeTunnel(tunnel.id);
    // Its server's element, or the root while the view has not asked for the server yet.
    assert.ok(api.tree.refreshes.server + api.tree.refreshes.root > refreshes.server + refreshes.root, 'the tree was not refreshed for the tunnel closing');
    assert.ok(api.statusBar.updates.now > updates.now, 'the status bar waited to show a tunnel closing');
    assert.equal(api.manager.listTunnels(SERVER).length, 0);
  });
});
