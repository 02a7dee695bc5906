import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { SocksClient } from 'socks';
import { TunnelManager, type ServerConfig, type TunnelInfo } from '../../src/engine';
import { freePort, SshdFixture } from '../fixtures/sshd';
import { connect, echoRoundTrip, pipeThrough, startEchoServer, tryEcho, waitFor } from '../helpers/net';
import { Relay } from '../helpers/relay';
import { staticServers } from '../helpers/servers';

const FAST_RECONNECT = { baseDelayMs: 200, maxDelayMs: 2000, maxAttempts: Infinity };

function states(manager: TunnelManager, id: string): string[] {
  const seen: string[] = [];
  manager.onDidChangeTunnel((t) => {
    if (t.id === id && seen[seen.length - 1] !== t.state) seen.push(t.state);
  });
  return seen;
}

function stateOf(manager: TunnelManager, id: string): string | undefined {
  return manager.getTunnel(id)?.state;
}

describe('supervision: keepalive, reconnect, ports kept', function () {
  this.timeout(120_000);
  let sshd: SshdFixture;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let manager: TunnelManager | undefined;

  before(async () => {
    echo = await startEchoServer();
  });
  beforeEach(async () => {
    sshd = await SshdFixture.start();
  });
  afterEach(async () => {
    await manager?.dispose();
    manager = undefined;
    await sshd?.stop();
  });
  after(async () => {
    await echo?.close();
  });

  function newManager(server: ServerConfig, options: Partial<ConstructorParameters<typeof TunnelManager>[0]> = {}): TunnelManager {
    manager = new TunnelManager({ servers: staticServers(server), reconnect: FAST_RECONNECT, ...options });
    return manager;
  }

  it('sshd killed mid-transfer: the open connection fails cleanly, the tunnel reconnects on the same port', async () => {
    const m = newManager(sshd.server('s'));
    const info = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    const seen = states(m, info.id);
    const socket = await connect(info.localPort);
    const transfer = pipeThrough(socket, 512 * 1024 * 1024); // far more than moves before the kill
    await waitFor(() => m.getTunnel(info.id)!.stats.bytesIn > 1024 * 1024, 10_000, 'bytes flowing');
    await sshd.kill();
    // Ends (reset or closed), does not hang.
    const result = await transfer.then((r) => r.bytes, (err: NodeJS.ErrnoException) => err.code);
    assert.ok(result === 'ECONNRESET' || (typeof result === 'number' && result < 512 * 1024 * 1024), `the interrupted transfer ended early (${result})`);
    await waitFor(() => stateOf(m, info.id) === 'reconnecting', 10_000, 'reconnecting');
    // The listener stays bound during the outage; a connection made now waits for the redial.
    const inGap = tryEcho(info.localPort);
    await waitFor(() => m.getTunnel(info.id)!.stats.connectionsWaiting === 1, 5000, 'the connection waits');
    const probe = net.createServer();
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.listen({ port: info.localPort, host: '127.0.0.1', exclusive: true }, () => resolve());
      }),
      /EADDRINUSE/,
      'no other program can take the port meanwhile',
    );
    await sshd.restart();
    await waitFor(() => stateOf(m, info.id) === 'active', 15_000, 'active again');
    assert.equal(await inGap, 'ok', 'the connection made during the outage went through');
    const again = await echoRoundTrip(info.localPort, 1024 * 1024);
    assert.equal(again.received, again.sent);
    assert.ok(seen.includes('reconnecting') && seen.lastIndexOf('active') > seen.indexOf('reconnecting'), `states seen: ${seen.join(' → ')}`);
    await waitFor(() => m.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'connections released');
    assert.equal(m.getTunnel(info.id)!.localPort, info.localPort);
  });

  it('redials within 2 s of the server being reachable again, even after a long backoff', async () => {
    const m = newManager(sshd.server('s'), { reconnect: { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: Infinity } });
    const info = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    await sshd.kill();
    await waitFor(() => stateOf(m, info.id) === 'reconnecting', 10_000, 'reconnecting');
    await new Promise((r) => setTimeout(r, 8000)); // several failed redials: backoff is now long
    await sshd.restart();
    const back = Date.now();
    await waitFor(() => stateOf(m, info.id) === 'active', 10_000, 'active again');
    const took = Date.now() - back;
    assert.ok(took < 2000, `redialled ${took} ms after the server came back`);
  });

  it('a black hole is noticed by keepalive within its window, and the tunnel recovers when the path does', async () => {
    const relay = await Relay.inFrontOf(sshd);
    try {
      const server = sshd.server('s', { port: relay.port, serverAliveInterval: 1, serverAliveCountMax: 2, connectTimeout: 3 });
      const m = newManager(server);
      const info = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
      // A busy connection is not dropped falsely: keep data flowing for longer than the window.
      const busy = await echoRoundTrip(info.localPort, 64 * 1024 * 1024);
      assert.equal(busy.received, busy.sent);
      assert.equal(stateOf(m, info.id), 'active');
      relay.freeze();
      const frozenAt = Date.now();
      await waitFor(() => stateOf(m, info.id) === 'reconnecting', 10_000, 'keepalive notices the dead path');
      const noticed = Date.now() - frozenAt;
      assert.ok(noticed <= 1000 * 2 + 1500, `noticed after ${noticed} ms (window 1 s × 2)`);
      assert.match(m.getTunnel(info.id)!.lastError ?? '', /No answer from the server|ServerAlive/);
      relay.resume();
      await waitFor(() => stateOf(m, info.id) === 'active', 15_000, 'recovered');
      const after = await echoRoundTrip(info.localPort, 1024 * 1024);
      assert.equal(after.received, after.sent);
    } finally {
      await relay.close();
    }
  });

  it('after a sleep (a long stall of the clock), a dead path is noticed at once, not a keepalive interval later', async () => {
    const relay = await Relay.inFrontOf(sshd);
    try {
      const server = sshd.server('s', { port: relay.port, serverAliveInterval: 60, serverAliveCountMax: 3, connectTimeout: 3 });
      const m = newManager(server);
      const info = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
      // A sleep with the path intact: the probe is answered and nothing is dropped.
      const stall = (ms: number) => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          // the process is "asleep"
        }
      };
      stall(4000);
      await new Promise((r) => setTimeout(r, 6500));
      assert.equal(stateOf(m, info.id), 'active', 'a live connection survives a wake');
      // A sleep during which the path died.
      relay.freeze();
      stall(4000);
      const woke = Date.now();
      await waitFor(() => stateOf(m, info.id) === 'reconnecting', 15_000, 'noticed after the wake');
      const took = Date.now() - woke;
      assert.ok(took < 8000, `noticed ${took} ms after waking (ServerAliveInterval is 60 s)`);
      relay.resume();
      await waitFor(() => stateOf(m, info.id) === 'active', 15_000, 'recovered');
    } finally {
      await relay.close();
    }
  });

  it('a server back with another host key is refused: security wins, and the tunnel says why', async () => {
    const m = newManager(sshd.server('s'));
    const info = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    await sshd.restart({ newHostKey: true });
    await waitFor(() => stateOf(m, info.id) === 'failed', 15_000, 'failed');
    const t = m.getTunnel(info.id)!;
    assert.match(t.lastError ?? '', /host key of s .* has changed/);
    assert.match(t.lastError ?? '', /man-in-the-middle/);
    assert.equal(m.serverStatus('s').state, 'failed');
  });

  it('remote forwards are re-established after a reconnect, on the same server port', async () => {
    const m = newManager(sshd.server('s'));
    const info = await m.createTunnel({ server: 's', type: 'remote', remoteHost: '127.0.0.1', remotePort: 0, localHost: '127.0.0.1', localPort: echo.port });
    assert.ok(info.remotePort! > 0);
    const before = await echoRoundTrip(info.remotePort!, 256 * 1024);
    assert.equal(before.received, before.sent);
    await sshd.restart();
    await waitFor(() => stateOf(m, info.id) === 'reconnecting', 10_000, 'reconnecting');
    await waitFor(() => stateOf(m, info.id) === 'active', 15_000, 'active again');
    assert.equal(m.getTunnel(info.id)!.remotePort, info.remotePort);
    const after = await echoRoundTrip(info.remotePort!, 256 * 1024);
    assert.equal(after.received, after.sent);
  });

  it('SOCKS keeps working after a reconnect', async () => {
    const m = newManager(sshd.server('s'));
    const info = await m.createTunnel({ server: 's', type: 'dynamic', localPort: 0 });
    const viaSocks = async () => {
      const { socket } = await SocksClient.createConnection({
        proxy: { host: '127.0.0.1', port: info.localPort, type: 5 },
        command: 'connect',
        destination: { host: '127.0.0.1', port: echo.port },
        timeout: 10_000,
      });
      return pipeThrough(socket, 256 * 1024);
    };
    const before = await viaSocks();
    assert.equal(before.received, before.sent);
    await sshd.restart();
    await waitFor(() => stateOf(m, info.id) === 'reconnecting', 10_000, 'reconnecting');
    await waitFor(() => stateOf(m, info.id) === 'active', 15_000, 'active again');
    const after = await viaSocks();
    assert.equal(after.received, after.sent);
    assert.equal(m.getTunnel(info.id)!.localPort, info.localPort);
  });

  it('a forward the server no longer allows after a reconnect fails alone, with its reason; one on a fixed port says so and keeps asking', async () => {
    const m = newManager(sshd.server('s'));
    const remote = await m.createTunnel({ server: 's', type: 'remote', remoteHost: '127.0.0.1', remotePort: 0, localHost: '127.0.0.1', localPort: echo.port });
    const fixedPort = await freePort();
    const fixed = await m.createTunnel({ server: 's', type: 'remote', remoteHost: '127.0.0.1', remotePort: fixedPort, localHost: '127.0.0.1', localPort: echo.port });
    const local = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    // The server comes back with remote forwarding disabled: no port at all is granted, so no retry helps.
    await sshd.restart({ extraConfig: ['AllowTcpForwarding local'] });
    await waitFor(() => stateOf(m, local.id) === 'active', 15_000, 'local forward active');
    await waitFor(() => stateOf(m, remote.id) === 'failed', 10_000, 'remote forward failed');
    assert.match(m.getTunnel(remote.id)!.lastError ?? '', new RegExp(`^s refused port ${remote.remotePort} again and then any port on 127\\.0\\.0\\.1 for a remote forward: forwarding is likely disabled on the server now`));
    const ok = await echoRoundTrip(local.localPort, 64 * 1024);
    assert.equal(ok.received, ok.sent);
    // A fixed port refused with every other port looks like forwarding disabled, but also like a port held under PermitListen: it keeps asking.
    await waitFor(() => /^s refused port \d+ again, and any other port too: remote forwarding is most likely disabled on the server now \(AllowTcpForwarding, DisableForwarding, PermitListen\); trying again in [12] s\.$/.test(m.getTunnel(fixed.id)?.lastError ?? ''), 10_000, 'the fixed forward says why');
    assert.equal(stateOf(m, fixed.id), 'reconnecting');
    // Forwarding allowed again: it comes back on its port.
    await sshd.restart({ extraConfig: [] });
    await waitFor(() => stateOf(m, fixed.id) === 'active', 15_000, 'the fixed forward active again');
    const back = await echoRoundTrip(fixedPort, 64 * 1024);
    assert.equal(back.received, back.sent);
  });

  it('refuses channels past the per-connection limit with a clear error, and stays up', async () => {
    const m = newManager(sshd.server('s'), { maxChannelsPerConnection: 3 });
    const info = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    const held = await Promise.all([0, 1, 2].map(() => connect(info.localPort)));
    // Each echoes once its channel is open.
    await Promise.all(held.map((s) => new Promise((resolve) => {
      s.once('data', resolve);
      s.write('x');
    })));
    assert.equal(await tryEcho(info.localPort), 'closed');
    const t = m.getTunnel(info.id)!;
    assert.equal(t.stats.errors, 1);
    assert.match(t.lastError ?? '', /Too many open channels on s \(limit 3\)/);
    assert.equal(t.state, 'active');
    for (const s of held) s.destroy();
    await waitFor(() => m.getTunnel(info.id)!.stats.connectionsActive === 0, 5000, 'released');
    // Channels close with a round trip to the server; then the slots are free again.
    await waitFor(async () => (await tryEcho(info.localPort)) === 'ok', 5000, 'a channel slot free again');
  });

  it('configure() changes the channel limit and reconnect policy from the next connection on', async () => {
    const m = newManager(sshd.server('s'));
    m.configure({ maxChannelsPerConnection: 1, reconnect: { baseDelayMs: 50, maxDelayMs: 100, maxAttempts: 1 } });
    const info = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    const held = await connect(info.localPort);
    await new Promise((resolve) => {
      held.once('data', resolve);
      held.write('x');
    });
    assert.equal(await tryEcho(info.localPort), 'closed');
    assert.match(m.getTunnel(info.id)!.lastError ?? '', /limit 1/);
    held.destroy();
    await sshd.kill();
    await waitFor(() => stateOf(m, info.id) === 'failed', 15_000, 'gave up after one redial');
    assert.match(m.getTunnel(info.id)!.lastError ?? '', /Gave up after 1 attempt to reconnect/);
  });

  it('gives up after the configured number of redials and says so', async () => {
    const m = newManager(sshd.server('s'), { reconnect: { baseDelayMs: 50, maxDelayMs: 100, maxAttempts: 3 } });
    const info: TunnelInfo = await m.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    await sshd.kill();
    // A connection during an outage with no return is reset when the redial gives up.
    const inGap = tryEcho(info.localPort);
    await waitFor(() => stateOf(m, info.id) === 'failed', 15_000, 'gave up');
    assert.equal(await inGap, 'closed');
    assert.match(m.getTunnel(info.id)!.lastError ?? '', /Gave up after 3 attempts/);
    assert.equal(m.getTunnel(info.id)!.stats.errors, 1, 'the reset connection is counted');
    // Once the server is back, the next use of that server brings the waiting tunnel back too.
    await sshd.restart();
    const other = await m.createTunnel({ server: 's', type: 'dynamic', localPort: 0 });
    assert.equal(other.state, 'active');
    await waitFor(() => stateOf(m, info.id) === 'active', 10_000, 'the given-up tunnel is back');
    const ok = await echoRoundTrip(info.localPort, 64 * 1024);
    assert.equal(ok.received, ok.sent);
  });
});
