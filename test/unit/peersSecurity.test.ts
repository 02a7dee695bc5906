// What the runtime folder lets through: a stale socket, a socket of another user, a folder with
// wrong permissions, another user connecting, garbage on the line. Runs as root in CI (chown to
// nobody, runuser as nobody).
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelManager } from '../../src/engine';
import { Peers } from '../../src/peers';
import { MAX_LINE_BYTES } from '../../src/peers/protocol';
import { waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';

const NOBODY = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());

describe('peers: the runtime folder and who may reach it', function () {
  this.timeout(20_000);
  let dir: string;
  let logs: string[];
  const started: { peers: Peers; manager: TunnelManager }[] = [];

  const start = (folder = dir) => {
    const manager = new TunnelManager({ servers: staticServers() });
    const peers = Peers.start({
      kind: 'up',
      dir: folder,
      manager,
      actions: { close: (id) => manager.closeTunnel(id), restart: () => Promise.reject(new Error('not here')) },
      log: (l) => logs.push(l),
    });
    started.push({ peers, manager });
    return peers;
  };

  before(function () {
    // chown and runuser need root, which CI has.
    if (process.getuid?.() !== 0) this.skip();
  });
  beforeEach(() => {
    logs = [];
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'peers-')), 'run');
  });
  afterEach(async () => {
    for (const s of started.splice(0)) await s.peers.dispose(() => s.manager.dispose());
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('creates the folder 0700 and its socket 0600; another user cannot connect, even with the folder opened', async () => {
    const peers = start();
    await peers.ready();
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    const socket = peers.socketPath!;
    // `<pid>.sock`; further instances in one process (as in this test run) add a number.
    assert.equal(path.dirname(socket), dir);
    assert.match(path.basename(socket), new RegExp(`^${process.pid}(-\\d+)?\\.sock$`));
    assert.equal(fs.statSync(socket).mode & 0o777, 0o600);
    const tryAsNobody = () =>
      execFileSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', `const s=require('net').connect(process.argv[1]);s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});s.on('error',(e)=>{console.log(e.code);process.exit(0)})`, socket], { encoding: 'utf8' }).trim();
    assert.equal(tryAsNobody(), 'EACCES');
    // The socket's own mode refuses too, should the folder's be loosened.
    fs.chmodSync(dir, 0o711);
    fs.chmodSync(path.dirname(dir), 0o711);
    assert.equal(tryAsNobody(), 'EACCES');
  });

  it('starting costs little synchronously (mkdir and lstat; listening and connecting come after)', async () => {
    const costs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const peers = start();
      costs.push(performance.now() - t0);
      assert.equal(fs.existsSync(peers.socketPath!), false, 'not listening yet in the caller\'s turn');
      await peers.ready();
      assert.equal(fs.existsSync(peers.socketPath!), true);
    }
    costs.sort((x, y) => x - y);
    assert.ok(costs[2] < 5, `median ${costs[2].toFixed(2)} ms (all: ${costs.map((c) => c.toFixed(2)).join(', ')})`);
  });

  it('a stale socket (its process killed) is ignored, removed and logged', async () => {
    fs.mkdirSync(dir, { mode: 0o700, recursive: true });
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(require('path').join(process.argv[1], process.pid + '.sock'), () => console.log('up'))`, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const stale = path.join(dir, `${child.pid}.sock`);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    assert.ok(fs.existsSync(stale), 'a killed process leaves its socket');
    const peers = start();
    await peers.ready();
    assert.ok(!fs.existsSync(stale), 'the stale socket was removed');
    assert.ok(logs.some((l) => l.includes(`Removed the stale socket ${stale}: its process (pid ${child.pid}) has ended`)), logs.join('\n'));
    assert.deepEqual(peers.peers(), []);
  });

  it('a socket of another user, and a file that is no socket, are not connected to (logged)', async () => {
    fs.mkdirSync(dir, { mode: 0o700, recursive: true });
    const foreign = path.join(dir, '1.sock');
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(foreign, resolve));
    fs.chownSync(foreign, NOBODY, NOBODY);
    fs.writeFileSync(path.join(dir, '2.sock'), 'not a socket');
    try {
      const peers = start();
      await peers.ready();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(connections, 0, 'no connection to the other user\'s socket');
      assert.ok(logs.some((l) => l.includes(`${foreign} is owned by uid ${NOBODY}, not by this user: ignored, not connected to.`)), logs.join('\n'));
      assert.ok(logs.some((l) => l.includes(`${path.join(dir, '2.sock')} is not a socket: ignored`)), logs.join('\n'));
      assert.ok(fs.existsSync(foreign), 'another user\'s socket is left alone');
      assert.deepEqual(peers.peers(), []);
    } finally {
      server.close();
    }
  });

  for (const [what, spoil, words] of [
    ['writable by others (0777)', (d: string) => fs.chmodSync(d, 0o777), /is writable by others \(mode 0777; it must be 0700\)/],
    ['readable by others (0755)', (d: string) => fs.chmodSync(d, 0o755), /is readable by others \(mode 0755/],
    ['owned by another user', (d: string) => fs.chownSync(d, NOBODY, NOBODY), new RegExp(`is owned by uid ${NOBODY}, not by this user`)],
    ['a symbolic link', (d: string) => {
      const real = `${d}-real`;
      fs.mkdirSync(real, { mode: 0o700 });
      fs.symlinkSync(real, d);
    }, /is a symbolic link/],
  ] as const) {
    it(`a runtime folder ${what}: the process runs alone, says so, and creates nothing in it`, async () => {
      if (what !== 'a symbolic link') fs.mkdirSync(dir, { mode: 0o700 });
      else fs.mkdirSync(path.dirname(dir), { recursive: true });
      spoil(dir);
      const peers = start();
      await peers.ready();
      assert.equal(peers.socketPath, undefined);
      assert.deepEqual(fs.readdirSync(dir), []);
      assert.equal(logs.length, 1, logs.join('\n'));
      assert.match(logs[0], words);
      assert.match(logs[0], /ignored; tunnels of other processes are not shared/);
    });
  }

  it('a runtime folder too deep for a Unix socket path: runs alone, says so', async () => {
    const deep = path.join(dir, 'x'.repeat(120));
    fs.mkdirSync(deep, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    const peers = start(deep);
    await peers.ready();
    assert.equal(peers.socketPath, undefined);
    assert.match(logs.join('\n'), /longer than a Unix socket allows/);
  });

  it('a process that sends garbage (or a line without end) is disconnected, with a log line; the others carry on', async () => {
    const peers = start();
    await peers.ready();
    const garbage = (payload: Buffer | string) =>
      new Promise<void>((resolve) => {
        const s = net.connect(peers.socketPath!, () => s.write(payload));
        s.on('error', () => undefined);
        s.resume();
        s.once('close', () => resolve());
      });
    await garbage('hello there\n');
    await garbage(Buffer.alloc(MAX_LINE_BYTES + 10, 'a'));
    await garbage(JSON.stringify({ t: 'tunnel', tunnel: { info: {} } }) + '\n');
    await waitFor(() => logs.filter((l) => /disconnected from it/.test(l)).length === 3, 2000, 'three log lines');
    assert.match(logs.join('\n'), /a line that is not JSON/);
    assert.match(logs.join('\n'), new RegExp(`a line longer than ${MAX_LINE_BYTES} bytes`));
    assert.match(logs.join('\n'), /a malformed tunnel/);
    // Still serving: a well-behaved process is welcome.
    const other = start();
    await other.ready();
    assert.deepEqual(other.peers().map((p) => p.id), [peers.self.id]);
  });
});
