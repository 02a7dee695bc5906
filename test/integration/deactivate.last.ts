// Runs after every *.test.js (test/integration/index.ts adds it last): deactivating the extension
// disposes its tunnel manager, so nothing may run in this extension host after it.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../../src/extension';
import type { TunnelInfo } from '../../src/engine';
import { SshdFixture } from '../fixtures/sshd';
import { EXTENSION_ID, refused, run, waitFor } from '../helpers/vscode';

const SERVER = 'it-deactivate';
const config = () => vscode.workspace.getConfiguration('sshTunnels');

describe('deactivate', function () {
  this.timeout(60_000);
  let api: SshTunnelsApi;
  let sshd: SshdFixture;

  before(async () => {
    api = await vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID)!.activate();
    await api.ready;
    sshd = await SshdFixture.start();
    await config().update('servers', [sshd.settingsEntry(SERVER)], vscode.ConfigurationTarget.Global);
    await waitFor('the server', () => api.servers.get(SERVER));
  });

  after(async () => {
    await config().update('servers', undefined, vscode.ConfigurationTarget.Global);
    await sshd?.stop();
  });

  it('closes every tunnel, and the manager takes no more', async () => {
    const spec = { server: SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: sshd.port };
    const one = await run<TunnelInfo>('createTunnel', spec);
    const two = await run<TunnelInfo>('createTunnel', { server: SERVER, forward: '-D 0' });
    assert.equal(await refused(one.localPort), false);
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    // The module VS Code loaded (same require cache), so this is the extension's own deactivate().
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const main = require(path.join(ext.extensionPath, ext.packageJSON.main as string)) as { deactivate(): Promise<void> };
    await main.deactivate();
    assert.equal(api.manager.listTunnels().length, 0);
    assert.equal(await refused(one.localPort), true);
    assert.equal(await refused(two.localPort), true);
    await assert.rejects(Promise.resolve(run('createTunnel', spec)), /disposed/);
  });
});
