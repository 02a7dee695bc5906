import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TunnelSpec } from '../../src/engine';
import { SshdFixture } from '../fixtures/sshd';
import { EngineProcess, type ChildTunnel } from '../helpers/engineProcess';
import { echoRoundTrip, pipeThrough, startEchoServer, tryEcho, waitFor } from '../helpers/net';
import { clientsOf } from '../helpers/processes';
import { Relay } from '../helpers/relay';
import { socksConnect } from '../helpers/socks';

// How long the engine's process is stopped, as a machine asleep; the issue asks for 20 s.
const SLEEP_S = Number(process.env.OUTAGE_SLEEP_S ?? 20);
const KEEPALIVE = { serverAliveInterval: 1, serverAliveCountMax: 2 };

/** The sshd processes serving the engine's connection(s) to `sshdPort`, found from the sockets. */
function sshdServing(sshdPort: number, enginePid: number): number[] {
  const pids = new Set<number>();
  for (const c of clientsOf(sshdPort).filter((c) => c.pid === enginePid)) {
    const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( sport = :${sshdPort} and dport = :${c.localPort} )`], { encoding: 'utf8' });
    for (const m of out.matchAll(/pid=(\d+)/g)) pids.add(Number(m[1]));
  }
  return [...pids];
}

describe('outages: every one ends with the tunnels active again on the same ports', function () {
  this.timeout(120_000);
  let sshd: SshdFixture | undefined;
  let engine: EngineProcess | undefined;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;

  before(async () => {
    echo = await startEchoServer();
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await sshd?.stop();
    sshd = undefined;
  });
  after(async () => {
    await echo?.close();
  });

  function tunnels(server: string): TunnelSpec[] {
    return [
      { server, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port },
      { server, type: 'dynamic', localPort: 0 },
    ];
  }

  /** Data through each tunnel: an echo round trip through -L, and through -D as a SOCKS5 client. */
  async function carries(list: ChildTunnel[]): Promise<void> {
    const [local, dynamic] = list; // in the order of tunnels()
    const direct = await echoRoundTrip(local.localPort, 256 * 1024);
    assert.equal(direct.received, direct.sent, 'the -L tunnel carries data intact');
    const socket = await socksConnect(dynamic.localPort, '127.0.0.1', echo.port);
    const viaSocks = await pipeThrough(socket, 256 * 1024);
    assert.equal(viaSocks.received, viaSocks.sent, 'the -D tunnel carries data intact');
  }

  function ports(e: EngineProcess): number[] {
    return e.list.map((t) => t.localPort);
  }

  it(`the machine sleeps (engine stopped ${SLEEP_S} s or until sshd drops it) and wakes: active again, same ports`, async function () {
    this.timeout((SLEEP_S + 60) * 1000);
    sshd = await SshdFixture.start({ extraConfig: ['ClientAliveInterval 2', 'ClientAliveCountMax 2'] });
    engine = await EngineProcess.start({ servers: [sshd.server('s', KEEPALIVE)], tunnels: tunnels('s') });
    const before = ports(engine);
    await carries(engine.list);
    const e = engine;
    engine.signal('SIGSTOP');
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, 500));
    // Made while the machine sleeps: waits in the listen queue, then for the redial.
    const duringSleep = tryEcho(before[0]);
    // sshd's ClientAlive gives up on the silent client and closes its end (in 6–12 s here); a
    // shorter OUTAGE_SLEEP_S sleeps until then.
    await waitFor(() => clientsOf(sshd!.port).every((c) => c.pid !== e.pid), 30_000, 'sshd dropping the silent client');
    await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + SLEEP_S * 1000 - Date.now())));
    engine.signal('SIGCONT');
    const wokeAt = Date.now();
    await waitFor(() => [...e.history.values()].every((h) => h.some((s) => s.at >= wokeAt && s.state === 'reconnecting')), 10_000, 'the engine noticing the dropped connection');
    await e.waitAll('active', 15_000);
    const healMs = Date.now() - wokeAt;
    console.log(`      sleep ${((wokeAt - stoppedAt) / 1000).toFixed(1)} s (sshd dropped the connection): active again ${healMs} ms after waking`);
    assert.deepEqual(ports(e), before, 'the same local ports');
    assert.equal(await duringSleep, 'ok', 'the connection made during the sleep went through');
    await carries(e.list);
    assert.ok(healMs < 5000, `healed in ${healMs} ms`);
  });
  it('the machine sleeps and the path dies meanwhile (no FIN, no RST): noticed within the keepalive window after waking, then active again', async function () {
    // The wake logic does not depend on the length of the sleep past a few seconds.
    const sleepS = Math.min(SLEEP_S, 10);
    this.timeout((sleepS + 60) * 1000);
    sshd = await SshdFixture.start();
    const relay = await Relay.inFrontOf(sshd);
    try {
      engine = await EngineProcess.start({ servers: [sshd.server('s', { port: relay.port, ...KEEPALIVE })], tunnels: tunnels('s') });
      const e = engine;
      const before = ports(e);
      await carries(e.list);
      e.signal('SIGSTOP');
      relay.freeze(); // the network the machine slept on is gone: nothing passes, nothing is closed
      await new Promise((r) => setTimeout(r, sleepS * 1000));
      e.signal('SIGCONT');
      const wokeAt = Date.now();
      await waitFor(() => [...e.history.values()].every((h) => h.some((x) => x.at >= wokeAt && x.state === 'reconnecting')), 10_000, 'the dead path noticed');
      const noticedMs = Date.now() - wokeAt;
      relay.resume();
      const backAt = Date.now();
      await e.waitAll('active', 15_000);
      const healMs = Date.now() - backAt;
      console.log(`      sleep ${sleepS} s on a path that died: noticed ${noticedMs} ms after waking, active again ${healMs} ms after the path returned`);
      assert.match(e.list[0].lastError ?? '', /after the machine woke|No answer/);
      assert.deepEqual(ports(e), before, 'the same local ports');
      await carries(e.list);
      // ServerAliveInterval 1 × ServerAliveCountMax 2: not the fixed 5 s grace, and not a keepalive interval more.
      assert.ok(noticedMs < 3500, `noticed ${noticedMs} ms after waking (window 2 s)`);
    } finally {
      await relay.close();
    }
  });

  it('the machine wakes on a path that takes a moment to come back: the connection is kept, not dropped', async function () {
    sshd = await SshdFixture.start();
    const relay = await Relay.inFrontOf(sshd);
    try {
      engine = await EngineProcess.start({ servers: [sshd.server('s', { port: relay.port, ...KEEPALIVE })], tunnels: tunnels('s') });
      const e = engine;
      await carries(e.list);
      e.signal('SIGSTOP');
      relay.freeze();
      await new Promise((r) => setTimeout(r, 5000)); // past the 3 s the keepalive takes for a sleep
      e.signal('SIGCONT');
      const wokeAt = Date.now();
      // Wi-Fi reassociating: the path is back 1.2 s after the wake, within the 2 s window.
      await new Promise((r) => setTimeout(r, 1200));
      relay.resume();
      await new Promise((r) => setTimeout(r, 3000));
      const dropped = [...e.history.values()].some((h) => h.some((x) => x.at >= wokeAt && x.state !== 'active'));
      assert.ok(!dropped, `kept through the wake: ${JSON.stringify([...e.history.values()])}`);
      await carries(e.list);
    } finally {
      await relay.close();
    }
  });

  it('DNS fails for a while (the name stops resolving as the connection drops): active again on the same ports once it resolves', async function () {
    // A private /etc/hosts and resolv.conf for the engine's process (a mount namespace) needs root, as the PAM tests' user does.
    const unshare = spawnSync('unshare', ['-m', 'true'], { encoding: 'utf8' });
    assert.equal(unshare.status, 0, `unshare -m (util-linux, as root) is needed for this test: ${unshare.stderr}`);
    sshd = await SshdFixture.start();
    const name = `outage-${process.pid}.test`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outage-dns-'));
    try {
      const hosts = path.join(dir, 'hosts');
      const resolvable = `127.0.0.1 localhost\n127.0.0.1 ${name}\n`;
      fs.writeFileSync(hosts, resolvable);
      // No name server: a name missing from hosts fails at once (EAI_AGAIN), as with the network's DNS down.
      fs.writeFileSync(path.join(dir, 'resolv.conf'), '');
      const [type, key] = sshd.hostPublicKey().split(/\s+/);
      fs.appendFileSync(sshd.knownHostsPath, `[${name}]:${sshd.port} ${type} ${key}\n`);
      const wrapper = ['unshare', '-m', 'sh', '-c', `mount --bind ${hosts} /etc/hosts && mount --bind ${dir}/resolv.conf /etc/resolv.conf && exec "$@"`, 'sh'];
      engine = await EngineProcess.start({ servers: [sshd.server('s', { hostName: name, ...KEEPALIVE })], tunnels: tunnels('s') }, wrapper);
      const e = engine;
      const before = ports(e);
      await carries(e.list);
      // Rewritten in place: the bind mount follows the file, not its name.
      fs.writeFileSync(hosts, '127.0.0.1 localhost\n');
      await sshd.restart(); // the connection drops; every redial now fails on the name
      await waitFor(() => e.list.every((t) => t.state === 'reconnecting' && /host name not found/.test(t.lastError ?? '')), 15_000, 'redials failing on the name');
      const duringOutage = tryEcho(before[0]);
      await new Promise((r) => setTimeout(r, 3000));
      assert.ok(e.allIn('reconnecting'), `still trying: ${JSON.stringify(e.list)}`);
      fs.writeFileSync(hosts, resolvable);
      const resolvesAt = Date.now();
      await e.waitAll('active', 15_000);
      const healMs = Date.now() - resolvesAt;
      console.log(`      DNS failing: active again ${healMs} ms after the name resolves`);
      assert.deepEqual(ports(e), before, 'the same local ports');
      assert.equal(await duringOutage, 'ok', 'the connection made during the outage went through');
      await carries(e.list);
      assert.ok(healMs < 3000, `healed in ${healMs} ms`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the server refuses new connections for a while (MaxStartups full): active again on the same ports once it accepts', async () => {
    sshd = await SshdFixture.start({ extraConfig: ['MaxStartups 1:100:1'] });
    engine = await EngineProcess.start({ servers: [sshd.server('s', KEEPALIVE)], tunnels: tunnels('s') });
    const e = engine;
    const before = ports(e);
    await carries(e.list);
    // A connection that never finishes its handshake fills MaxStartups: sshd drops every new one.
    const held = net.connect({ host: '127.0.0.1', port: sshd.port });
    held.on('error', () => undefined);
    await new Promise((resolve) => held.once('data', resolve)); // sshd's banner: it holds this one
    const serving = sshdServing(sshd.port, e.pid);
    assert.ok(serving.length > 0, 'found the sshd processes serving the engine');
    for (const pid of serving) process.kill(pid, 'SIGKILL');
    await e.waitAll('reconnecting', 10_000);
    const duringOutage = tryEcho(before[0]);
    await new Promise((r) => setTimeout(r, 4000));
    assert.match(sshd.output, /MaxStartups/, `sshd refused the redials:\n${sshd.output}`);
    assert.ok(e.allIn('reconnecting'), `still trying: ${JSON.stringify(e.list)}`);
    held.destroy();
    const acceptsAt = Date.now();
    await e.waitAll('active', 15_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(e.list)}\n${sshd!.output.slice(-2000)}`);
    });
    const healMs = Date.now() - acceptsAt;
    console.log(`      MaxStartups full: active again ${healMs} ms after sshd accepts again`);
    assert.deepEqual(ports(e), before, 'the same local ports');
    assert.equal(await duringOutage, 'ok', 'the connection made during the outage went through');
    await carries(e.list);
    assert.ok(healMs < 3000, `healed in ${healMs} ms`);
  });
});
