// Forwards written in the ssh config appear under their server as stopped tunnels, start with
// one click (openedBy 'sshConfig'), and are not shown twice while they run.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TunnelInfo } from '../../src/engine';
import type { SshTunnelsApi } from '../../src/extension';
import type { TreeNode } from '../../src/ui/tree';
import { freePort, type SshdFixture } from '../fixtures/sshd';
import { sshConfigHost } from '../helpers/sshConfigHost';
import { banner, run, sshConfigSuite, waitFor } from '../helpers/vscode';

const SERVER = 'it-cfg';

describe('ssh config forwards in the tree', function () {
  this.timeout(60_000);
  const suite = sshConfigSuite(SERVER);
  let api: SshTunnelsApi;
  let sshd: SshdFixture;
  let port: number;
  const config = () => vscode.workspace.getConfiguration('sshTunnels');

  before(async () => {
    ({ api, sshd } = suite);
    port = await freePort();
    const file = path.join(sshd.dir, 'ssh_config');
    fs.writeFileSync(file, [...sshConfigHost(sshd, SERVER, { strict: true }), `  LocalForward 127.0.0.1:${port} 127.0.0.1:${sshd.port}`, ''].join('\n'));
    await config().update('sshConfigFile', file, vscode.ConfigurationTarget.Global);
    await waitFor('the ssh config server', () => api.servers.get(SERVER));
  });

  const children = (): TreeNode[] => {
    const server = api.tree.getChildren().find((n) => n.kind === 'server' && n.name === SERVER);
    return server ? api.tree.getChildren(server) : [];
  };

  it('shows the LocalForward as a stopped tunnel; one click starts it, and it is listed once', async () => {
    const stopped = await waitFor('the forward in the tree', () => children().find((n) => n.kind === 'configured'));
    const item = api.tree.resolveTreeItem(api.tree.getTreeItem(stopped), stopped);
    assert.equal(item.contextValue, 'tunnel.stopped.local.sshConfig');
    assert.equal(item.label, String(port));
    assert.equal(item.description, `stopped · → 127.0.0.1:${sshd.port}`);
    assert.match((item.tooltip as vscode.MarkdownString).value, /ssh config \(LocalForward\)/);

    const info = await run<TunnelInfo>('startTunnel', stopped);
    assert.equal(info.openedBy, 'sshConfig');
    assert.equal(info.localPort, port);
    assert.match(await banner(port), /^SSH-2\.0-OpenSSH/);
    const now = children();
    assert.deepEqual(now.map((n) => n.kind), ['tunnel'], 'running, it is not shown a second time as stopped');
    assert.match(String(api.tree.getTreeItem(now[0]).contextValue), /\.sshConfig$/);
    // Not a person's tunnel: not saved for a reload.
    assert.equal(api.restored.saved().some((s) => s.localPort === port), false);

    await run('closeTunnel', info.id);
    await waitFor('stopped again', () => children().length === 1 && children()[0].kind === 'configured');
  });
});
