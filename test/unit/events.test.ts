import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { nativeCryptoLoaded, TunnelManager, type ServerStatus, type TunnelInfo } from '../../src/engine';
import { LocalForward } from '../../src/engine/forwards/localForward';
import { freePort } from '../fixtures/sshd';
import { connect, echoRoundTrip, waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { sshdSuite } from '../helpers/suite';

const run = promisify(execFile);

/** Consecutive duplicates removed: the sequence of distinct states. */
function transitions<T>(values: T[]): T[] {
  return values.filter((v, i) => i === 0 || v !== values[i - 1]);
}

/** Established TCP connections from this machine to sshd's port, as the kernel sees them. */
async function sshConnections(port: number): Promise<number> {
  const { stdout } = await run('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`]);
  return stdout.split('\n').filter((l) => l.trim()).length;
}

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;
}

describe('manager: events and one shared SSH connection per server', function () {
  this.timeout(60_000);
  const env = sshdSuite({ manager: { reconnect: { maxAttempts: 0 } } });
  let tunnelEvents: TunnelInfo[];
  let serverEvents: ServerStatus[];

  beforeEach(() => {
    tunnelEvents = [];
    serverEvents = [];
    env.manager.onDidChangeTunnel((t) => tunnelEvents.push(t));
    env.manager.onDidChangeServer((s) => serverEvents.push(s));
  });

  const statesOf = (id: string) => transitions(tunnelEvents.filter((e) => e.id === id).map((e) => e.state));

  it('the native ssh2 add-on is not loaded: the engine runs on the pure JS / Node crypto path', () => {
    assert.equal(nativeCryptoLoaded(), false);
    assert.equal(Object.keys(require.cache).some((f) => f.endsWith('.node')), false, 'no .node file in the module cache');
  });

  it('onDidChangeTunnel: connecting → active → closed, with stats changes in between', async () => {
    const info = await env.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port });
    assert.deepEqual(statesOf(info.id), ['connecting', 'active']);
    const r = await echoRoundTrip(info.localPort, 10_000);
    assert.equal(r.received, r.sent);
    await waitFor(() => env.manager.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'released');
    const own = tunnelEvents.filter((e) => e.id === info.id);
    assert.ok(own.some((e) => e.stats.connectionsActive === 1), 'an event announced the new connection');
    assert.ok(own.some((e) => e.state === 'active' && e.stats.connectionsActive === 0 && e.stats.connectionsTotal === 1), 'an event announced its end');
    await env.manager.closeTunnel(info.id);
    assert.deepEqual(statesOf(info.id), ['connecting', 'active', 'closed']);
    const last = tunnelEvents.at(-1)!;
    assert.equal(last.id, info.id);
    assert.equal(last.state, 'closed');
  });

  it('change events carry exact counts: after many short connections, during a long one, and with errors', async () => {
    const info = await env.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port });
    const own = () => tunnelEvents.filter((e) => e.id === info.id);
    // Sizes differ per connection, so a count off by any one connection shows.
    let sent = 0;
    for (let i = 0; i < 60; i++) {
      const size = 1 + i * 97;
      const r = await echoRoundTrip(info.localPort, size);
      assert.equal(r.received, r.sent);
      sent += size;
    }
    await waitFor(() => own().some((e) => e.stats.connectionsTotal === 60 && e.stats.connectionsActive === 0), 5000, 'an event with every short connection ended');
    const settled = own().at(-1)!.stats;
    assert.deepEqual(settled, { bytesIn: sent, bytesOut: sent, connectionsTotal: 60, connectionsActive: 0, connectionsWaiting: 0, errors: 0 });

    // A long connection stays open; a short one beside it fires an event that must include the long one's bytes so far.
    const long = await connect(info.localPort);
    let longReceived = 0;
    long.on('data', (c: Buffer) => (longReceived += c.length));
    long.write(Buffer.alloc(5000, 1));
    await waitFor(() => longReceived === 5000, 5000, 'the long connection\'s echo');
    const r = await echoRoundTrip(info.localPort, 123);
    assert.equal(r.received, r.sent);
    await waitFor(() => own().some((e) => e.stats.connectionsTotal === 62 && e.stats.connectionsActive === 1), 5000, 'an event with the short one ended and the long one open');
    const during = own().filter((e) => e.stats.connectionsTotal === 62 && e.stats.connectionsActive === 1).at(-1)!.stats;
    assert.equal(during.bytesOut, sent + 5000 + 123);
    assert.equal(during.bytesIn, sent + 5000 + 123);
    long.write(Buffer.alloc(777, 2));
    await waitFor(() => longReceived === 5777, 5000, 'the long connection\'s second echo');
    long.destroy();
    await waitFor(() => own().some((e) => e.stats.connectionsActive === 0 && e.stats.connectionsTotal === 62), 5000, 'an event with the long one ended');
    assert.deepEqual(own().at(-1)!.stats, { bytesIn: sent + 5900, bytesOut: sent + 5900, connectionsTotal: 62, connectionsActive: 0, connectionsWaiting: 0, errors: 0 });
    assert.deepEqual(env.manager.getTunnel(info.id)!.stats, own().at(-1)!.stats, 'getTunnel agrees with the last event');

    // Connections the server cannot forward: each one an error, counted in the events.
    const closedPort = await freePort();
    const refused = await env.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: closedPort });
    for (let i = 0; i < 3; i++) {
      const s = await connect(refused.localPort);
      s.on('error', () => undefined); // the engine resets a connection it cannot forward
      await new Promise<void>((resolve) => s.once('close', () => resolve()).resume());
    }
    await waitFor(() => tunnelEvents.some((e) => e.id === refused.id && e.stats.errors === 3 && e.stats.connectionsActive === 0), 5000, 'an event with three errors');
    assert.deepEqual(tunnelEvents.filter((e) => e.id === refused.id).at(-1)!.stats, { bytesIn: 0, bytesOut: 0, connectionsTotal: 3, connectionsActive: 0, connectionsWaiting: 0, errors: 3 });
    await env.manager.closeTunnel(refused.id);
    await env.manager.closeTunnel(info.id);
  });

  it('with no listener, connections build no TunnelInfo; a listener added later hears exact counts', async () => {
    const m = new TunnelManager({ servers: staticServers(env.sshd.server('quiet')), reconnect: { maxAttempts: 0 } });
    const proto = LocalForward.prototype as unknown as { info(): TunnelInfo };
    const info = proto.info;
    let built = 0;
    proto.info = function (this: unknown) {
      built++;
      return info.call(this);
    };
    try {
      const opened = await m.createTunnel({ server: 'quiet', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port });
      built = 0;
      for (let i = 0; i < 10; i++) assert.equal((await echoRoundTrip(opened.localPort, 100)).bytes, 100);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(built, 0, 'no info() for an event no one hears');
      const events: TunnelInfo[] = [];
      m.onDidChangeTunnel((e) => events.push(e));
      assert.equal((await echoRoundTrip(opened.localPort, 100)).bytes, 100);
      await waitFor(() => events.some((e) => e.stats.connectionsTotal === 11 && e.stats.connectionsActive === 0), 5000, 'an event after the 11th connection');
      assert.deepEqual(events.at(-1)!.stats, { bytesIn: 1100, bytesOut: 1100, connectionsTotal: 11, connectionsActive: 0, connectionsWaiting: 0, errors: 0 });
    } finally {
      proto.info = info;
      await m.dispose();
    }
  });

  it('onDidChangeServer: connecting → connected while tunnels exist, disconnected after the last one', async () => {
    const info = await env.manager.createTunnel({ server: 'test', type: 'dynamic', localPort: 0 });
    const states = () => transitions(serverEvents.filter((s) => s.name === 'test').map((s) => s.state)).filter((s, i) => i > 0 || s !== 'disconnected');
    assert.deepEqual(states(), ['connecting', 'connected']);
    assert.deepEqual(env.manager.serverStatus('test'), { name: 'test', state: 'connected', tunnels: 1, channels: 0, lastError: undefined });
    await env.manager.closeTunnel(info.id);
    assert.deepEqual(states(), ['connecting', 'connected', 'disconnected']);
    assert.equal(env.manager.serverStatus('test').tunnels, 0);
  });

  it('a tunnel that cannot start goes connecting → failed (with the reason) → closed, and the server reports why', async () => {
    const closedPort = await freePort();
    const m = new TunnelManager({ servers: staticServers(env.sshd.server('gone', { port: closedPort })), reconnect: { maxAttempts: 0 } });
    const events: TunnelInfo[] = [];
    const servers: ServerStatus[] = [];
    m.onDidChangeTunnel((t) => events.push(t));
    m.onDidChangeServer((s) => servers.push(s));
    try {
      await assert.rejects(m.createTunnel({ server: 'gone', type: 'dynamic', localPort: 0 }), /connection refused/);
      assert.deepEqual(transitions(events.map((e) => e.state)), ['connecting', 'failed', 'closed']);
      assert.match(events.find((e) => e.state === 'failed')!.lastError ?? '', /Cannot reach gone at 127\.0\.0\.1:\d+: connection refused/);
      assert.ok(servers.some((s) => s.state === 'failed' && /connection refused/.test(s.lastError ?? '')), JSON.stringify(servers));
      assert.equal(m.serverStatus('gone').state, 'disconnected', 'nothing is left connected or retrying');
    } finally {
      await m.dispose();
    }
  });

  it('one sshd connection serves all tunnels of a server, and closes with the last one', async () => {
    const accepted = () => count(env.sshd.output, /Accepted publickey for/);
    const before = accepted();
    assert.equal(await sshConnections(env.sshd.port), 0);
    const [a, b, c] = await Promise.all([
      env.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port }),
      env.manager.createTunnel({ server: 'test', type: 'dynamic', localPort: 0 }),
      env.manager.createTunnel({ server: 'test', type: 'remote', remoteHost: '127.0.0.1', remotePort: 0, localPort: env.echo.port }),
    ]);
    assert.equal(await sshConnections(env.sshd.port), 1, 'three tunnels, one TCP connection to sshd');
    assert.equal(accepted() - before, 1, 'sshd authenticated one connection');
    await env.manager.closeTunnel(a.id);
    await env.manager.closeTunnel(b.id);
    assert.equal(await sshConnections(env.sshd.port), 1, 'still open for the remaining tunnel');
    const r = await echoRoundTrip(c.remotePort!, 10_000);
    assert.equal(r.received, r.sent);
    await env.manager.closeTunnel(c.id);
    await waitFor(async () => (await sshConnections(env.sshd.port)) === 0, 5000, 'the SSH connection to close');
    assert.equal(env.manager.serverStatus('test').state, 'disconnected');
    // The next tunnel dials afresh.
    await env.manager.createTunnel({ server: 'test', type: 'dynamic', localPort: 0 });
    assert.equal(await sshConnections(env.sshd.port), 1);
    assert.equal(accepted() - before, 2);
  });
});
