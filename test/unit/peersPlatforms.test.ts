// Where one person's processes meet on each platform, with the platform injected: the runtime
// folder (Windows' %LOCALAPPDATA%, a short /tmp folder where macOS's 104-byte socket paths would
// not fit), and Windows' way (named pipes named by files, each connection proved with their key)
// run here over Unix sockets standing in for the pipes. The Windows tier (test/win32) runs it on pipes.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelManager } from '../../src/engine';
import { Peers } from '../../src/peers';
import { encode, PROTOCOL_VERSION } from '../../src/peers/protocol';
import { checkRuntimeDir, defaultRuntimeDir, LONGEST_ENTRY } from '../../src/peers/runtimeDir';
import { waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';

const MAC_TMPDIR = '/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/';

describe('peers: the runtime folder on Windows, macOS and Linux', () => {
  it("Windows: %LOCALAPPDATA%\\ssh-tunnels\\run (the person's own profile), or SSH_TUNNELS_RUNTIME_DIR in any case", () => {
    const env = { LOCALAPPDATA: 'C:\\Users\\alice\\AppData\\Local', USERPROFILE: 'C:\\Users\\alice' };
    assert.equal(defaultRuntimeDir({ platform: 'win32', env, home: 'C:\\Users\\alice' }), 'C:\\Users\\alice\\AppData\\Local\\ssh-tunnels\\run');
    assert.equal(defaultRuntimeDir({ platform: 'win32', env: {}, home: 'C:\\Users\\bob' }), 'C:\\Users\\bob\\AppData\\Local\\ssh-tunnels\\run');
    assert.equal(defaultRuntimeDir({ platform: 'win32', env: { ...env, Ssh_Tunnels_Runtime_Dir: 'D:\\run' } }), 'D:\\run');
    // XDG means nothing there, and a long path is no problem for a pipe.
    const deep = `C:\\Users\\alice\\${'x'.repeat(150)}`;
    assert.equal(defaultRuntimeDir({ platform: 'win32', env: { XDG_RUNTIME_DIR: '/run/user/1000', LOCALAPPDATA: deep } }), `${deep}\\ssh-tunnels\\run`);
  });

  it('Linux and macOS: $XDG_RUNTIME_DIR/ssh-tunnels or ~/.local/state/ssh-tunnels/run, as before', () => {
    assert.equal(defaultRuntimeDir({ platform: 'linux', env: { XDG_RUNTIME_DIR: '/run/user/1000' }, home: '/home/alice' }), '/run/user/1000/ssh-tunnels');
    assert.equal(defaultRuntimeDir({ platform: 'linux', env: {}, home: '/home/alice' }), '/home/alice/.local/state/ssh-tunnels/run');
    assert.equal(defaultRuntimeDir({ platform: 'darwin', env: {}, home: '/Users/alice' }), '/Users/alice/.local/state/ssh-tunnels/run');
    assert.equal(defaultRuntimeDir({ platform: 'darwin', env: { SSH_TUNNELS_RUNTIME_DIR: '/Users/alice/run' } }), '/Users/alice/run');
  });

  it("macOS: a folder under $TMPDIR too deep for a 104-byte socket path gives way to /tmp/ssh-tunnels-<uid>, the same for every process", () => {
    // 96 bytes with its longest socket name: fits Linux's 107, not macOS's 103.
    const underTmp = `${MAC_TMPDIR}${'s'.repeat(96 - MAC_TMPDIR.length - LONGEST_ENTRY.length - 1)}`;
    assert.equal(Buffer.byteLength(path.posix.join(underTmp, LONGEST_ENTRY)), 96);
    const env = { SSH_TUNNELS_RUNTIME_DIR: underTmp };
    assert.equal(defaultRuntimeDir({ platform: 'linux', env, uid: 501 }), underTmp);
    // 104 bytes: too long on macOS, and the same for every process whatever its pid.
    const longer = underTmp + 'x'.repeat(8);
    assert.equal(defaultRuntimeDir({ platform: 'darwin', env: { SSH_TUNNELS_RUNTIME_DIR: longer }, uid: 501 }), '/tmp/ssh-tunnels-501');
    assert.equal(defaultRuntimeDir({ platform: 'linux', env: { SSH_TUNNELS_RUNTIME_DIR: longer }, uid: 501 }), longer);
    // A home so deep that even the default does not fit.
    const home = `/Users/${'a'.repeat(70)}`;
    assert.equal(defaultRuntimeDir({ platform: 'darwin', env: {}, home, uid: 502 }), '/tmp/ssh-tunnels-502');
  });

  describe('checks that mean something on each platform', () => {
    let base: string;
    beforeEach(() => {
      base = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-platform-'));
    });
    afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

    it('Windows: no mode check (modes mean nothing there); a folder inside the profile is used, one outside it or a link is not', () => {
      const profile = { platform: 'win32' as const, env: { USERPROFILE: base } };
      const dir = path.join(base, 'AppData', 'Local', 'ssh-tunnels', 'run');
      assert.equal(checkRuntimeDir(dir, profile), undefined);
      fs.chmodSync(dir, 0o777);
      assert.equal(checkRuntimeDir(dir, profile), undefined, 'a mode is no problem on Windows');
      assert.match(checkRuntimeDir(dir, { platform: 'linux' }) ?? '', /writable by others \(mode 0777/, 'and one on Linux');
      const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-elsewhere-'));
      try {
        assert.match(checkRuntimeDir(elsewhere, profile) ?? '', /is outside your profile folder .*other users may read it/);
        const link = path.join(base, 'link');
        fs.symlinkSync(elsewhere, link);
        assert.equal(checkRuntimeDir(link, profile), 'is a symbolic link');
      } finally {
        fs.rmSync(elsewhere, { recursive: true, force: true });
      }
    });

    it('macOS: a socket path past 103 bytes (which Linux would take) runs alone and says so', async () => {
      // Its socket's path is 104 to 107 bytes long (as its instance number in this process goes).
      const dir = path.join(base, 'd'.repeat(104 - base.length - 1 - `${process.pid}.sock`.length - 1));
      fs.mkdirSync(dir, { mode: 0o700 });
      const logs: string[] = [];
      const manager = new TunnelManager({ servers: staticServers() });
      const peers = Peers.start({ kind: 'up', dir, manager, actions: { close: () => Promise.resolve(), restart: () => Promise.reject(new Error('no')) }, log: (l) => logs.push(l), place: { platform: 'darwin' } });
      await peers.ready();
      assert.equal(peers.socketPath, undefined);
      assert.match(logs.join('\n'), /longer than a Unix socket allows \(its path is 10\d bytes long; a Unix socket path can have at most 103 on macOS\)/);
      await peers.dispose(() => manager.dispose());
    });
  });
});

describe("peers: Windows' way (named pipes named by files, proved both ways), over stand-in pipes", function () {
  this.timeout(20_000);
  let base: string;
  let dir: string;
  let pipeDir: string;
  let logs: string[];
  const started: { peers: Peers; manager: TunnelManager }[] = [];

  const start = () => {
    const manager = new TunnelManager({ servers: staticServers() });
    const peers = Peers.start({
      kind: 'up',
      dir,
      manager,
      actions: { close: (id) => manager.closeTunnel(id), restart: () => Promise.reject(new Error('not here')) },
      log: (l) => logs.push(l),
      place: { platform: 'win32', env: { USERPROFILE: base }, pipeDir, user: 'Alice Smith' },
    });
    started.push({ peers, manager });
    return peers;
  };

  beforeEach(() => {
    logs = [];
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-win-'));
    dir = path.join(base, 'AppData', 'Local', 'ssh-tunnels', 'run');
    pipeDir = path.join(base, 'pipe') + '/';
    fs.mkdirSync(pipeDir);
  });
  afterEach(async () => {
    for (const s of started.splice(0)) await s.peers.dispose(() => s.manager.dispose());
    fs.rmSync(base, { recursive: true, force: true });
  });

  /** Everything a connection to `address` receives after writing `lines`, until it is closed (or 1 s passed). */
  const exchange = (address: string, lines: string[]) =>
    new Promise<string>((resolve) => {
      let got = '';
      const s = net.connect(address, () => {
        for (const l of lines) s.write(l);
      });
      s.on('data', (d) => (got += d.toString()));
      s.on('error', () => undefined);
      const timer = setTimeout(() => s.destroy(), 1000);
      s.on('close', () => {
        clearTimeout(timer);
        resolve(got);
      });
    });

  it('each process leaves <pid>.pipe naming its pipe (user and a random part) and a key; two processes meet through them', async () => {
    const a = start();
    await a.ready();
    const entry = a.socketPath!;
    assert.match(path.basename(entry), new RegExp(`^${process.pid}(-\\d+)?\\.pipe$`));
    const named = JSON.parse(fs.readFileSync(entry, 'utf8')) as { pipe: string; key: string };
    assert.match(named.pipe, /ssh-tunnels\.Alice_Smith\.[0-9a-f]{32}$/);
    assert.equal(named.pipe, pipeDir + path.basename(named.pipe));
    assert.equal(a.address, named.pipe);
    assert.match(named.key, /^[0-9a-f]{64}$/);
    const b = start();
    await b.ready();
    assert.deepEqual(b.peers().map((p) => p.id), [a.self.id]);
    await waitFor(() => a.peers().some((p) => p.id === b.self.id), 2000, 'a to know b');
    // Their pipes differ: nothing to guess from one process's name to another's.
    assert.notEqual(b.address, a.address);
    await started[1].peers.dispose(() => started[1].manager.dispose());
    assert.equal(fs.existsSync(b.socketPath!), false, 'its file goes with it');
  });

  it('a connection that cannot prove it is this person (another user opening the pipe) hears nothing of the tunnels, and is dropped with a log line', async () => {
    const a = start();
    await a.ready();
    // Straight to a hello: no proof.
    const hello = encode({ t: 'hello', v: PROTOCOL_VERSION, peer: { id: 'x-1', pid: 1, kind: 'up', startedAt: Date.now() }, tunnels: [] });
    const heard1 = await exchange(a.address!, [hello]);
    assert.equal(heard1, '', 'not a word to a connection without a nonce');
    // A nonce, then a made-up proof: it hears the listener's nonce and proof, nothing more.
    const heard2 = await exchange(a.address!, [JSON.stringify({ t: 'auth', n: 'ab'.repeat(16) }) + '\n', JSON.stringify({ t: 'auth', p: 'cd'.repeat(32) }) + '\n', hello]);
    assert.equal(heard2.split('\n').filter(Boolean).length, 1, heard2);
    assert.match(heard2, /^\{"t":"auth","n":"[0-9a-f]{32}","p":"[0-9a-f]{64}"\}\n$/);
    await waitFor(() => logs.filter((l) => /did not prove it is yours/.test(l)).length === 2, 2000, 'two log lines');
    assert.match(logs.join('\n'), /no proof where one was due/);
    assert.match(logs.join('\n'), /a wrong proof/);
    assert.deepEqual(a.peers(), []);
  });

  it("a pipe taken by someone else under a process's name (it cannot prove the key) is told nothing of this process", async () => {
    fs.mkdirSync(dir, { recursive: true });
    const squatted = `${pipeDir}ssh-tunnels.Alice_Smith.${'0'.repeat(32)}`;
    let heard = '';
    const squatter = net.createServer((s) => {
      s.on('data', (d) => {
        heard += d.toString();
        s.write(JSON.stringify({ t: 'auth', n: 'ef'.repeat(16), p: '00'.repeat(32) }) + '\n');
      });
    });
    await new Promise<void>((resolve) => squatter.listen(squatted, resolve));
    // A file as a process of this person would leave it (process 1 lives: init), naming that pipe.
    fs.writeFileSync(path.join(dir, '1.pipe'), JSON.stringify({ pipe: squatted, key: '11'.repeat(32) }));
    try {
      const a = start();
      await a.ready();
      await waitFor(() => logs.some((l) => /did not prove it is yours \(a wrong proof\)/.test(l)), 2000, 'the log line');
      assert.match(heard, /^\{"t":"auth","n":"[0-9a-f]{32}"\}\n$/, 'only its nonce was sent');
      assert.deepEqual(a.peers(), []);
    } finally {
      squatter.close();
    }
  });

  it("a file naming a pipe that is gone is removed; one that names something else, or is a link, is not followed", async () => {
    fs.mkdirSync(dir, { recursive: true });
    const gone = path.join(dir, '4000001.pipe');
    fs.writeFileSync(gone, JSON.stringify({ pipe: `${pipeDir}ssh-tunnels.Alice_Smith.${'a'.repeat(32)}`, key: '22'.repeat(32) }));
    const elsewhere = path.join(dir, '4000002.pipe');
    fs.writeFileSync(elsewhere, JSON.stringify({ pipe: '/run/other.sock', key: '22'.repeat(32) }));
    const link = path.join(dir, '4000003.pipe');
    fs.symlinkSync(gone, link);
    const a = start();
    await a.ready();
    assert.equal(fs.existsSync(gone), false);
    assert.match(logs.join('\n'), /Removed the stale entry .*4000001\.pipe: its process \(pid 4000001\) has ended\./);
    assert.match(logs.join('\n'), /4000002\.pipe does not name a pipe of ssh-tunnels: ignored, not connected to\./);
    assert.match(logs.join('\n'), /4000003\.pipe is not a file: ignored, not connected to\./);
    assert.ok(fs.existsSync(elsewhere));
  });
});
