// First half of the reload test (see index.ts): tunnels opened from the palette, one closed and,
// in a trusted workspace, one kept in the workspace settings; then index.ts reloads the window.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { TunnelInfo } from '../../src/engine';
import type { SshTunnelsApi } from '../../src/extension';
import { SshdFixture } from '../fixtures/sshd';
import { banner, EXTENSION_ID, run, waitFor } from '../helpers/vscode';
import { RELOAD_SERVER, takePortWhenFree, writeMarker } from './reload.shared';

const trusted = vscode.workspace.isTrusted;

describe('a window reload (before it)', function () {
  this.timeout(60_000);

  it(`a person's tunnels are saved as they open and close${trusted ? '; "keep" writes one into the workspace settings and adopts it' : '; "keep" is refused in Restricted Mode'}`, async () => {
    const api = await vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID)!.activate();
    await api.ready;
    const sshd = await SshdFixture.start({ detached: true });
    const { alias: _h, ...fields } = sshd.server(RELOAD_SERVER);
    await run('addServer', { host: RELOAD_SERVER, ...fields });
    await waitFor('the server', () => api.servers.get(RELOAD_SERVER));
    const spec = { server: RELOAD_SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: sshd.port };
    const saved = () => api.restored.saved();

    const person = await run<TunnelInfo>('createTunnel', { ...spec, name: 'reload-person' });
    assert.equal(person.openedBy, 'person');
    assert.match(await banner(person.localPort), /^SSH-2\.0-OpenSSH/);
    const taken = await run<TunnelInfo>('createTunnel', { ...spec, name: 'reload-taken' });
    const closed = await run<TunnelInfo>('createTunnel', spec);
    await waitFor('all three saved', () => saved().length === 3, 5000, saved);
    await run('closeTunnel', closed.id);
    await waitFor('the closed one forgotten', () => saved().length === 2, 5000, saved);
    assert.deepEqual(saved()[0], { server: RELOAD_SERVER, type: 'local', localHost: '127.0.0.1', localPort: person.localPort, remoteHost: '127.0.0.1', remotePort: sshd.port, name: 'reload-person' });

    let settingsPort: number | undefined;
    const kept = await run<TunnelInfo>('createTunnel', { ...spec, name: 'reload-kept' });
    await waitFor('kept saved', () => saved().length === 3, 5000, saved);
    const tunnelsSetting = () => vscode.workspace.getConfiguration('sshTunnels').inspect<{ name?: string }[]>('tunnels')?.workspaceValue ?? [];
    if (trusted) {
      const entry = await run<Record<string, unknown>>('keepTunnel', kept.id);
      assert.deepEqual(entry, { name: 'reload-kept', server: RELOAD_SERVER, type: 'local', localPort: kept.localPort, remoteHost: '127.0.0.1', remotePort: sshd.port, autoStart: true });
      assert.deepEqual(tunnelsSetting().find((t) => t.name === 'reload-kept'), entry, 'written to the workspace settings');
      // Adopted, not reopened: the same tunnel, now a settings tunnel, that stays open through the reconcile.
      await api.settingsTunnels.reconcile();
      const now = api.manager.getTunnel(kept.id);
      assert.equal(now?.state, 'active');
      assert.equal(now?.openedBy, 'settings');
      assert.equal(api.settingsTunnels.keyOf(kept.id), 'name:reload-kept');
      assert.match(await banner(kept.localPort), /^SSH-2\.0-OpenSSH/);
      await waitFor('kept no longer saved as a person\'s', () => saved().length === 2, 5000, saved);
      settingsPort = kept.localPort;
    } else {
      await assert.rejects(Promise.resolve(run('keepTunnel', kept.id)), /Restricted Mode/);
      assert.equal(tunnelsSetting().some((t) => t.name === 'reload-kept'), false);
      await run('closeTunnel', kept.id);
      await waitFor('kept forgotten', () => saved().length === 2, 5000, saved);
    }
    await api.restored.whenSaved();
    // Another program takes this port while the window reloads.
    const squatterPid = takePortWhenFree(taken.localPort);
    writeMarker({
      sshdPid: sshd.pid!, sshdDir: sshd.dir, sshdPort: sshd.port, server: RELOAD_SERVER,
      personPort: person.localPort, closedPort: closed.localPort, settingsPort, takenPort: taken.localPort, squatterPid,
    });
  });
});
