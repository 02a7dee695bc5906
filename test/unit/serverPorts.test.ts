// What a server listens on, listed over an exec channel of a real sshd, against `ss` run there:
// listeners on loopback, on every interface, on IPv6, on a Unix socket and one of another user;
// the fallbacks (netstat, /proc) on a PATH without ss; a login that allows no commands; and a
// listed port forwarded and carrying data.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FrontDoor } from '../../src/catalogue';
import { TunnelError, TunnelManager, type ServerPorts } from '../../src/engine';
import { freePort, SshdFixture } from '../fixtures/sshd';
import { startListener, type ListenerProcess } from '../helpers/listeners';
import { echoRoundTrip, waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { ensureTestUser } from '../helpers/testUser';

/** A folder of links to the programs the listing needs, without those left out: a PATH that lacks them. */
function pathWithout(dir: string, missing: string[]): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const program of ['sh', 'uname', 'cat', 'ls', 'grep', 'head', 'ss', 'netstat']) {
    if (missing.includes(program)) continue;
    const real = execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim();
    fs.symlinkSync(real, path.join(dir, program));
  }
  return dir;
}

/** A listener as `ss -ltnpH` / `ss -lxpH` print it, read here with nothing of the code under test: `port process,…` or `path process,…`. */
function ssRows(sshd: SshdFixture, user: string): Set<string> {
  const run = spawnSync('ssh', ['-F', 'none', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
    '-i', sshd.clientKeyPath, '-p', String(sshd.port), `${user}@${sshd.host}`, 'ss -ltnpH; ss -lxpH'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 0, run.stderr);
  const rows = new Set<string>();
  for (const line of run.stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const names = [...line.matchAll(/\("([^"]+)",pid=(\d+)/g)].map((m) => `${m[1]}/${m[2]}`).sort().join(',');
    if (cols[0] === 'LISTEN') rows.add(`${cols[3].slice(cols[3].lastIndexOf(':') + 1)} ${names}`.trim());
    else if (cols[0] === 'u_str' && cols[4].startsWith('/')) rows.add(`${cols[4]} ${names}`.trim());
  }
  return rows;
}

/** The listing in the same form: one entry per address's process set collapses into one per port. */
function listedRows(ports: ServerPorts): Set<string> {
  const rows = new Set<string>();
  for (const r of ports.tcp) rows.add(`${r.port} ${r.processes.map((p) => `${p.name}/${p.pid}`).sort().join(',')}`.trim());
  for (const s of ports.unix) rows.add(`${s.path} ${s.processes.map((p) => `${p.name}/${p.pid}`).sort().join(',')}`.trim());
  return rows;
}

/** ss before and after the listing: what stayed is listed, and nothing listed was absent from both (other programs of this machine come and go). */
async function assertMatchesSs(sshd: SshdFixture, user: string, list: () => Promise<ServerPorts>, keyOf: (row: string) => string = (r) => r): Promise<ServerPorts> {
  // A listener of another program may live only between two ss runs (a free-port probe): such a
  // round is taken again, at most three times, and the last one must hold.
  for (let round = 1; ; round++) {
    const before = ssRows(sshd, user);
    const ports = await list();
    const after = ssRows(sshd, user);
    const listed = new Set([...listedRows(ports)].map(keyOf));
    const stayed = [...before].filter((r) => after.has(r)).map(keyOf);
    const either = new Set([...before, ...after].map(keyOf));
    const missing = stayed.filter((r) => !listed.has(r));
    const extra = [...listed].filter((r) => !either.has(r));
    if ((missing.length || extra.length) && round < 3) continue;
    assert.deepEqual(missing, [], 'every listener ss saw before and after is listed');
    assert.deepEqual(extra, [], 'nothing is listed that ss did not see');
    return ports;
  }
}

describe('ports: what a real sshd\'s host listens on, listed over an exec channel', function () {
  this.timeout(120_000);
  let user: string;
  let sshd: SshdFixture;
  let noSs: SshdFixture;
  let noTools: SshdFixture;
  let dir: string;
  const listeners: ListenerProcess[] = [];
  const ports = { loopback: 0, all: 0, ipv6: 0, ipv6All: 0, otherUser: 0 };
  let socketPath: string;
  let manager: TunnelManager;

  before(async () => {
    ({ user } = ensureTestUser());
    sshd = await SshdFixture.start();
    dir = sshd.dir;
    // The test user logs in with the fixture's key: it must read the folder and authorized_keys.
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, 'authorized_keys'), 0o644);
    noSs = await SshdFixture.start({ extraConfig: [`SetEnv PATH=${pathWithout(path.join(dir, 'bin-no-ss'), ['ss'])}`] });
    noTools = await SshdFixture.start({ extraConfig: [`SetEnv PATH=${pathWithout(path.join(dir, 'bin-no-ss-netstat'), ['ss', 'netstat'])}`] });
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
    socketPath = path.join(dir, 'app.sock');
    listeners.push(
      await startListener('127.0.0.1', ports.loopback),
      await startListener('0.0.0.0', ports.all),
      await startListener('::1', ports.ipv6),
      await startListener('::', ports.ipv6All),
      await startListener('', socketPath),
      await startListener('127.0.0.1', ports.otherUser, user),
    );
    manager = new TunnelManager({
      servers: staticServers(
        sshd.server('root'),
        sshd.server('user', { user }),
        noSs.server('no-ss'),
        noTools.server('no-tools'),
      ),
    });
  });

  after(async () => {
    await manager?.dispose();
    await Promise.all(listeners.map((l) => l.stop()));
    await noSs?.stop();
    await noTools?.stop();
    await sshd?.stop();
  });

  it('as root: every listener with its process (loopback, all interfaces, IPv6, a Unix socket, another user\'s), as ss says there', async () => {
    const listed = await assertMatchesSs(sshd, 'root', () => manager.listServerPorts('root'));
    assert.equal(listed.source, 'ss');
    assert.equal(listed.system, 'Linux');
    const row = (port: number) => listed.tcp.find((r) => r.port === port);
    assert.deepEqual(row(ports.loopback)?.addresses, ['127.0.0.1']);
    assert.equal(row(ports.loopback)?.scope, 'loopback');
    assert.equal(row(ports.all)?.scope, 'all');
    assert.deepEqual(row(ports.ipv6)?.addresses, ['::1']);
    assert.equal(row(ports.ipv6)?.target, '::1');
    assert.equal(row(ports.ipv6All)?.scope, 'all');
    for (const port of Object.values(ports)) assert.equal(row(port)?.processes[0]?.name, 'node', `port ${port} names its process`);
    assert.equal(listed.unix.find((s) => s.path === socketPath)?.processes[0]?.name, 'node');
  });

  it('as another user: the ports of every process, the process only for its own (as ss shows it to that user)', async () => {
    const listed = await assertMatchesSs(sshd, user, () => manager.listServerPorts('user'));
    const row = (port: number) => listed.tcp.find((r) => r.port === port)!;
    assert.equal(row(ports.otherUser).processes[0]?.name, 'node', 'its own listener is named');
    assert.deepEqual(row(ports.loopback).processes, [], 'root\'s is listed without a process');
    assert.ok(listed.unix.some((s) => s.path === socketPath), 'root\'s socket is listed too');
    assert.equal(listed.processesHidden, true);
  });

  it('with no ss on the PATH, netstat gives the same ports and processes', async () => {
    // netstat names a process by its command line cut to a few letters ("sshd: /usr/sb"): ports and sockets are compared.
    const listed = await assertMatchesSs(sshd, 'root', () => manager.listServerPorts('no-ss'), (row) => row.split(' ')[0]);
    assert.equal(listed.source, 'netstat');
    for (const port of Object.values(ports)) assert.equal(listed.tcp.find((r) => r.port === port)?.processes[0]?.name, 'node');
    assert.equal(listed.unix.find((s) => s.path === socketPath)?.processes[0]?.name, 'node');
  });

  it('with neither ss nor netstat, /proc gives the same ports, and the processes from /proc/PID/fd', async () => {
    // Ports and sockets are compared: another program's process may end between /proc/net and its fds being read.
    const listed = await assertMatchesSs(sshd, 'root', () => manager.listServerPorts('no-tools'), (row) => row.split(' ')[0]);
    assert.equal(listed.source, '/proc');
    for (const port of Object.values(ports)) assert.equal(listed.tcp.find((r) => r.port === port)?.processes[0]?.name, 'node');
    assert.equal(listed.unix.find((s) => s.path === socketPath)?.processes[0]?.name, 'node');
  });

  it('a listed port opens on the same local port when it is free, and carries data; a listed socket too', async () => {
    const listed = await manager.listServerPorts('root');
    const row = listed.tcp.find((r) => r.port === ports.loopback)!;
    const door = new FrontDoor(manager);
    const local = await freePort();
    const opened = await door.open({ server: 'root', type: 'local', localPort: local, remoteHost: row.target, remotePort: row.port }, 'person');
    assert.equal(opened.here!.localPort, local);
    const trip = await echoRoundTrip(local, 64 * 1024);
    assert.equal(trip.received, trip.sent);
    const socket = listed.unix.find((s) => s.path === socketPath)!;
    const viaSocket = await door.open({ server: 'root', type: 'local', localPort: 0, remotePath: socket.path }, 'person');
    const again = await echoRoundTrip(viaSocket.here!.localPort, 1024);
    assert.equal(again.received, again.sent);
    await manager.closeServer('root');
  });
});

