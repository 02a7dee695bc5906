// The published API (api/ssh-tunnels.d.ts) used as another extension uses it: this file runs in a
// helper extension of its own (ssh-tunnels-test.api-caller), in a window where VS Code shows the
// person's question as a dialog the runner's Chromium answers. Once trusted, once in Restricted Mode.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import type * as Published from 'ssh-tunnels-api';
import * as vscode from 'vscode';
import type { TreeNode } from '../../src/ui/tree';
import { freePort } from '../fixtures/sshd';
import { cliHome, type CliHome } from '../helpers/cli';
import { bound } from '../helpers/net';
import { EXTENSION_ID, get, run, waitFor } from '../helpers/vscode';
import { driver } from './driver';
import { apiEnv, CALLER, trusted, within } from './setup';

const SERVER = 'api-sshd';

/** What openTunnel rejected with, within 10 s (no dialog may be waiting). */
async function refusal(promise: Promise<unknown>): Promise<Published.SshTunnelsError> {
  const outcome = await within(promise, 10_000);
  assert.notEqual(outcome, 'pending', 'the call waited (for a dialog?)');
  const { error } = outcome as { error?: Published.SshTunnelsError };
  assert.ok(error, 'not refused');
  assert.equal(error.name, 'SshTunnelsError');
  return error;
}

