// Second half of the reload test (see index.ts), in the extension host that came up after
// `workbench.action.reloadWindow`: what a person had open is back, and nothing else.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { SshTunnelsApi } from '../../src/extension';
import { SshdFixture } from '../fixtures/sshd';
import { banner, EXTENSION_ID, refused, run, waitFor } from '../helpers/vscode';
import { readMarker, removeMarker, stopSquatter, type ReloadMarker } from './reload.shared';

const trusted = vscode.workspace.isTrusted;

describe('a window reload (after it)', function () {
  this.timeout(60_000);
  let api: SshTunnelsApi;
  let marker: ReloadMarker;

  before(async () => {
    marker = readMarker()!;
    assert.ok(marker, 'the first half left no marker');
    removeMarker();
    api = await vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID)!.activate();
    await api.ready;
    // In Restricted Mode restoring waits for trust, which this run never grants.
    if (trusted) await api.restoring;
  });

  after(async () => {
    for (const t of api.manager.listTunnels(marker.server)) await api.manager.closeTunnel(t.id).catch(() => undefined);
    const config = vscode.workspace.getConfiguration('sshTunnels');
    if (trusted) {
      const tunnels = config.inspect<{ name?: string }[]>('tunnels')?.workspaceValue ?? [];
      await config.update('tunnels', tunnels.filter((t) => t.name !== 'reload-kept'), vscode.ConfigurationTarget.Workspace);
    }
    const servers = config.inspect<{ host: string }[]>('servers')?.globalValue ?? [];
    await config.update('servers', servers.filter((s) => s.host !== marker.server), vscode.ConfigurationTarget.Global);
    SshdFixture.stopDetached(marker.sshdPid, marker.sshdDir);
    stopSquatter(marker.squatterPid);
  });

  if (trusted) {
    it('the tunnel a person opened from the palette is open again, on its port; the one closed is not', async () => {
      const back = await waitFor('the person\'s tunnel', () => api.manager.listTunnels(marker.server).find((t) => t.localPort === marker.personPort && t.state === 'active'));
      assert.equal(back.name, 'reload-person');
      assert.equal(back.openedBy, 'person');
      assert.equal(back.remotePort, marker.sshdPort);
      assert.match(await banner(marker.personPort), /^SSH-2\.0-OpenSSH/);
      assert.equal(await refused(marker.closedPort), true);
      assert.deepEqual(api.restored.saved().map((s) => s.localPort), [marker.personPort]);
    });

    it('a tunnel whose port was taken meanwhile is reported as any busy port, with a free one to use', () => {
      assert.equal(api.manager.listTunnels(marker.server).some((t) => t.localPort === marker.takenPort), false);
      assert.deepEqual(api.restored.failures.map((f) => f.spec.name), ['reload-taken']);
      assert.match(api.restored.failures[0].message, new RegExp(`Local port ${marker.takenPort} on 127\\.0\\.0\\.1 is held by [^.]+ \\(pid \\d+\\)\\. Port \\d+ is free\\.`));
    });

    it('the tunnel kept in the workspace settings is back as a settings tunnel, on its port', async () => {
      const back = await waitFor('the kept tunnel', () => api.manager.listTunnels(marker.server).find((t) => t.localPort === marker.settingsPort && t.state === 'active'));
      assert.equal(back.openedBy, 'settings');
      assert.equal(api.settingsTunnels.keyOf(back.id), 'name:reload-kept');
      assert.match(await banner(marker.settingsPort!), /^SSH-2\.0-OpenSSH/);
      assert.equal(api.manager.listTunnels(marker.server).length, 2, 'nothing else was opened');
    });
  } else {
    it('in Restricted Mode the saved tunnels wait for trust: nothing is reopened, nothing is forgotten', async () => {
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(api.manager.listTunnels(marker.server), []);
      assert.equal(await refused(marker.personPort), true);
      assert.deepEqual(api.restored.saved().map((s) => s.localPort), [marker.personPort, marker.takenPort]);
      assert.deepEqual(api.restored.failures, []);
      // The server itself is usable (user settings): a person can still open tunnels by hand.
      await waitFor('the server', () => api.servers.get(marker.server));
      const info = await run<{ localPort: number }>('createTunnel', { server: marker.server, forward: '-L 0:127.0.0.1:' + marker.sshdPort });
      assert.match(await banner(info.localPort), /^SSH-2\.0-OpenSSH/);
    });
  }

  // Last: it empties the saved list the tests above read.
  it('with sshTunnels.restoreTunnels off, nothing is saved for the next time', async () => {
    const config = vscode.workspace.getConfiguration('sshTunnels');
    await config.update('restoreTunnels', false, vscode.ConfigurationTarget.Global);
    try {
      const info = await run<{ id: string }>('createTunnel', { server: marker.server, forward: '-D 0' });
      await api.restored.whenSaved();
      assert.deepEqual(api.restored.saved(), []);
      await run('closeTunnel', info.id);
    } finally {
      await config.update('restoreTunnels', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
