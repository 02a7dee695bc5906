import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelManager, type TunnelInfo } from '../../src/engine';
import { freePort } from '../fixtures/sshd';
import { buildCli, cliHome, shellLine, tableRow, workspace } from '../helpers/cli';
import { echoRoundTrip, pipeThrough, waitFor } from '../helpers/net';
import { Relay } from '../helpers/relay';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';
import { TmuxPane } from '../helpers/tmux';

const FAST_RECONNECT = { baseDelayMs: 200, maxDelayMs: 2000, maxAttempts: Infinity };

/**
 * After a reconnect, sshd may still hold the forwards of the dead connection (it notices only with
 * its own ClientAlive settings, which the fixture leaves off): the forwards must heal anyway.
 */
describe('remote forward (-R) after a reconnect, while the server still holds the old forward', function () {
  this.timeout(120_000);
  const suite = sshdWithEcho();
  let manager: TunnelManager | undefined;
  let log: string[];

  beforeEach(() => {
    log = [];
  });
  afterEach(async () => {
    await manager?.dispose();
    manager = undefined;
  });

  function newManager(port = suite.sshd.port, keepalive = {}): TunnelManager {
    manager = new TunnelManager({ servers: staticServers(suite.sshd.server('s', { port, ...keepalive })), reconnect: FAST_RECONNECT, log: (m) => log.push(m) });
    return manager;
  }

  function openEchoForward(m: TunnelManager, remotePort: number): Promise<TunnelInfo> {
    return m.createTunnel({ server: 's', type: 'remote', remoteHost: '127.0.0.1', remotePort, localHost: '127.0.0.1', localPort: suite.echo.port });
  }

  async function carriesData(port: number): Promise<void> {
    const result = await echoRoundTrip(port, 256 * 1024);
    assert.equal(result.received, result.sent);
  }

  it('a silent outage: -R on a fixed port waits, saying the port is held, and is active within 2 s of its release; -R on port 0 moves to a new port at once', async () => {
    const relay = await Relay.inFrontOf(suite.sshd);
    try {
      const m = newManager(relay.port, { serverAliveInterval: 1, serverAliveCountMax: 2, connectTimeout: 3 });
      const fixedPort = await freePort();
      const fixed = await openEchoForward(m, fixedPort);
      const any = await openEchoForward(m, 0);
      assert.equal(fixed.remotePort, fixedPort);
      await carriesData(fixedPort);
      await carriesData(any.remotePort!);
      const anyEvents: TunnelInfo[] = [];
      const fixedStates: { state: string; lastError?: string }[] = [];
      m.onDidChangeTunnel((t) => {
        if (t.id === any.id) anyEvents.push(t);
        if (t.id === fixed.id) fixedStates.push({ state: t.state, lastError: t.lastError });
      });

      // The path goes silent: keepalive notices, the redial through the frozen relay fails; then it comes back.
      relay.freeze();
      await waitFor(() => m.getTunnel(fixed.id)?.state === 'reconnecting', 10_000, 'keepalive notices the dead path');
      await new Promise((resolve) => setTimeout(resolve, 6000 - 2000));
      relay.resume();

      // The old SSH connection still lives on the server's side, with both its forwards.
      const held = new RegExp(`^s refused port ${fixedPort} again: it still holds it from the previous connection \\(other ports are granted; sshd lets it go once it notices that connection is gone\\); trying again in [12] s\\.$`);
      await waitFor(() => held.test(m.getTunnel(fixed.id)?.lastError ?? ''), 20_000, 'the fixed forward says its port is held');
      assert.equal(m.getTunnel(fixed.id)!.state, 'reconnecting');
      await waitFor(() => m.getTunnel(any.id)?.state === 'active', 5000, 'the port-0 forward active again');
      const moved = m.getTunnel(any.id)!;
      assert.notEqual(moved.remotePort, any.remotePort, 'the old port is still held: a new one is taken');
      assert.ok(log.includes(`${moved.name}: now listens on port ${moved.remotePort} on the server (port ${any.remotePort} was still held)`), log.join('\n'));
      assert.ok(anyEvents.some((t) => t.state === 'active' && t.remotePort === moved.remotePort), 'a change event carries the new port');
      assert.equal(moved.name, any.name.replace(String(any.remotePort), String(moved.remotePort)), 'the default name follows the bound port');
      await carriesData(moved.remotePort!);

      // Still held after a few retries (the backoff runs, the state keeps saying why).
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(m.getTunnel(fixed.id)!.state, 'reconnecting');
      assert.equal(m.getTunnel(fixed.id)!.remotePort, fixedPort);

      // The server lets the dead connection go at last, and with it the port.
      assert.equal(await relay.releaseOrphans(), 1);
      const releasedAt = Date.now();
      await waitFor(() => m.getTunnel(fixed.id)?.state === 'active', 5000, 'the fixed forward active again');
      const healed = Date.now() - releasedAt;
      console.log(`      -R on a fixed port: active ${healed} ms after the server released the port`);
      assert.ok(healed <= 2000 + 300, `active ${healed} ms after the release`);
      assert.equal(m.getTunnel(fixed.id)!.remotePort, fixedPort);
      assert.ok(fixedStates.some((s) => s.state === 'reconnecting' && held.test(s.lastError ?? '')), 'the waiting state was shown as an event');
      await carriesData(fixedPort);
      await carriesData(moved.remotePort!);
    } finally {
      await relay.close();
    }
  });

  it('a silent outage: -R on a socket file waits, saying the old socket file is in the way, and is active within 2 s of its removal', async () => {
    const relay = await Relay.inFrontOf(suite.sshd);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-rfwd-'));
    try {
      const m = newManager(relay.port, { serverAliveInterval: 1, serverAliveCountMax: 2, connectTimeout: 3 });
      const socketPath = path.join(dir, 'remote.sock');
      const info = await m.createTunnel({ server: 's', type: 'remote', remotePath: socketPath, localHost: '127.0.0.1', localPort: suite.echo.port });
      relay.freeze();
      await waitFor(() => m.getTunnel(info.id)?.state === 'reconnecting', 10_000, 'keepalive notices the dead path');
      await new Promise((resolve) => setTimeout(resolve, 4000));
      relay.resume();
      await waitFor(() => /^s refused the socket .* again: the socket file of the previous connection is most likely still there \(sshd removes it before listening only with StreamLocalBindUnlink yes; else remove it on the server\); trying again in [12] s\.$/.test(m.getTunnel(info.id)?.lastError ?? ''), 20_000, 'the forward says the socket file is in the way');
      // The old connection ends on the server, but its socket file stays until someone removes it.
      assert.equal(await relay.releaseOrphans(), 1);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(m.getTunnel(info.id)!.state, 'reconnecting');
      fs.rmSync(socketPath);
      const removedAt = Date.now();
      await waitFor(() => m.getTunnel(info.id)?.state === 'active', 5000, 'active once the file is gone');
      assert.ok(Date.now() - removedAt <= 2300, `active ${Date.now() - removedAt} ms after the removal`);
      const socket = net.connect({ path: socketPath });
      const result = await pipeThrough(socket, 64 * 1024);
      assert.equal(result.received, result.sent);
    } finally {
      await relay.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a port held by someone else after a reconnect: port 0 takes another, a fixed port waits until it is free; a fixed port taken at the first request still fails at once', async () => {
    const m = newManager();
    const any = await openEchoForward(m, 0);
    const fixedPort = await freePort();
    const fixed = await openEchoForward(m, fixedPort);
    await suite.sshd.kill();
    await waitFor(() => m.getTunnel(fixed.id)?.state === 'reconnecting', 10_000, 'reconnecting');
    // Someone else takes both server-side ports while the connection is down.
    const squatters = await Promise.all([any.remotePort!, fixedPort].map(async (port) => {
      const squatter = net.createServer((s) => s.destroy());
      await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
      return squatter;
    }));
    try {
      await suite.sshd.restart();
      await waitFor(() => m.getTunnel(any.id)?.state === 'active', 15_000, 'the port-0 forward active on another port');
      assert.notEqual(m.getTunnel(any.id)!.remotePort, any.remotePort);
      await carriesData(m.getTunnel(any.id)!.remotePort!);
      await waitFor(() => /^s refused port \d+ again: it still holds it from the previous connection \(other ports are granted/.test(m.getTunnel(fixed.id)?.lastError ?? ''), 10_000, 'the fixed forward waits');
      // The first request for a port in use is still refused at once, with its reason.
      await assert.rejects(openEchoForward(m, fixedPort), /refused to listen on 127\.0\.0\.1:\d+ for a remote forward/);
      await new Promise<void>((resolve) => squatters[1].close(() => resolve()));
      const freedAt = Date.now();
      await waitFor(() => m.getTunnel(fixed.id)?.state === 'active', 5000, 'the fixed forward active once its port is free');
      assert.ok(Date.now() - freedAt <= 2300, `active ${Date.now() - freedAt} ms after the port was freed`);
      await carriesData(fixedPort);
    } finally {
      for (const s of squatters) s.close();
    }
  });

  it('ssh-tunnels up says when a port-0 forward moved to another port, and its row shows the new port', async () => {
    await buildCli();
    const home = cliHome(suite.sshd);
    let pane: TmuxPane | undefined;
    const squatter = net.createServer((s) => s.destroy());
    try {
      const ws = workspace(home.home, {
        'sshTunnels.tunnels': [{ server: 'fix', type: 'remote', remoteHost: '127.0.0.1', remotePort: 0, localHost: '127.0.0.1', localPort: suite.echo.port, autoStart: true }],
        'sshTunnels.reconnect.initialDelay': 0.5,
        'sshTunnels.reconnect.maxDelay': 2,
      }, { allow: home.env });
      pane = new TmuxPane(shellLine(['--workspace', ws]), { cwd: home.home, env: home.env });
      const oldPort = Number((await pane.waitFor(/: open, fix listens on 127\.0\.0\.1:(\d+)/))[1]);
      await suite.sshd.kill();
      await pane.waitFor(/: reconnecting \(/);
      // Someone else takes the port while the connection is down (once the old session's listener is gone).
      await waitFor(() => new Promise<boolean>((resolve) => {
        squatter.once('error', () => resolve(false));
        squatter.listen(oldPort, '127.0.0.1', () => resolve(true));
      }), 5000, 'the old port free to take');
      await suite.sshd.restart();
      const moved = await pane.waitFor(/: fix now listens on port (\d+) \(port (\d+) was still held\)/, 20_000);
      const newPort = Number(moved[1]);
      assert.equal(Number(moved[2]), oldPort);
      assert.notEqual(newPort, oldPort);
      await pane.waitFor(/active again/);
      // The default name follows the bound port too.
      const row = tableRow(pane.screen(), `R ${newPort} →`);
      assert.equal(row.ADDRESS, `fix:127.0.0.1:${newPort} → 127.0.0.1:${suite.echo.port}`, 'the row shows the new port');
      await carriesData(newPort);
    } finally {
      pane?.kill();
      squatter.close();
      home.remove();
      if (suite.sshd.pid === undefined) await suite.sshd.restart();
    }
  });
});
