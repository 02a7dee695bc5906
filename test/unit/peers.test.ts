// Processes of one person see each other's tunnels: real processes (test/helpers/peersChild.ts),
// each with its engine, over a real sshd; one killed for real.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TunnelInfo, TunnelSpec } from '../../src/engine';
import { freePort } from '../fixtures/sshd';
import { waitFor } from '../helpers/net';
import { PeersProcess } from '../helpers/peersProcess';
import { sshdWithEcho } from '../helpers/suite';

type Listed = { peer: string; info: TunnelInfo; settingsKey?: string };

/** Sends a line through a local port and reads it back (the echo service behind the tunnel). */
function roundTrip(port: number, text = 'ping'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    s.once('data', (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.once('error', reject);
  });
}

describe('peers: processes see each other\'s tunnels', function () {
  this.timeout(30_000);
  const suite = sshdWithEcho();
  let dir: string;
  const running: PeersProcess[] = [];

  const start = async (kind: 'window' | 'up' | 'mcp', folder?: string) => {
    const p = await PeersProcess.start({ servers: [suite.sshd.server('test')], dir, kind, folder });
    running.push(p);
    return p;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-'));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows a tunnel of another process with its live state, and asks the owner to close and restart it', async () => {
    const a = await start('window', 'api');
    await a.call('ready');
    const port = await freePort();
    const spec: TunnelSpec = { server: 'test', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: suite.echo.port, name: 'db' };
    const opened = await a.call<TunnelInfo>('create', { spec });
    const b = await start('up');
    await b.call('ready');
    // Its hello carried a's tunnel, with the settings key the owner gave it.
    const seen = await b.call<Listed[]>('list');
    assert.equal(seen.length, 1);
    assert.equal(seen[0].peer, a.self.id);
    assert.equal(seen[0].info.id, opened.id);
    assert.equal(seen[0].info.state, 'active');
    assert.equal(seen[0].info.localPort, port);
    assert.equal(seen[0].settingsKey, 'settings:db');
    assert.equal(await b.call('serving', { spec }), a.self.id);
    assert.equal(await b.call('serving', { spec: { ...spec, localPort: 0 } }), null, 'port 0 never matches');
    // a sees b too (the incoming connection), and a tunnel b opens.
    await waitFor(async () => (await a.call<string[]>('peers')).includes(b.self.id), 2000, 'a to know b');
    const mine = await b.call<TunnelInfo>('create', { spec: { server: 'test', type: 'dynamic', localPort: 0 } });
    await waitFor(async () => (await a.call<Listed[]>('list')).some((t) => t.info.id === mine.id && t.info.state === 'active'), 2000, 'b\'s tunnel in a');

    // Traffic reaches the other within a second or so (bytes have no events of their own).
    assert.equal(await roundTrip(port, 'hello'), 'hello');
    await waitFor(async () => (await b.call<Listed[]>('list')).some((t) => t.info.id === opened.id && t.info.stats.bytesIn >= 5), 2500, 'the traffic in b');

    // Restart asked by b: the owner a replaces it; b sees the new one.
    const restarted = await b.call<TunnelInfo>('askRestart', { peerId: a.self.id, tunnelId: opened.id });
    assert.notEqual(restarted.id, opened.id);
    assert.equal(restarted.localPort, port);
    assert.equal((await a.call<TunnelInfo[]>('mine')).map((t) => t.id).join(), restarted.id);
    await waitFor(async () => (await b.call<Listed[]>('list')).some((t) => t.info.id === restarted.id), 2000, 'the restarted tunnel in b');
    assert.equal(await roundTrip(port), 'ping');

    // Close asked by b: a's tunnel is gone, in a and as b sees it.
    await b.call('askClose', { peerId: a.self.id, tunnelId: restarted.id });
    assert.equal((await a.call<TunnelInfo[]>('mine')).length, 0);
    await waitFor(async () => (await b.call<Listed[]>('list')).every((t) => t.peer !== a.self.id), 2000, 'a\'s tunnel gone from b');
    // A request for a tunnel the owner does not have comes back as its error.
    await assert.rejects(b.call('askClose', { peerId: a.self.id, tunnelId: 't999' }), /No open tunnel has id/);
  });

  it('a port another program holds fails at once, without waiting for a process to announce it', async () => {
    const a = await start('window', 'api');
    const b = await start('mcp');
    await Promise.all([a.call('ready'), b.call('ready')]);
    await waitFor(async () => (await a.call<string[]>('peers')).length === 1, 2000, 'a to know b');
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    try {
      const spec: TunnelSpec = { server: 'test', type: 'local', localPort: (busy.address() as net.AddressInfo).port, remoteHost: '127.0.0.1', remotePort: suite.echo.port };
      const t0 = Date.now();
      await assert.rejects(b.call('want', { spec, waitMs: 5000 }), (err: Error & { code?: string }) => err.code === 'PORT_IN_USE');
      assert.ok(Date.now() - t0 < 1500, `answered after ${Date.now() - t0} ms`);
    } finally {
      busy.close();
    }
  });

  it('an owner killed with SIGKILL is lost within a second, with its tunnels; its socket is cleaned', async () => {
    const a = await start('window', 'api');
    const b = await start('window', 'web');
    await Promise.all([a.call('ready'), b.call('ready')]);
    const spec: TunnelSpec = { server: 'test', type: 'local', localPort: await freePort(), remoteHost: '127.0.0.1', remotePort: suite.echo.port };
    const opened = await a.call<TunnelInfo>('create', { spec });
    await waitFor(async () => (await b.call('serving', { spec })) === a.self.id, 2000, 'b to see a\'s tunnel');
    const killedAt = Date.now();
    a.kill('SIGKILL');
    await waitFor(() => b.losses.length > 0, 1000, 'onDidLose in b');
    const lost = b.losses[0];
    assert.equal(lost.peer.id, a.self.id);
    assert.deepEqual(lost.tunnels.map((t) => t.id), [opened.id]);
    assert.ok(lost.at - killedAt < 1000, `lost after ${lost.at - killedAt} ms`);
    assert.equal(await b.call('serving', { spec }), null);
    // b took the tunnel over: the port is free again, and b can bind it.
    const taken = await b.call<TunnelInfo>('create', { spec });
    assert.equal(taken.localPort, spec.localPort);
    // The dead process's socket file did not stay.
    await waitFor(() => !fs.existsSync(path.join(dir, `${a.pid}.sock`)), 2000, 'a\'s socket removed');
    await b.waitLog(/ended; it served 1 tunnel/);
  });

  it('a graceful end closes its tunnels (shutdown) then says bye: onDidLose has those tunnels', async () => {
    const a = await start('up');
    const b = await start('mcp');
    await Promise.all([a.call('ready'), b.call('ready')]);
    const spec: TunnelSpec = { server: 'test', type: 'local', localPort: await freePort(), remoteHost: '127.0.0.1', remotePort: suite.echo.port };
    const opened = await a.call<TunnelInfo>('create', { spec });
    await waitFor(async () => (await b.call('serving', { spec })) === a.self.id, 2000, 'b to see a\'s tunnel');
    await a.stop();
    await waitFor(() => b.losses.length > 0, 2000, 'onDidLose in b');
    assert.deepEqual(b.losses[0].tunnels.map((t) => t.id), [opened.id]);
    assert.equal(b.losses[0].tunnels[0].closeReason, 'shutdown');
    await b.waitLog(/shut down; it served 1 tunnel/);
    assert.ok(!fs.existsSync(path.join(dir, `${a.pid}.sock`)), 'a removed its socket');
    assert.deepEqual(fs.readdirSync(dir), [`${b.pid}.sock`]);
    // A process that exits without disposing (process.exit) still takes its socket with it: alone in
    // its folder, no other process could have removed it.
    const alone = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-'));
    const c = await PeersProcess.start({ servers: [suite.sshd.server('test')], dir: alone, kind: 'up' });
    running.push(c);
    await c.call('ready');
    assert.deepEqual(fs.readdirSync(alone), [`${c.pid}.sock`]);
    await c.call('hardExit').catch(() => undefined);
    await waitFor(() => fs.readdirSync(alone).length === 0, 2000, 'c\'s socket gone with it');
    fs.rmSync(alone, { recursive: true, force: true });
    // Asking a process that is gone fails with PEER_GONE.
    await assert.rejects(b.call('askClose', { peerId: a.self.id, tunnelId: opened.id }), (err: Error & { code?: string }) => err.code === 'PEER_GONE');
  });
});
