// Logins other than a plain key, inside a real VS Code: a user certificate (KEY-cert.pub beside
// the key, or certificateFile in the server entry) that sshd trusts through its user CA, and a
// security key in an agent (the software authenticator), whose touch the person is asked for.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TunnelInfo } from '../../src/engine';
import type { SshTunnelsApi } from '../../src/extension';
import type { TouchNotice } from '../../src/ui/prompts';
import { newKeyPair, SshdFixture } from '../fixtures/sshd';
import { echoRoundTrip, startEchoServer } from '../helpers/net';
import { softSecurityKey, startSoftAuthenticator, type SoftAuthenticator, type SoftSecurityKey } from '../helpers/softAuthenticator';
import { EXTENSION_ID, run, waitFor } from '../helpers/vscode';

const config = () => vscode.workspace.getConfiguration('sshTunnels');

describe('certificate and security key logins in VS Code', function () {
  this.timeout(60_000);
  let api: SshTunnelsApi;
  let sshd: SshdFixture;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let savedServers: unknown;
  const added: string[] = [];

  before(async () => {
    api = await vscode.extensions.getExtension<SshTunnelsApi>(EXTENSION_ID)!.activate();
    await api.ready;
    savedServers = config().inspect('servers')?.globalValue;
    sshd = await SshdFixture.start({ userCa: true });
    echo = await startEchoServer();
  });

  after(async () => {
    for (const name of added) {
      for (const t of api?.manager.listTunnels(name) ?? []) await api.manager.closeTunnel(t.id).catch(() => undefined);
      await Promise.resolve(run('disconnectServer', name)).catch(() => undefined);
    }
    await config().update('servers', savedServers, vscode.ConfigurationTarget.Global);
    await echo?.close();
    await sshd?.stop();
  });

  /** Adds `name` through the command, as a person's user settings entry with `fields`. */
  async function addServer(name: string, fields: Record<string, unknown>): Promise<void> {
    const { alias: _h, ...base } = sshd.server(name);
    await run('addServer', { host: name, ...base, ...fields });
    added.push(name);
    await waitFor(`the server ${name}`, () => api.servers.get(name));
  }

  /** Connects `name`, opens a -L tunnel to the echo server over it and sends data through. */
  async function tunnelCarriesData(name: string): Promise<void> {
    const status = await run<{ state: string }>('connectServer', name);
    assert.equal(status.state, 'connected');
    const info = await run<TunnelInfo>('createTunnel', { server: name, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    assert.equal(info.state, 'active');
    const r = await echoRoundTrip(info.localPort, 100_000);
    assert.equal(r.received, r.sent);
    await run('closeTunnel', info.id);
  }

  /** A fresh ed25519 key in the fixture's folder, not in authorized_keys: only a certificate lets it in. */
  const newKey = (name: string): string => newKeyPair(path.join(sshd.dir, name), { comment: name });

  /** sshd's log lines of certificate logins with key id `id`. */
  const certificateLogins = (id: string) =>
    sshd.output.match(new RegExp(`Accepted publickey for \\S+ from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519-CERT SHA256:\\S+ ID ${id} \\(serial \\d+\\) CA `, 'g')) ?? [];

  it('a certificate beside the key (KEY-cert.pub) logs in, the key itself not being authorized', async () => {
    const key = newKey('id_beside');
    assert.equal(sshd.sshLogin(['-i', key]).ok, false, 'the key alone is refused');
    sshd.certify(`${key}.pub`, { id: 'it-beside' });
    await addServer('it-cert-beside', { identityFile: key, identityAgent: false });
    await tunnelCarriesData('it-cert-beside');
    await waitFor('sshd logs the certificate login', () => certificateLogins('it-beside').length === 1, 5000, () => sshd.output.slice(-1500));
  });

  it('certificateFile in the server entry names a certificate kept elsewhere', async () => {
    const key = newKey('id_named');
    const cert = sshd.certify(`${key}.pub`, { id: 'it-named', out: path.join(sshd.dir, 'named.cert') });
    await addServer('it-cert-file', { identityFile: key, identityAgent: false, certificateFile: cert });
    await tunnelCarriesData('it-cert-file');
    await waitFor('sshd logs the certificate login', () => certificateLogins('it-named').length === 1, 5000, () => sshd.output.slice(-1500));
  });

  describe('a security key in an agent', () => {
    let agent: SoftAuthenticator;
    let key: SoftSecurityKey;

    before(async () => {
      key = softSecurityKey('ed25519', 'it-sk');
      fs.appendFileSync(path.join(sshd.dir, 'authorized_keys'), `${key.publicLine}\n`);
      const dir = path.join(sshd.dir, 'sk');
      fs.mkdirSync(dir);
      agent = await startSoftAuthenticator(dir, [key]);
    });
    after(async () => {
      await agent?.close();
    });

    it('tells the person to touch the key while it signs, and takes the notice away once it signed', async () => {
      const pub = path.join(sshd.dir, 'it_sk.pub');
      fs.writeFileSync(pub, `${key.publicLine}\n`);
      // The fingerprint ssh-keygen -l prints for the same public key.
      const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', pub], { encoding: 'utf8' }).split(' ')[1];
      await addServer('it-sk', { identityFile: path.join(sshd.dir, 'no-such-key'), identityAgent: agent.socket });
      // A person takes a moment to reach for the key: the notice is up meanwhile.
      agent.touchAfterMs = 1500;
      const before = agent.signatures;
      const notices: (TouchNotice & { signatures: number })[] = [];
      const sub = api.prompts.onDidAskTouch((n) => notices.push({ ...n, signatures: agent.signatures - before }));
      try {
        await tunnelCarriesData('it-sk');
      } finally {
        sub.dispose();
        agent.touchAfterMs = 0;
      }
      assert.equal(agent.signatures - before, 1, 'the key signed once');
      assert.deepEqual(notices, [
        { server: 'it-sk', key: `ED25519-SK ${fingerprint}`, dismissed: false, signatures: 0 },
        { server: 'it-sk', key: `ED25519-SK ${fingerprint}`, dismissed: true, signatures: 1 },
      ]);
      assert.match(sshd.output, new RegExp(`Accepted publickey for \\S+ from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519-SK ${fingerprint.replace(/[+/]/g, '\\$&')}`));
    });
  });
});
