// The SSH Tunnels view as a person uses it (issue 31): every step is done on the workbench page
// through the runner (test/helpers/workbench.ts) — clicks on rows, their buttons and the view's
// title, keys, typing in the quick input, hovers — and checked on what the page shows: rows and
// their screen-reader labels, tooltips, notifications, the status bar. Runs in the trusted and the
// Restricted Mode window alike (the servers and tunnels here are the user's).
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import * as vscode from 'vscode';
import type { TunnelInfo } from '../../src/engine';
import type { SshTunnelsApi } from '../../src/extension';
import { freePort, SshdFixture } from '../fixtures/sshd';
import { EXTENSION_ID, get, run, waitFor } from '../helpers/vscode';
import { canDrive, page, rowOf, until, type Row } from '../helpers/workbench';

const SERVER = 'it-view';
const OTHER = 'it-view-b';
const FROZEN = 'it-frozen';
const trusted = vscode.workspace.isTrusted;
const config = () => vscode.workspace.getConfiguration('sshTunnels');

/** What the page says when something a person did failed as a program error, not as a message for them. */
const RAW_ERROR = /Cannot use|TypeError|is not a function|of undefined|of null|\[object Object\]/;

describe('the view as a person uses it', function () {
  this.timeout(120_000);
  let api: SshTunnelsApi;
  let sshd: SshdFixture;
  let web: http.Server;
  let webPort: number;

  const rowsOf = async (server: string): Promise<Row[]> => {
    const rows = await page.rows();
    const start = rows.findIndex((r) => r.level === 1 && r.text.startsWith(server) && r.label.startsWith(`Server ${server},`));
    if (start < 0) return [];
    const end = rows.findIndex((r, i) => i > start && r.level === 1);
    return rows.slice(start + 1, end < 0 ? undefined : end);
  };
  const byName = (name: string) => api.manager.listTunnels().find((t) => t.name === name);
  const quick = (what: string, test: (q: Awaited<ReturnType<typeof page.quickInput>>) => boolean) =>
    until(what, async () => {
      const q = await page.quickInput();
      return q.visible && test(q) ? q : undefined;
    }, 10_000, () => page.quickInput());
  const toast = (match: string | RegExp) =>
    until(`a notification ${match}`, async () => (await page.toasts()).find((t) => (typeof match === 'string' ? t.includes(match) : match.test(t))), 20_000, () => page.toasts());
  const noRawError = async () => assert.deepEqual((await page.toasts()).filter((t) => RAW_ERROR.test(t)), []);

  before(async function () {
    if (!canDrive()) throw new Error('this suite acts on the workbench page: run it with test/runners/offline.mjs (SSH_TUNNELS_WORKBENCH_DRIVER)');
    api = await vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID)!.activate();
    await api.ready;
    sshd = await SshdFixture.start();
    web = http.createServer((_req, res) => res.end('hello through the view'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
    webPort = (web.address() as net.AddressInfo).port;
    await run('addServer', sshd.settingsEntry(SERVER));
    await run('addServer', sshd.settingsEntry(OTHER));
    await waitFor('the servers', () => api.servers.get(SERVER) && api.servers.get(OTHER));
    await page.showView();
    await page.keys('Escape');
    await page.clearToasts();
  });

  after(async () => {
    for (const t of api?.manager.listTunnels() ?? []) await api.manager.closeTunnel(t.id).catch(() => undefined);
    for (const s of api?.stopped.list() ?? []) api.stopped.remove(s.key);
    await config().update('servers', undefined, vscode.ConfigurationTarget.Global);
    await config().update('reconnect.maxAttempts', undefined, vscode.ConfigurationTarget.Global);
    web?.close();
    await sshd?.stop();
  });

  describe('"+" and the forward box', () => {
    it('"+" with no row focused asks from the first step, the server', async () => {
      await page.mouseAway();
      await page.clickTitle({ action: 'Create Tunnel' });
      const q = await quick('the server step', (x) => /\(1\/4\): server/.test(x.title ?? ''));
      assert.ok(q.items!.some((i) => i.startsWith(SERVER)), JSON.stringify(q.items));
      assert.ok(q.items!.some((i) => i.includes('Add a server')), JSON.stringify(q.items));
      await page.keys('Escape');
      await noRawError();
    });

    it('"+" with a focused row that is gone asks from the first step too, without an error', async () => {
      const doomed = await run<TunnelInfo>('createTunnel', { server: SERVER, forward: `0:127.0.0.1:${webPort}`, name: 'gone-soon' });
      await page.clickRow('gone-soon');
      await run('closeTunnel', doomed.id);
      await until('its row gone', async () => !(await page.rows()).some((r) => r.text.includes('gone-soon')));
      await page.clickTitle({ action: 'Create Tunnel' });
      await quick('the server step', (x) => /\(1\/4\): server/.test(x.title ?? ''));
      await page.keys('Escape');
      await noRawError();
    });

    it('a server picked in the tree is the first step\'s default, not a skipped step', async () => {
      // A click on a server row opens or closes it: twice leaves it focused and as it was.
      await page.clickRow(OTHER);
      await page.clickRow(OTHER);
      await page.clickTitle({ action: 'Create Tunnel' });
      const q = await quick('the server step', (x) => /\(1\/4\): server/.test(x.title ?? ''));
      assert.ok(q.active?.startsWith(OTHER), `active: ${q.active}`);
      await page.keys('Escape');
    });

    it('what is typed in the server pick is where "Add a server…" starts; cancelling it goes back to the pick', async () => {
      await page.clickTitle({ action: 'Create Tunnel' });
      await quick('the server step', (x) => /\(1\/4\)/.test(x.title ?? ''));
      await page.type('deploy@10.0.0.5');
      const only = await quick('only "Add a server…" left', (x) => x.items!.length === 1 && x.items![0].includes('Add a server'));
      assert.ok(only.active?.includes('Add a server'), `active: ${only.active}`);
      await page.keys('Enter');
      const box = await quick('the destination box', (x) => /Add SSH server \(1\/2\)/.test(x.title ?? ''));
      assert.equal(box.value, 'deploy@10.0.0.5');
      await page.keys('Escape');
      await quick('the server step again', (x) => /\(1\/4\): server/.test(x.title ?? ''));
      await page.keys('Escape');
      await noRawError();
    });

    it('takes a bare port as the Ports view does, says what it opens, and a busy port offers another', async () => {
      await page.clickTitle({ action: 'Create Tunnel' });
      await quick('the server step', (x) => /\(1\/4\)/.test(x.title ?? ''));
      await page.type(SERVER);
      await page.keys('Enter');
      await quick('the type step', (x) => /\(2\/4\): type/.test(x.title ?? '') && !!x.back);
      await page.keys('Enter');
      await quick('the forward box', (x) => /\(3\/4\)/.test(x.title ?? ''));
      await page.type(String(webPort));
      const said = await quick('what it opens', (x) => x.message!.startsWith('Opens:'));
      assert.equal(said.message, `Opens: local address 127.0.0.1:${webPort} forwarded to localhost:${webPort} through server ${SERVER}`);
      await page.keys('Enter');
      const name = await quick('the name step', (x) => /\(4\/4\): name \(optional\)/.test(x.title ?? ''));
      assert.match(name.message ?? '', new RegExp(`Enter to call it ${webPort}`));
      await page.type('web');
      await page.keys('Enter');
      // The web page holds that port here: the error offers the next free one.
      const busy = await toast(`Local port ${webPort} on 127.0.0.1 is held by`);
      const offered = Number(/Use port (\d+)/.exec(busy)?.[1]);
      assert.ok(offered > 0, busy);
      await page.toastButton(`Local port ${webPort}`, `Use port ${offered}`);
      const opened = await waitFor('web open', () => byName('web')?.state === 'active' && byName('web'));
      assert.equal(opened.localPort, offered);
      assert.equal(await get(offered), 'hello through the view');
      await rowOf('web');
    });

    it('a whole -L typed at the type step opens it; Back goes to the box with it, then to the picks', async () => {
      await page.clickTitle({ action: 'Create Tunnel' });
      await quick('the server step', (x) => /\(1\/4\)/.test(x.title ?? ''));
      await page.type(SERVER);
      await page.keys('Enter');
      await quick('the type step', (x) => /\(2\/4\)/.test(x.title ?? ''));
      const typed = `-L 0:127.0.0.1:${webPort}`;
      await page.type(typed);
      const offer = await quick('the typed forward offered', (x) => !!x.items?.[0]?.includes(`Open ${typed}`));
      assert.match(offer.items![0], /local address 127\.0\.0\.1 \(any free port\) forwarded to 127\.0\.0\.1/);
      await page.keys('Enter');
      await quick('the name step', (x) => /\(4\/4\)/.test(x.title ?? ''));
      await page.back();
      const box = await quick('the forward box again', (x) => /\(3\/4\)/.test(x.title ?? ''));
      assert.equal(box.value, typed);
      await page.back();
      await quick('the type step again', (x) => /\(2\/4\)/.test(x.title ?? ''));
      await page.back();
      await quick('the server step again', (x) => /\(1\/4\)/.test(x.title ?? '') && !x.back);
      await page.keys('Enter', 'Enter');
      await quick('the forward box', (x) => /\(3\/4\)/.test(x.title ?? ''));
      await page.keys('Control+A');
      await page.type(typed);
      await page.keys('Enter');
      await quick('the name step', (x) => /\(4\/4\)/.test(x.title ?? ''));
      await page.type('typed-whole');
      await page.keys('Enter');
      await waitFor('typed-whole open', () => byName('typed-whole')?.state === 'active');
    });

    it('warns before listening beyond loopback, and opens it only on a second Enter', async () => {
      await page.clickTitle({ action: 'Create Tunnel' });
      await quick('the server step', (x) => /\(1\/4\)/.test(x.title ?? ''));
      await page.type(SERVER);
      await page.keys('Enter', 'Enter');
      await quick('the forward box', (x) => /\(3\/4\)/.test(x.title ?? ''));
      await page.type(`0.0.0.0:0:127.0.0.1:${webPort}`);
      const warned = await quick('the warning', (x) => /other machines/.test(x.message ?? ''));
      assert.match(warned.message!, /every network interface \(0\.0\.0\.0\)/);
      await page.keys('Enter');
      await quick('asked again', (x) => /Press Enter again/.test(x.message ?? '') && /\(3\/4\)/.test(x.title ?? ''));
      await page.keys('Escape');
      assert.equal(api.manager.listTunnels().some((t) => t.localHost === '0.0.0.0'), false);
    });
  });

  describe('rows', () => {
    let remote: TunnelInfo;
    let socks: TunnelInfo;

    before(async () => {
      remote = await run<TunnelInfo>('createTunnel', { server: SERVER, forward: `-R 0:127.0.0.1:${webPort}` });
      socks = await run<TunnelInfo>('createTunnel', { server: SERVER, forward: '-D 127.0.0.1:0', name: 'socks-view' });
    });

    it('read as sentences: a name (or port), where it goes and which side listens, an icon per kind', async () => {
      const web = byName('web')!;
      const row = await rowOf('web');
      assert.equal(row.text, `web 127.0.0.1:${web.localPort} → localhost:${webPort}`);
      assert.equal(row.label, `web: local address 127.0.0.1:${web.localPort} forwarded to localhost:${webPort} through server ${SERVER}, active`);
      assert.equal(row.icon, 'codicon-arrow-right');
      assert.deepEqual(row.actions.filter(Boolean).sort(), ['Open in Browser', 'Restart Tunnel', 'Stop Tunnel']);

      const r = await rowOf(`${SERVER}:${remote.remotePort}`);
      assert.equal(r.text, `${SERVER}:${remote.remotePort} → 127.0.0.1:${webPort} here`);
      assert.equal(r.label, `address 127.0.0.1:${remote.remotePort} on server ${SERVER} forwarded to local address 127.0.0.1:${webPort}, active`);
      assert.equal(r.icon, 'codicon-arrow-left');
      assert.ok(!r.actions.includes('Open in Browser'), `an -R row offers Open in Browser: ${r.actions}`);

      const d = await rowOf('socks-view');
      assert.equal(d.text, `socks-view SOCKS proxy on 127.0.0.1:${socks.localPort}`);
      assert.equal(d.icon, 'codicon-globe');
      assert.match(d.label, /^socks-view: SOCKS proxy at local address 127\.0\.0\.1:\d+ through server it-view, active$/);
      // Active says nothing more on the row: its icon says it, and nothing is cut off for it.
      for (const x of [row, r, d]) assert.ok(!/active/.test(x.text), x.text);
    });

    it('keep a stable order, by name or port, that Restart does not change', async () => {
      const names = async () => (await rowsOf(SERVER)).map((x) => x.text.split(' ')[0]);
      const before = await names();
      assert.deepEqual(before, [...before].sort((a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' })));
      const web = byName('web')!;
      await page.clickRow('web', { action: 'Restart Tunnel' });
      await waitFor('web restarted', () => byName('web') && byName('web')!.id !== web.id && byName('web')!.state === 'active');
      await page.mouseAway();
      assert.deepEqual(await names(), before);
    });

    it('a tooltip stays while hovered, traffic or not, and the next hover has the new counts', async () => {
      await page.mouseAway();
      const port = byName('web')!.localPort;
      // Traffic through the tunnel all the while its tooltip is read.
      let traffic = true;
      const flowing = (async () => {
        while (traffic) {
          await get(port).catch(() => undefined);
          await new Promise((r) => setTimeout(r, 300));
        }
      })();
      let hovered;
      try {
        hovered = await page.hover('web', 7000);
      } finally {
        traffic = false;
        await flowing;
      }
      assert.ok(hovered.first, 'no tooltip showed');
      assert.equal(hovered.still, hovered.first, 'the tooltip went (or changed) while it was hovered');
      const total = (text: string) => Number(/(\d+)\sin\sall/.exec(text)?.[1]);
      // Read another row's tooltip; the next look at this one has what happened meanwhile.
      await page.hover('socks-view');
      await new Promise((r) => setTimeout(r, 2500));
      const again = await page.hover('web');
      assert.ok(total(again.first!) > total(hovered.first), `${hovered.first} → ${again.first}`);
      assert.match(again.first!, /State:\sactive\s\(up\s\d/);
      await page.mouseAway();
    });

    it('a tunnel whose target refuses connections shows a warning on its row', async () => {
      const closed = await freePort();
      const t = await run<TunnelInfo>('createTunnel', { server: SERVER, forward: `0:127.0.0.1:${closed}`, name: 'nowhere' });
      await get(t.localPort).catch(() => undefined);
      const row = await until('the warning on its row', async () => {
        const r = await rowOf('nowhere');
        return r.icon === 'codicon-warning' && r;
      });
      assert.match(row.text, /^nowhere target unreachable · /);
      assert.match(row.label, new RegExp(`, target unreachable: .*127\\.0\\.0\\.1:${closed}.*refused`, 'i'));
      await run('closeTunnel', t.id);
    });

    it('the status bar says it in words, and in plain language to a screen reader', async () => {
      const n = api.manager.listTunnels().length;
      const item = await until('the status bar item', async () => (await page.statusBar()).find((s) => s.text === `${n} tunnels`), 10_000, () => page.statusBar());
      assert.match(item.label, new RegExp(`^SSH Tunnels: ${n} tunnels, (no connections open|\\d+ connections? open)\\. Shows the SSH Tunnels view\\.$`));
      assert.ok(!/[*$`]/.test(item.label), item.label);
    });
  });

  describe('ending tunnels, and the way back', () => {
    it('Stop keeps a person\'s tunnel as a stopped row (its kind\'s icon, not the stop button); Start opens it again', async () => {
      await page.clickRow('typed-whole', { action: 'Stop Tunnel' });
      const stopped = await until('the stopped row', async () => {
        const r = await rowOf('typed-whole');
        return r.text.includes('stopped') && r;
      });
      assert.equal(stopped.icon, 'codicon-arrow-right');
      assert.match(stopped.label, /, stopped$/);
      assert.deepEqual(stopped.actions.filter(Boolean), ['Start Tunnel']);
      await page.clickRow('typed-whole', { action: 'Start Tunnel' });
      await waitFor('typed-whole open again', () => byName('typed-whole')?.state === 'active');
    });

    it('Delete stops a running tunnel, then removes the stopped row with Undo; F2 renames; Enter starts', async () => {
      await page.clickRow('typed-whole');
      await page.keys('Delete');
      await until('stopped by Delete', async () => (await rowOf('typed-whole')).text.includes('stopped'));
      await page.clickRow('typed-whole');
      await page.keys('Delete');
      await toast('Removed the tunnel typed-whole.');
      await until('its row gone', async () => !(await page.rows()).some((r) => r.text.includes('typed-whole')));
      await page.toastButton('Removed the tunnel typed-whole', 'Undo');
      await rowOf('typed-whole');
      await page.clickRow('typed-whole');
      await page.keys('F2');
      const box = await quick('the rename box', (x) => /^Rename typed-whole/.test(x.title ?? ''));
      assert.equal(box.value, 'typed-whole');
      await page.keys('Control+A');
      await page.type('renamed');
      await page.keys('Enter');
      await rowOf('renamed');
      await page.clickRow('renamed');
      await page.keys('Enter');
      await waitFor('renamed open', () => byName('renamed')?.state === 'active');
      // F2 on a running tunnel renames it where it runs: the same tunnel, its connections untouched.
      const web = byName('web')!;
      await page.clickRow('web');
      await page.keys('F2');
      await quick('the rename box', (x) => /^Rename web/.test(x.title ?? ''));
      await page.keys('Control+A');
      await page.type('web page');
      await page.keys('Enter');
      await waitFor('renamed in place', () => api.manager.getTunnel(web.id)?.name === 'web page');
      await rowOf('web page');
    });

    it('Stop All (in the "…" menu) says how many and offers Undo', async () => {
      const n = api.manager.listTunnels().length;
      assert.ok(n >= 3, `${n} tunnels`);
      await page.clickTitle({ menu: 'Stop All Tunnels' });
      await toast(`Stopped ${n} tunnels.`);
      await waitFor('all stopped', () => api.manager.listTunnels().length === 0);
      await page.toastButton(`Stopped ${n} tunnels.`, 'Undo');
      await waitFor('all back', () => api.manager.listTunnels().filter((t) => t.state === 'active').length === n, 20_000, () => api.manager.listTunnels().map((t) => [t.name, t.state]));
    });

    it('Disconnect Server says how many tunnels it stopped, and Undo brings them back', async () => {
      const n = api.manager.listTunnels(SERVER).length;
      await page.clickRow(SERVER, { button: 'right' });
      const items = await page.menu('Disconnect Server');
      assert.ok(items.includes('Edit Server…'), JSON.stringify(items));
      await toast(`Disconnected ${SERVER} and stopped its ${n} tunnels.`);
      await waitFor('disconnected', () => api.manager.serverStatus(SERVER).state === 'disconnected');
      await page.toastButton(`Disconnected ${SERVER}`, 'Undo');
      await waitFor('back', () => api.manager.listTunnels(SERVER).filter((t) => t.state === 'active').length === n, 20_000);
    });
  });

  describe('editing without JSON', () => {
    it('Edit Tunnel… from a row\'s menu changes its forward', async () => {
      await page.clickRow('renamed', { button: 'right' });
      await page.menu('Edit Tunnel…');
      await quick('the editor', (x) => /^Edit tunnel renamed/.test(x.title ?? ''));
      await page.type('Forward');
      await page.keys('Enter');
      await quick('the forward box', (x) => /^Forward of renamed/.test(x.title ?? ''));
      await page.keys('Control+A');
      await page.type(`-L 127.0.0.1:0:localhost:${webPort}`);
      await page.keys('Enter');
      const editor = await quick('Save offered', (x) => !!x.items?.[0]?.includes('Save'));
      assert.ok(editor.items!.some((i) => i.includes(`localhost:${webPort}`)), JSON.stringify(editor.items));
      await page.keys('Enter');
      const changed = await waitFor('reopened as changed', () => byName('renamed')?.remoteHost === 'localhost' && byName('renamed')?.state === 'active' && byName('renamed'));
      assert.equal(await get(changed.localPort), 'hello through the view');
    });

    it('Edit Server… changes a field where the list in effect is, and refuses a bad port', async () => {
      await page.clickRow(OTHER, { button: 'right' });
      await page.menu('Edit Server…');
      await quick('the server editor', (x) => x.title === `Edit server ${OTHER}`);
      await page.type('Port');
      await page.keys('Enter');
      await quick('the port box', (x) => x.title === `Port of ${OTHER}`);
      await page.keys('Control+A');
      await page.type('70000');
      await quick('the port refused', (x) => x.message === 'A port from 1 to 65535.');
      await page.keys('Control+A');
      await page.type('2222');
      await page.keys('Enter');
      await waitFor('written', () => (config().inspect<{ host: string; port?: number }[]>('servers')?.globalValue ?? []).find((s) => s.host === OTHER)?.port === 2222);
      await page.keys('Escape');
      await waitFor('read back', () => api.servers.get(OTHER)?.port === 2222);
    });
  });

  describe('servers', () => {
    it(`Add Server writes where the workspace sees it (${trusted ? 'the workspace has its own list: there' : 'Restricted Mode ignores the workspace\'s list: the user settings'})`, async () => {
      await config().update('servers', [sshd.settingsEntry('it-workspace')], vscode.ConfigurationTarget.Workspace);
      try {
        await page.clickTitle({ menu: 'Add Server' });
        await quick('the destination box', (x) => /Add SSH server \(1\/2\)/.test(x.title ?? ''));
        await page.type(`${sshd.user}@127.0.0.1:${sshd.port}`);
        await page.keys('Enter');
        await quick('the name box', (x) => /Add SSH server \(2\/2\)/.test(x.title ?? ''));
        await page.keys('Control+A');
        await page.type('it-added');
        await page.keys('Enter');
        const inspected = () => config().inspect<{ host: string }[]>('servers');
        if (trusted) {
          await waitFor('in the workspace settings', () => inspected()?.workspaceValue?.some((s) => s.host === 'it-added'));
          await toast('Added it-added to the workspace settings: this workspace has its own sshTunnels.servers, which replaces your user list here.');
        } else {
          await waitFor('in the user settings', () => inspected()?.globalValue?.some((s) => s.host === 'it-added'));
        }
        // Usable at once, from where it was added.
        await waitFor('known at once', () => api.servers.get('it-added'));
        await rowOf('it-added');
      } finally {
        await config().update('servers', undefined, vscode.ConfigurationTarget.Workspace);
        const user = (config().inspect<{ host: string }[]>('servers')?.globalValue ?? []).filter((s) => s.host !== 'it-added');
        await config().update('servers', user, vscode.ConfigurationTarget.Global);
      }
    });

    it('a server frozen and resumed: tunnels wait (one created meanwhile too), then one notification when it is given up, with Reconnect', async () => {
      const frozen = await SshdFixture.start();
      try {
        await run('addServer', frozen.settingsEntry(FROZEN, { serverAliveInterval: 1, serverAliveCountMax: 1, connectTimeout: 2 }));
        await waitFor('the server', () => api.servers.get(FROZEN));
        const first = await run<TunnelInfo>('createTunnel', { server: FROZEN, forward: `0:127.0.0.1:${webPort}`, name: 'frozen-web' });
        frozen.freeze();
        await until('reconnecting', async () => (await rowOf('frozen-web')).text.includes('reconnecting…'), 20_000);
        await until('the status bar says so', async () => (await page.statusBar()).some((s) => /reconnecting…/.test(s.text)));
        // Created while the server does not answer: kept, waiting as the others do.
        await page.clickTitle({ action: 'Create Tunnel' });
        await quick('the server step', (x) => /\(1\/4\)/.test(x.title ?? ''));
        await page.type(FROZEN);
        await page.keys('Enter', 'Enter');
        await quick('the forward box', (x) => /\(3\/4\)/.test(x.title ?? ''));
        await page.type(`0:127.0.0.1:${webPort}`);
        await page.keys('Enter');
        await quick('the name step', (x) => /\(4\/4\)/.test(x.title ?? ''));
        await page.type('while-down');
        await page.keys('Enter');
        await toast(`${FROZEN} does not answer`);
        const waiting = await until('its row, waiting', async () => {
          const r = await rowOf('while-down');
          return r.text.includes('reconnecting…') && r;
        });
        assert.equal(waiting.icon, 'codicon-loading');
        frozen.thaw();
        const down = await waitFor('both back', () => api.manager.listTunnels(FROZEN).every((t) => t.state === 'active') && byName('while-down'), 30_000);
        assert.equal(await get(down.localPort), 'hello through the view');
        assert.equal(await get(byName('frozen-web')!.localPort), 'hello through the view');
        assert.equal(byName('frozen-web')!.id, first.id, 'the tunnel was not the same one');

        // Given up after one redial (a new connection takes the new policy).
        await config().update('reconnect.maxAttempts', 1, vscode.ConfigurationTarget.Global);
        await run('disconnectServer', FROZEN);
        await run('createTunnel', { server: FROZEN, forward: `0:127.0.0.1:${webPort}`, name: 'frozen-web' });
        await page.clearToasts();
        frozen.freeze();
        const told = await toast(`Lost the connection to ${FROZEN}.`);
        assert.match(told, /Gave up after 1 attempt to reconnect\. Last error: /);
        assert.match(told, /Its tunnel is down\./);
        assert.match(told, /Reconnect/);
        assert.match(told, /Show Log/);
        const failed = await until('the failed row', async () => {
          const r = await rowOf('frozen-web');
          return r.icon === 'codicon-error' && r;
        });
        assert.match(failed.text, /^frozen-web failed · /);
        assert.ok((await page.statusBar()).some((s) => /^\d+ tunnels? · 1 failed$/.test(s.text)), JSON.stringify(await page.statusBar()));
        const tip = (await page.hover('frozen-web')).first ?? '';
        assert.equal(tip.match(/Last\serror/g)?.length, 1, tip);
        assert.ok(!/\bup\s\d/.test(tip), `uptime on a failed tunnel: ${tip}`);
        await page.mouseAway();
        frozen.thaw();
        await page.toastButton(`Lost the connection to ${FROZEN}.`, 'Reconnect');
        await waitFor('active again', () => byName('frozen-web')?.state === 'active', 20_000);
        assert.equal((await page.toasts()).filter((t) => t.includes(`Lost the connection to ${FROZEN}.`)).length, 1, 'told more than once');
      } finally {
        frozen.thaw();
        for (const t of api.manager.listTunnels(FROZEN)) await api.manager.closeTunnel(t.id).catch(() => undefined);
        await config().update('reconnect.maxAttempts', undefined, vscode.ConfigurationTarget.Global);
        await frozen.stop();
      }
    });

    it('Forget Saved Secrets with none to forget says so in words', async () => {
      await page.clickTitle({ menu: 'Forget Saved Secrets' });
      await toast('No password or passphrase was saved; nothing to forget.');
    });
  });

  describe('the palette and the settings', () => {
    it('the palette has Stop Tunnel and no command that only shows the view; Open in Browser lists only local forwards', async () => {
      const palette = async (typed: string) => {
        await page.keys('F1');
        await page.type(typed);
        const q = await quick('the palette', (x) => (x.items ?? []).length > 0);
        await page.keys('Escape');
        return q.items!;
      };
      const stops = await palette('SSH Tunnels: Stop');
      assert.ok(stops.some((c) => c.startsWith('SSH Tunnels: Stop Tunnel')), JSON.stringify(stops));
      const shows = await palette('SSH Tunnels: Show');
      assert.ok(shows.some((c) => c.startsWith('SSH Tunnels: Show Log')), JSON.stringify(shows));
      assert.ok(!shows.some((c) => c.startsWith('SSH Tunnels: Show Tunnels')), `a command that only shows the view: ${JSON.stringify(shows)}`);
      await page.keys('F1');
      await page.type('SSH Tunnels: Open in Browser');
      await page.keys('Enter');
      const pick = await quick('which tunnel', (x) => /Open which tunnel in the browser\?/.test(x.title ?? ''));
      assert.ok(pick.items!.some((i) => i.startsWith('web page')), JSON.stringify(pick.items));
      assert.ok(!pick.items!.some((i) => i.startsWith(`${SERVER}:`)), `an -R tunnel is offered: ${JSON.stringify(pick.items)}`);
      await page.keys('Escape');
    });

    it('the Settings editor files them under "SSH Tunnels", in sections, without "Ssh Tunnels ›"', async () => {
      await vscode.commands.executeCommand('workbench.action.openSettings2');
      const { titles, toc } = await page.settingsToc('SSH Tunnels');
      // Its sections are entries of the table of contents; what shows of the settings depends on the editor's height.
      assert.ok(toc.some((e) => e.trim() === 'Reconnect'), JSON.stringify(toc));
      const ours = titles.filter((t) => /Servers|Tunnels|Max Channels|Restore|Initial Delay|Max Attempts/.test(t));
      assert.ok(ours.length >= 2, JSON.stringify(titles));
      assert.deepEqual(ours.filter((t) => /^Ssh Tunnels/.test(t)), [], JSON.stringify(titles));
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    });
  });
});