describe('ports: a login that allows no commands of its own', function () {
  this.timeout(60_000);

  for (const [forced, said] of [['echo "tunnels only"', /said: "tunnels only" \(exit status 0\)/], ['internal-sftp', /said: "This service allows sftp connections only\." \(exit status 1\)/]] as const) {
    it(`ForceCommand ${forced}: a clear message that says so, and tunnels still open`, async () => {
      const sshd = await SshdFixture.start({ extraConfig: [`ForceCommand ${forced}`] });
      const manager = new TunnelManager({ servers: staticServers(sshd.server('forced')) });
      try {
        await assert.rejects(manager.listServerPorts('forced'), (err: TunnelError) => {
          assert.equal(err.code, 'COMMAND_REFUSED');
          assert.match(err.message, /^forced did not run the command that lists its ports: this login allows no commands of its own \(a ForceCommand in sshd_config/);
          assert.match(err.message, said);
          assert.match(err.message, /forward a port by its number \(Create Tunnel\)/);
          return true;
        });
        assert.equal(manager.serverStatus('forced').state, 'connected', 'the connection is not harmed');
      } finally {
        await manager.dispose();
        await sshd.stop();
      }
    });
  }

  it('a tool that does not finish (an ss that hangs): the listing gives up after its timeout, says so, and ends the command', async () => {
    const bin = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-hang-')), 'bin');
    pathWithout(bin, ['ss']);
    fs.writeFileSync(path.join(bin, 'ss'), '#!/bin/sh\nsleep 60\n', { mode: 0o755 });
    const sshd = await SshdFixture.start({ extraConfig: [`SetEnv PATH=${bin}:/usr/bin`] });
    // As another user than root: sshd passes signals to a command only for a login it dropped privileges for.
    const { user } = ensureTestUser();
    fs.chmodSync(sshd.dir, 0o755);
    fs.chmodSync(path.join(sshd.dir, 'authorized_keys'), 0o644);
    fs.chmodSync(path.dirname(bin), 0o755);
    const manager = new TunnelManager({ servers: staticServers(sshd.server('slow', { user })) });
    try {
      const started = Date.now();
      await assert.rejects(manager.listServerPorts('slow', { timeoutMs: 1500 }), (err: TunnelError) => {
        assert.equal(err.code, 'TIMEOUT');
        assert.match(err.message, /^slow did not list its ports within 1\.5s/);
        return true;
      });
      assert.ok(Date.now() - started < 10_000);
      await waitFor(() => manager.serverStatus('slow').channels === 0, 5000, 'the command ended and its channel closed');
    } finally {
      await manager.dispose();
      await sshd.stop();
      fs.rmSync(path.dirname(bin), { recursive: true, force: true });
    }
  });
});
