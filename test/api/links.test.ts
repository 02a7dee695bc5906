// A link that opens a tunnel (vscode://tunnelworks.ssh-tunnels/open?…), opened as a person opens
// one in this workbench (Developer: Open URL): VS Code asks whether SSH Tunnels may handle it, then
// SSH Tunnels always asks, showing everything the link would do; only then does the tunnel open.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { freePort } from '../fixtures/sshd';
import { bound } from '../helpers/net';
import { EXTENSION_ID, get, waitFor } from '../helpers/vscode';
import { driver } from './driver';
import { apiEnv, trusted, until } from './setup';

const SERVER = 'link-sshd';

describe(`links that open a tunnel (${trusted ? 'trusted' : 'Restricted Mode'})`, function () {
  this.timeout(60_000);
  const env = apiEnv(SERVER);
  const link = (query: string) => `${vscode.env.uriScheme}://${EXTENSION_ID}/open?${query}`;
  afterEach(async () => {
    for (const t of env.api.manager.listTunnels(SERVER)) await env.api.manager.closeTunnel(t.id);
  });

  /** Opens the link as a person would, and lets VS Code hand it to SSH Tunnels. */
  const follow = async (url: string) => {
    // Only what this link makes SSH Tunnels say shows afterwards.
    await vscode.commands.executeCommand('notifications.clearAll');
    void vscode.commands.executeCommand('workbench.action.url.openUrl');
    await driver.typeInput(url);
    const vscodeQuestion = await driver.answerDialog('Open');
    assert.match(vscodeQuestion.text, /Allow 'SSH Tunnels' extension to open this URI\?/);
  };

  it('asks first, showing what the link opens and the link itself; declined, nothing opens', async () => {
    const port = await freePort();
    await follow(link(`server=${SERVER}&forward=${port}:127.0.0.1:${env.webPort}&name=link-web`));
    const question = await driver.answerDialog('Cancel', 'api-link-question');
    assert.match(question.text, /Open an SSH tunnel from a link\?/);
    assert.ok(question.text.includes(`This link asks to open a local forward (-L) through ${SERVER} (${env.sshd.user}@127.0.0.1:${env.sshd.port}): listen on 127.0.0.1:${port} on this machine and forward each connection through ${SERVER} to 127.0.0.1:${env.webPort} (as ${SERVER} sees it).`), question.text);
    assert.ok(question.text.includes(`/open?server=${SERVER}&forward=${port}:127.0.0.1:${env.webPort}&name=link-web`), question.text);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(env.api.manager.listTunnels(SERVER), []);
    assert.equal(await bound(port), false);
  });

  it('confirmed, it opens the tunnel as the person\'s; the same link again finds it open', async () => {
    const port = await freePort();
    const url = link(`server=${SERVER}&forward=${port}:127.0.0.1:${env.webPort}&name=link-web`);
    await follow(url);
    await driver.answerDialog('Open Tunnel');
    const tunnel = await waitFor('the tunnel of the link', () => env.api.manager.listTunnels(SERVER).find((t) => t.name === 'link-web' && t.state === 'active'));
    assert.equal(tunnel.localPort, port);
    assert.equal(tunnel.openedBy, 'person');
    assert.equal(await get(port), 'hello, api');
    await until('"is open" shown', async () => (await driver.notifications()).some((m) => m.startsWith(`link-web is open. Connect to 127.0.0.1:${port}`)));
    await follow(url);
    await driver.answerDialog('Open Tunnel');
    await until('"already open" shown', async () => (await driver.notifications()).some((m) => m.startsWith('link-web is already open.')));
    assert.equal(env.api.manager.listTunnels(SERVER).length, 1, 'not opened twice');
  });

  it('a link may not listen beyond loopback (the agents\' rule): refused before anything is asked', async () => {
    await follow(link(`server=${SERVER}&type=local&localHost=0.0.0.0&localPort=0&remoteHost=127.0.0.1&remotePort=${env.webPort}`));
    // Read in the notification center: VS Code's web workbench may show no toast for a message that
    // comes right as its own dialog closes (seen under load), while the center always has it.
    await vscode.commands.executeCommand('notifications.showList');
    const shown = await until('the refusal shown', async () => (await driver.notifications()).find((m) => m.includes('"0.0.0.0" is not a loopback address')));
    await vscode.commands.executeCommand('notifications.hideList');
    assert.match(shown, /^Could not open the tunnel of the link: localHost \(where the tunnel listens\) "0\.0\.0\.0" is not a loopback address.*sshTunnels\.agentTools\.allowNonLoopback/);
    assert.equal(await driver.dialogShowing(), false);
    assert.deepEqual(env.api.manager.listTunnels(SERVER), []);
  });
});
