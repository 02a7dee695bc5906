// Runs before extension.test.ts (files load in name order), whose last test deactivates the extension.
// A sshTunnels.servers entry with a bad value, in a real VS Code: the tree shows the server with
// an error icon and the problem in its tooltip, and a tunnel naming it fails with that problem
// (not "Unknown server"); the other entries keep working.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../../src/extension';

const EXTENSION_ID = 'ssh-tunnels.ssh-tunnels';
const BAD = 'it-bad-port';
const PROBLEM = /sshTunnels\.servers\[\d+\] \(it-bad-port\): port must be a whole number from 1 to 65535; got 70000\./;

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('SSH Tunnels: a settings mistake explains itself', function () {
  this.timeout(60_000);
  const config = () => vscode.workspace.getConfiguration('sshTunnels');
  let api: SshTunnelsApi;
  let before: unknown;

  beforeEach(async () => {
    api = await vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID)!.activate();
    before = config().inspect('servers')?.globalValue;
  });
  afterEach(async () => {
    await config().update('servers', before, vscode.ConfigurationTarget.Global);
  });

  it('a server with a bad port shows in the tree with the error, and its tunnel fails with that problem', async () => {
    const existing = Array.isArray(before) ? before : [];
    await config().update('servers', [...existing, { host: BAD, hostName: '127.0.0.1', port: 70000 }, { host: 'it-fine', hostName: '127.0.0.1', nmae: 'typo' }], vscode.ConfigurationTarget.Global);

    const node = await waitFor('the broken server in the tree', () => api.tree.getChildren().find((n) => n.kind === 'server' && n.name === BAD));
    const item = api.tree.getTreeItem(node);
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'error');
    // The problem is appended as text: markdown escapes it (`\\(`, `&nbsp;`); read it back as shown.
    const shown = (item.tooltip as vscode.MarkdownString).value.replace(/&nbsp;/g, ' ').replace(/\\(.)/g, '$1');
    assert.match(shown, PROBLEM);
    // The entry with only an unknown field still works.
    assert.equal(api.servers.get('it-fine')?.hostName, '127.0.0.1');

    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('sshTunnels.createTunnel', { server: BAD, type: 'local', localPort: 0, remoteHost: 'localhost', remotePort: 80 })),
      (err: Error) => {
        assert.match(err.message, PROBLEM);
        assert.doesNotMatch(err.message, /Unknown server/);
        return true;
      },
    );
    await assert.rejects(api.manager.createTunnel({ server: BAD, type: 'dynamic', localPort: 0 }), PROBLEM);
  });
});
