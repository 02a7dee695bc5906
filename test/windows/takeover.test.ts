// Two windows, one tunnel in the user settings (autoStart): the second window shows it as served
// by the first, with no toast; when the first window's extension host is killed (-9), the second
// takes the tunnel over on the same port within 3 s, and it carries data.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { echoRoundTrip } from '../helpers/net';
import { waitFor } from '../helpers/vscode';
import { driver, type Setup } from './driver';
import { activate, rowsOf, show, type Api } from './tree';

const TAKEOVER_MS = 3000;
const COULD_NOT_OPEN = /Could not open the tunnel/i;

describe('two windows with an autoStart tunnel in the user settings', function () {
  this.timeout(90_000);
  let api: Api;
  let setup: Setup;
  const ownTunnel = () => api.manager.listTunnels(setup.server).find((t) => t.localPort === setup.tunnelPort);
  const row = () => rowsOf(api, setup.server).find((r) => r.label === setup.tunnel);

  before(async () => {
    api = await activate();
    setup = await driver.setup();
    assert.ok(setup.firstPid, 'the runner knows the first window\'s extension host');
    assert.notEqual(setup.firstPid, process.pid, 'each window has its own extension host');
    // The page shows the view, so the runner can read its rows.
    await vscode.commands.executeCommand('sshTunnels.focus');
  });

  it('the second window shows the tunnel as served by the first, in the tree, and raises no toast', async () => {
    const served = await waitFor(
      `${setup.tunnel} served elsewhere`,
      () => api.peers.list(setup.server).find((s) => s.info.localPort === setup.tunnelPort),
      15_000,
      () => api.peers.list(),
    );
    assert.equal(served.peer.kind, 'window');
    assert.equal(served.peer.folder, setup.folders.first);
    assert.equal(served.peer.pid, setup.firstPid, 'served by the first window\'s extension host');
    assert.equal(served.info.state, 'active');
    assert.equal(served.info.name, setup.tunnel);
    assert.equal(ownTunnel(), undefined, 'this window opened nothing on that port');
    // The windows meet in the runner's runtime folder, where each listens on a socket of its own.
    const sockets = fs.readdirSync(setup.peersDir).filter((f) => fs.lstatSync(path.join(setup.peersDir, f)).isSocket());
    assert.ok(sockets.length >= 2, `sockets in ${setup.peersDir}: ${sockets.join(', ')}`);

    const description = `served by window of folder ${setup.folders.first}`;
    const item = await waitFor(`the row of ${setup.tunnel} ${description}`, () => row()?.description.includes(description) && row(), 10_000, () => show(rowsOf(api, setup.server)));
    // Its live state and port are in the hover (the icon shows the state).
    assert.match(item.tooltip, new RegExp(`127\\.0\\.0\\.1:${setup.tunnelPort}`), `the hover: ${item.tooltip}`);
    assert.match(item.tooltip, /active/, `the hover: ${item.tooltip}`);
    await driver.treeRow('second', (r) => r.includes(setup.tunnel) && r.includes(description), `${setup.tunnel} ${description}`);

    const { sent, received } = await echoRoundTrip(setup.tunnelPort, 64 * 1024);
    assert.equal(received, sent, 'the tunnel of the first window carries data for this one');
    // A toast would have come at activation, long before now; the runner has watched the page since its first paint.
    const toasts = await driver.toasts('second');
    assert.deepEqual(toasts.filter((t) => COULD_NOT_OPEN.test(t) || t.includes(setup.tunnel)), [], `toasts of the second window: ${JSON.stringify(toasts)}`);
  });

  it('when the first window\'s extension host is killed, the second takes the tunnel over on the same port within 3 s, and it carries data', async () => {
    const { killedAt } = await driver.kill('first');
    const mine = await waitFor(`${setup.tunnel} taken over`, () => ownTunnel()?.state === 'active' && ownTunnel(), 15_000, () => ({ own: api.manager.listTunnels(), elsewhere: api.peers.list() }));
    const took = Date.now() - killedAt;
    assert.ok(took <= TAKEOVER_MS, `taken over ${took} ms after the kill (at most ${TAKEOVER_MS})`);
    console.log(`      taken over ${took} ms after the kill`);
    assert.equal(mine.name, setup.tunnel);
    assert.equal(mine.openedBy, 'settings');

    const { sent, received } = await echoRoundTrip(setup.tunnelPort, 256 * 1024);
    assert.equal(received, sent, 'the tunnel carries data after the takeover');
    assert.equal(api.peers.list(setup.server).some((s) => s.info.localPort === setup.tunnelPort), false, 'no longer listed as served elsewhere');
    const item = await waitFor(`the row of ${setup.tunnel} as this window's`, () => row() && !row()!.description.includes('served by') && row(), 5000, () => show(rowsOf(api, setup.server)));
    // An active row shows its state as its icon; a screen reader hears it (issue 31).
    assert.match(item.spoken, /, active$/);
    await driver.treeRow('second', (r) => r.includes(setup.tunnel) && !/served by|stopped|connecting|failed/.test(r), `${setup.tunnel} active and not served by another`);
    const toasts = await driver.toasts('second');
    assert.deepEqual(toasts.filter((t) => COULD_NOT_OPEN.test(t) || t.includes(setup.tunnel)), [], `toasts of the second window: ${JSON.stringify(toasts)}`);
  });
});