describe(`the API for other extensions (${trusted ? 'trusted' : 'Restricted Mode'})`, function () {
  this.timeout(60_000);
  const env = apiEnv(SERVER);
  const spec = (extra: Partial<Published.TunnelSpecRequest> = {}): Published.TunnelSpecRequest => ({ server: SERVER, type: 'local', remoteHost: '127.0.0.1', remotePort: env.webPort, ...extra });

  before(async () => {
    await env.setTunnels([{ name: 'api-web', server: SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.webPort }]);
  });

  it('is version 1 of api/ssh-tunnels.d.ts; tunnels() lists what the view shows, the stopped tunnel of the settings included', () => {
    assert.equal(env.published.version, 1);
    assert.equal(typeof env.published.openTunnel, 'function');
    assert.equal(typeof env.published.onDidChangeTunnels, 'function');
    const web = env.published.tunnels().find((t) => t.name === 'api-web');
    // (In Restricted Mode the suite keeps it in the user settings, which apply there.)
    assert.deepEqual(web, { name: 'api-web', server: SERVER, type: 'local', state: 'stopped', localHost: '127.0.0.1', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.webPort, openedBy: 'settings' });
  });

  if (!trusted) {
    it('Restricted Mode: openTunnel is refused with NOT_ALLOWED before anything is asked or opened', async () => {
      for (const request of [spec({ localPort: await freePort() }), { name: 'api-web' }]) {
        const err = await refusal(env.published.openTunnel(request));
        assert.equal(err.code, 'NOT_ALLOWED');
        assert.match(err.message, /Restricted Mode: the workspace must be trusted first/);
      }
      assert.equal(await driver.dialogShowing(), false);
      assert.deepEqual(env.api.manager.listTunnels(SERVER), []);
    });
    return;
  }

  it('the first open asks the person, naming the extension and what it wants to open; "Don\'t Allow" refuses it, and is remembered', async () => {
    const call = env.published.openTunnel({ name: 'api-web' });
    const dialog = await driver.answerDialog('Don\'t Allow', 'api-question');
    assert.match(dialog.text, new RegExp(`Allow the extension ${CALLER.name.replace(/[()]/g, '\\$&')} to open SSH tunnels\\?`));
    assert.ok(
      dialog.text.includes(`The extension ${CALLER.name} (${CALLER.id}) asks to open a local forward (-L) through ${SERVER} (${env.sshd.user}@127.0.0.1:${env.sshd.port}): listen on 127.0.0.1, on a free port on this machine and forward each connection through ${SERVER} to 127.0.0.1:${env.webPort} (as ${SERVER} sees it). It is the tunnel "api-web" of your settings.`),
      dialog.text,
    );
    assert.match(dialog.text, /Manage Extension Access/);
    const err = await refusal(call);
    assert.equal(err.code, 'NOT_ALLOWED');
    assert.match(err.message, new RegExp(`did not allow ${CALLER.name.replace(/[()]/g, '\\$&')} \\(${CALLER.id}\\) to open SSH tunnels`));
    // Remembered: refused at once, with no question.
    assert.equal((await refusal(env.published.openTunnel(spec()))).code, 'NOT_ALLOWED');
    assert.equal(await driver.dialogShowing(), false);
    assert.deepEqual(env.api.manager.listTunnels(SERVER), []);
    assert.equal(env.api.service.access.answers()[CALLER.id]?.allowed, false);
  });

  it('Manage Extension Access takes the answer back; asked again, "Allow" opens the tunnel of the settings by name, and is remembered', async () => {
    assert.deepEqual(await run('manageExtensionAccess', { forget: CALLER.id }), [CALLER.id]);
    const call = env.published.openTunnel({ name: 'api-web' });
    await driver.answerDialog('Allow');
    const handle = await call;
    assert.equal(handle.name, 'api-web');
    assert.equal(handle.state, 'active');
    assert.equal(handle.servedBy, undefined);
    assert.equal(await get(handle.localPort), 'hello, api');
    const entry = env.api.catalogue.entries({ source: 'settings' }).find((e) => e.spec.name === 'api-web');
    assert.deepEqual(entry?.state, { kind: 'running', tunnelId: handle.id });
    assert.deepEqual(env.api.catalogue.holders(handle.id), [`extension ${CALLER.id}`]);
    // The settings' tunnel was stopped: it stops again once let go of.
    await handle.dispose();
    assert.equal(handle.state, 'closed');
    assert.equal(env.api.catalogue.entries({ source: 'settings' }).find((e) => e.spec.name === 'api-web')?.state.kind, 'stopped');
    assert.equal(await bound(handle.localPort), false);
    assert.equal(env.api.service.access.answers()[CALLER.id]?.allowed, true);
  });

  it('by spec: opened as the extension\'s, shown so in the view; a second request shares it; it closes with the last handle', async () => {
    const changes: number[] = [];
    const listening = env.published.onDidChangeTunnels(() => changes.push(Date.now()));
    const first = await within(env.published.openTunnel(spec({ name: 'api-spec' })), 15_000);
    assert.notEqual(first, 'pending', 'asked again (the answer was remembered)');
    const a = (first as { value: Published.TunnelHandle }).value;
    assert.ok(a, JSON.stringify(first));
    const info = env.api.manager.getTunnel(a.id)!;
    assert.equal(info.openedBy, 'extension');
    assert.equal(a.localHost, '127.0.0.1');
    assert.ok(a.localPort > 0);
    assert.equal(a.remotePort, env.webPort);
    assert.equal(await get(a.localPort), 'hello, api');
    const server = env.api.tree.getChildren().find((n: TreeNode) => n.kind === 'server' && n.name === SERVER)!;
    const node = env.api.tree.getChildren(server).find((n: TreeNode) => n.kind === 'tunnel' && n.id === a.id)!;
    assert.match(String(env.api.tree.getTreeItem(node).description), /held by an extension or a task/);
    assert.deepEqual(env.published.tunnels().find((t) => t.id === a.id), { id: a.id, name: 'api-spec', server: SERVER, type: 'local', localHost: '127.0.0.1', localPort: a.localPort, remoteHost: '127.0.0.1', remotePort: env.webPort, state: 'active', openedBy: 'extension' });
    await waitFor('onDidChangeTunnels for the new tunnel', () => changes.length > 0);

    const b = await env.published.openTunnel(spec());
    assert.equal(b.id, a.id, 'shared, not opened twice');
    assert.equal(env.api.manager.listTunnels(SERVER).length, 1);
    const states: Published.TunnelState[] = [];
    b.onDidChangeState((s) => states.push(s));
    await a.dispose();
    assert.equal(b.state, 'active', 'b still holds it');
    assert.equal(await get(b.localPort), 'hello, api');
    const before = changes.length;
    await b.dispose();
    assert.equal(env.api.manager.getTunnel(a.id), undefined);
    assert.equal(await bound(a.localPort), false);
    assert.deepEqual(states, ['closed']);
    await waitFor('onDidChangeTunnels for the close', () => changes.length > before);
    listening.dispose();
  });

  it('a restart from the view moves the handle to the new tunnel, telling its state on the way', async () => {
    const handle = await env.published.openTunnel(spec({ name: 'api-restart' }));
    const first = handle.id;
    const states: Published.TunnelState[] = [];
    handle.onDidChangeState((s) => states.push(s));
    await run('restartTunnel', first);
    await waitFor('active again', () => handle.state === 'active' && handle.id !== first);
    assert.deepEqual(states, ['connecting', 'active']);
    assert.equal(await get(handle.localPort), 'hello, api');
    await handle.dispose();
    assert.equal(env.api.manager.getTunnel(handle.id), undefined);
  });

  it('a tunnel the person opened is shared, and stays open when the extension lets go of it', async () => {
    const mine = await run<{ id: string; localPort: number }>('createTunnel', { server: SERVER, forward: `0:127.0.0.1:${env.webPort}` });
    const handle = await env.published.openTunnel(spec());
    assert.equal(handle.id, mine.id);
    await handle.dispose();
    assert.equal(env.api.manager.getTunnel(mine.id)?.state, 'active');
    assert.equal(env.api.manager.getTunnel(mine.id)?.openedBy, 'person');
    await run('closeTunnel', mine.id);
  });

  it('a question dismissed (Cancel) refuses this open only: the next one asks again', async () => {
    await run('manageExtensionAccess', { forget: CALLER.id });
    const call = env.published.openTunnel(spec());
    await driver.answerDialog('Cancel');
    const err = await refusal(call);
    assert.equal(err.code, 'NOT_ALLOWED');
    assert.match(err.message, /did not answer whether .* may open SSH tunnels; nothing was opened/);
    assert.equal(env.api.service.access.answers()[CALLER.id], undefined, 'nothing remembered');
    const again = env.published.openTunnel(spec());
    await driver.answerDialog('Allow');
    await (await again).dispose();
  });

  describe('with ssh-tunnels up beside the window (another process of the same person)', () => {
    let home: CliHome;
    let up: ChildProcess;
    let upPort: number;

    before(async () => {
      home = cliHome(env.sshd);
      // The window knows the server as `fix` too, as the command does from its ~/.ssh/config.
      const { alias: _a, ...fields } = env.sshd.server('fix');
      await run('addServer', { host: 'fix', ...fields });
      await waitFor('the server fix', () => env.api.servers.get('fix'));
      upPort = await freePort();
      const cli = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'cli.js');
      up = spawn(process.execPath, [cli, 'up', '--server', 'fix', '-L', `${upPort}:127.0.0.1:${env.webPort}`], { env: { ...home.env, SSH_TUNNELS_RUNTIME_DIR: process.env.SSH_TUNNELS_RUNTIME_DIR }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      up.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      up.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor('up serving its tunnel, seen by the window', () => env.api.peers?.list('fix').some((t) => t.info.localPort === upPort && t.info.state === 'active'), 30_000, () => out);
    });
    after(async () => {
      up?.kill();
      await env.api.manager.closeServer('fix');
      home?.remove();
    });

    it('its tunnel is shared, served by it; letting go leaves it running there', async () => {
      const handle = await env.published.openTunnel({ server: 'fix', type: 'local', localPort: upPort, remoteHost: '127.0.0.1', remotePort: env.webPort });
      assert.equal(handle.servedBy, 'ssh-tunnels up');
      assert.match(handle.id, /.+\/t\d+$/);
      assert.equal(handle.localPort, upPort);
      assert.deepEqual(env.api.manager.listTunnels('fix'), [], 'nothing opened here');
      assert.equal(await get(handle.localPort), 'hello, api');
      const any = await env.published.openTunnel({ server: 'fix', type: 'local', remoteHost: '127.0.0.1', remotePort: env.webPort });
      assert.equal(any.id, handle.id, 'any port with the same far end: the same tunnel');
      await handle.dispose();
      await any.dispose();
      assert.ok(env.api.peers?.list('fix').some((t) => t.info.localPort === upPort && t.info.state === 'active'));
      assert.equal(up.exitCode, null);
    });
  });

  it('rejects with a code and a message that says what to do, asking nothing: unknown server, unknown name, non-loopback, busy port, bad spec', async () => {
    const unknown = await refusal(env.published.openTunnel({ server: 'nope', type: 'local', remotePort: 80 }));
    assert.equal(unknown.code, 'UNKNOWN_SERVER');
    assert.match(unknown.message, new RegExp(`Unknown server "nope"\\. Known servers: .*${SERVER}`));
    const name = await refusal(env.published.openTunnel({ name: 'no-such-tunnel' }));
    assert.equal(name.code, 'UNKNOWN_TUNNEL');
    assert.match(name.message, /No tunnel is named "no-such-tunnel"\. Named tunnels: .*api-web/);
    const wide = await refusal(env.published.openTunnel(spec({ localHost: '0.0.0.0' })));
    assert.equal(wide.code, 'NOT_ALLOWED');
    assert.match(wide.message, /"0\.0\.0\.0" is not a loopback address, and other extensions may only use loopback addresses.*sshTunnels\.agentTools\.allowNonLoopback/);
    const bad = await refusal(env.published.openTunnel({ server: SERVER, type: 'local' } as Published.TunnelSpecRequest));
    assert.equal(bad.code, 'INVALID_SPEC');
    assert.match(bad.message, /openTunnel: a local tunnel needs remotePort/);

    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const busy = await refusal(env.published.openTunnel(spec({ localPort: port })));
      assert.equal(busy.code, 'PORT_IN_USE');
      assert.equal(typeof busy.freePort, 'number');
      assert.notEqual(busy.freePort, port);
    } finally {
      taken.close();
    }
    assert.equal(await driver.dialogShowing(), false);
    assert.deepEqual(env.api.manager.listTunnels(SERVER), []);
  });

  describe('then, the person taking the access back', () => {
    it('taking the access back lets go of what the extension holds: its tunnel closes; the next open asks again', async () => {
      const handle = await env.published.openTunnel(spec({ name: 'api-revoked' }));
      const other = await run<{ id: string }>('createTunnel', { server: SERVER, forward: `0:127.0.0.1:${env.sshd.port}` });
      const shared = await env.published.openTunnel({ server: SERVER, type: 'local', remoteHost: '127.0.0.1', remotePort: env.sshd.port });
      assert.equal(shared.id, other.id);
      assert.deepEqual(await run('manageExtensionAccess', { forget: CALLER.id }), [CALLER.id]);
      assert.equal(handle.state, 'closed');
      assert.equal(env.api.manager.getTunnel(handle.id), undefined, 'opened for it: closed');
      assert.equal(shared.state, 'closed', 'the handle is let go of');
      assert.equal(env.api.manager.getTunnel(other.id)?.state, 'active', 'the person\'s tunnel stays');
      await run('closeTunnel', other.id);
      const call = env.published.openTunnel(spec());
      const dialog = await driver.answerDialog('Don\'t Allow');
      assert.match(dialog.text, /Allow the extension API Caller \(test\) to open SSH tunnels\?/);
      await refusal(call);
    });
  });
});
