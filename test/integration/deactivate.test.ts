// The last spec (index.ts runs it after every other): deactivate() closes every tunnel, and the
// extension's engine is then disposed, so nothing can run after it.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../../src/extension';
import type { TunnelInfo } from '../../src/engine';
import { SshdFixture } from '../fixtures/sshd';
import { EXTENSION_ID, refused, run, waitFor } from '../helpers/vscode';

const SERVER = 'it-deactivate';

describe('deactivate', function () {
  this.timeout(60_000);
  let sshd: SshdFixture;

  before(async () => {
    sshd = await SshdFixture.start();
  });

  after(async () => {
    await vscode.workspace.getConfiguration('sshTunnels').update('servers', undefined, vscode.ConfigurationTarget.Global);
    await sshd?.stop();
  });

  it('closes every tunnel', async () => {
    const ext = vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID)!;
    const api = await ext.activate();
    await run('addServer', sshd.settingsEntry(SERVER));
    await waitFor('the server', () => api.servers.get(SERVER));
    const spec = { server: SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: sshd.port };
    const one = await run<TunnelInfo>('createTunnel', spec);
    const two = await run<TunnelInfo>('createTunnel', { server: SERVER, forward: '-D 0' });
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
