// Runs before extension.test.ts (files load in name order), whose last test deactivates the extension.
// A sshTunnels.servers entry with a bad value, in a real VS Code: the tree shows the server with
// an error icon and the problem in its tooltip, and a tunnel naming it fails with that problem
// (not "Unknown server"); the other entries keep working.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { generateConfig } from '../../bench/sshConfigScale';
import type { ServerRegistry } from '../../src/config/servers';
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

describe('SSH Tunnels: a 5,000-host ssh config', function () {
  this.timeout(120_000);
  const config = () => vscode.workspace.getConfiguration('sshTunnels');
  let dir: string;
  after(async () => {
    await config().update('sshConfigFile', undefined, vscode.ConfigurationTarget.Global);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fills the tree soon after the file is chosen, without holding the extension host long', async () => {
    const api = await vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID)!.activate();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-big-'));
    const file = generateConfig(path.join(dir, '.ssh'), 5000);
    const gaps: { at: number; ms: number }[] = [];
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      gaps.push({ at: now, ms: now - last });
      last = now;
    }, 1);
    const longestAfter = (t: number) => Math.max(0, ...gaps.filter((g) => g.at - g.ms >= t).map((g) => g.ms));
    const started = performance.now();
    try {
      await config().update('sshConfigFile', file, vscode.ConfigurationTarget.Global);
      const settled = performance.now();
      await waitFor('10,000 hosts in the tree', () => api.tree.getChildren().length >= 10_000, 60_000);
      const populated = performance.now() - started;
      await (api.servers as unknown as ServerRegistry).whenResolved();
      const resolved = performance.now() - started;
      assert.equal(api.servers.get('host4999.example.com')?.port, 2999);
      // What the tree itself costs VS Code for 10,000 items, apart from reading the config.
      const t = performance.now();
      for (const node of api.tree.getChildren()) api.tree.getTreeItem(node);
      const treeItemsMs = performance.now() - t;
      console.log(
        `      5,000 hosts: setting applied after ${(settled - started).toFixed(0)} ms, tree populated after ${populated.toFixed(0)} ms, every host resolved after ${resolved.toFixed(0)} ms; ` +
          `longest event-loop block ${longestAfter(started).toFixed(0)} ms (${longestAfter(settled).toFixed(0)} ms after the setting applied); building all 10,000 tree items takes ${treeItemsMs.toFixed(0)} ms`,
      );
      // Generous bounds for a shared machine; the figures above are the measurement.
      assert.ok(populated < 5000, `tree populated after ${populated.toFixed(0)} ms`);
    } finally {
      clearInterval(ticker);
    }
  });
});
