// `Match exec` in the registry never blocks the event loop: commands run asynchronously, in
// parallel, once per reading; hosts that wait for one are listed by name until their result is
// in; only in a trusted workspace; cut off at the timeout (with what the shell started).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { ServerRegistry } from '../../src/config/servers';
import { TunnelManager, type ServerConfig, type ServerSource } from '../../src/engine';
import { TunnelTools } from '../../src/tools';

const HOSTS = ['a', 'b', 'c', 'd', 'e', 'f'];

/** The longest the event loop was held while `work` ran, in ms. */
async function longestBlock<T>(work: () => Promise<T>): Promise<{ value: T; longestMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  try {
    const value = await work();
    return { value, longestMs: histogram.max / 1e6 };
  } finally {
    histogram.disable();
  }
}

describe('ServerRegistry: Match exec runs asynchronously', function () {
  this.timeout(30_000);
  let dir: string;
  let log: string;
  let configFile: string;
  const registries: ServerRegistry[] = [];
  const registry = (options: { allowExec: boolean; execTimeoutMs?: number }) => {
    const r = new ServerRegistry({ configPath: configFile, env: { home: dir, localUser: 'tester', ...options } });
    registries.push(r);
    return r;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-exec-async-'));
    log = path.join(dir, 'ran');
    configFile = path.join(dir, 'config');
    // The second command depends on the first block's User: ssh runs it only for a and c.
    fs.writeFileSync(
      configFile,
      [
        `Host ${HOSTS.join(' ')}`,
        '  HostName 127.0.0.1',
        'Match exec "sleep 1; test %n = a || test %n = c"',
        '  User matched',
        `Match user matched exec "echo %n >> ${log}"`,
        '  Port 2222',
        '',
      ].join('\n'),
    );
  });
  afterEach(() => {
    for (const r of registries.splice(0)) r.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('list() answers at once with the event loop free; the hosts are right once resolved', async () => {
    const reg = registry({ allowExec: true });
    const { value, longestMs } = await longestBlock(async () => {
      const t0 = performance.now();
      const names = reg.list().map((s) => s.alias);
      const listMs = performance.now() - t0;
      await reg.whenResolved();
      return { names, listMs, resolvedMs: performance.now() - t0 };
    });
    console.log(`      list() after ${value.listMs.toFixed(1)} ms, resolved after ${value.resolvedMs.toFixed(0)} ms, longest event-loop block ${longestMs.toFixed(1)} ms`);
    assert.deepEqual(value.names, HOSTS, 'every host listed by name at once');
    assert.ok(value.listMs < 200, `list() took ${value.listMs.toFixed(0)} ms`);
    // Six one-second commands in parallel, not one after the other (6 s) nor on the event loop.
    assert.ok(value.resolvedMs < 4500, `resolved after ${value.resolvedMs.toFixed(0)} ms`);
    // A synchronous run would hold the loop for a whole second; half of that is slack for a loaded machine.
    assert.ok(longestMs < 500, `the event loop was blocked for ${longestMs.toFixed(0)} ms`);
    const byName = new Map(reg.list().map((s) => [s.alias, s]));
    for (const host of HOSTS) {
      const matched = host === 'a' || host === 'c';
      assert.equal(byName.get(host)?.user, matched ? 'matched' : undefined, host);
      assert.equal(byName.get(host)?.port, matched ? 2222 : undefined, host);
    }
    assert.deepEqual(fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).sort(), ['a', 'c'], 'the second command ran only where the first block matched');
  });

  it('get() of a host whose command has not finished is still right (it runs it there); whenReady lets a caller wait instead', async () => {
    const reg = registry({ allowExec: true });
    reg.list();
    const ready = reg.whenReady('c');
    assert.ok(ready, 'c waits for a command');
    const { longestMs } = await longestBlock(() => ready);
    assert.ok(longestMs < 500, `whenReady held the event loop for ${longestMs.toFixed(0)} ms`);
    assert.equal(reg.get('c')?.user, 'matched');
    assert.equal(reg.get('c')?.port, 2222);
    await reg.whenResolved();
    assert.equal(reg.whenReady('a'), undefined, 'nothing left to wait for');

    // The synchronous fallback: asked before its command finished, a host is still right.
    const eager = registry({ allowExec: true });
    eager.list();
    assert.equal(eager.get('a')?.user, 'matched');
    assert.equal(eager.get('a')?.port, 2222);
    await eager.whenResolved();
    assert.equal(eager.get('b')?.user, undefined);
    assert.equal(eager.list().find((s) => s.alias === 'c')?.port, 2222);
  });

  it('a tunnel starting while commands run waits for them without blocking, and gets the resolved server', async () => {
    const reg = registry({ allowExec: true });
    reg.list();
    const seen: (ServerConfig | undefined)[] = [];
    const source: ServerSource = {
      list: () => reg.list(),
      get: (name) => {
        const server = reg.get(name);
        seen.push(server);
        return server;
      },
      whenReady: (name) => reg.whenReady(name),
    };
    const manager = new TunnelManager({ servers: source });
    try {
      const { longestMs } = await longestBlock(() => manager.createTunnel({ server: 'a', type: 'dynamic', localHost: '127.0.0.1', localPort: 0 }).catch(() => undefined));
      assert.ok(longestMs < 500, `starting the tunnel held the event loop for ${longestMs.toFixed(0)} ms`);
      assert.equal(seen[0]?.user, 'matched');
      assert.equal(seen[0]?.port, 2222);
    } finally {
      await manager.dispose();
    }
  });

  it('an agent tool waits for them too: its checks and confirmation read the resolved server, with the event loop free', async () => {
    const reg = registry({ allowExec: true });
    reg.list();
    const manager = new TunnelManager({ servers: reg });
    const tools = new TunnelTools({ manager, servers: reg });
    try {
      const input = { server: 'a', type: 'dynamic', localPort: 0 };
      const { longestMs } = await longestBlock(() => tools.ready(input));
      assert.ok(longestMs < 500, `waiting held the event loop for ${longestMs.toFixed(0)} ms`);
      // Without the wait, confirmation() would run the 1 s command synchronously in get().
      const started = performance.now();
      const ask = tools.confirmation('ssh_tunnel_create', input);
      const askMs = performance.now() - started;
      assert.ok(askMs < 100, `confirmation() took ${askMs.toFixed(0)} ms`);
      assert.match(ask!.message, /\(matched@127\.0\.0\.1:2222\)/);
    } finally {
      await manager.dispose();
    }
  });

  it("whenReady also runs the commands of a server's ProxyJump hop named by host name only", async () => {
    fs.writeFileSync(configFile, ['Host j', '  ProxyJump tester@hop.corp:2200', 'Match originalhost hop.corp exec "sleep 0.5; true"', '  Port 2022', ''].join('\n'));
    const reg = registry({ allowExec: true });
    const ready = reg.whenReady('j');
    assert.ok(ready, 'j waits for its hop');
    await ready;
    const t0 = performance.now();
    assert.equal(reg.resolveHost('hop.corp')?.port, 2022);
    const ms = performance.now() - t0;
    assert.ok(ms < 300, `the hop's command had run already (resolving it took ${ms.toFixed(0)} ms)`);
  });

  it('untrusted: no command runs, and the warning says why', async () => {
    const marker = path.join(dir, 'marker');
    fs.writeFileSync(configFile, `Host a b\nMatch exec "touch ${marker}"\n  User from-exec\n`);
    const reg = registry({ allowExec: false });
    await reg.whenResolved();
    assert.deepEqual(reg.list().map((s) => [s.alias, s.user]), [['a', undefined], ['b', undefined]]);
    assert.equal(reg.whenReady('a'), undefined);
    assert.equal(reg.get('a')?.user, undefined);
    assert.match(reg.problems().join('\n'), /Match exec "touch .*marker" was not run \(only in a trusted workspace\)/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(fs.existsSync(marker), false, 'the command did not run');
  });

  it('a command is cut off at the timeout, with what its shell started, and counts as not matching', async () => {
    const marker = path.join(dir, 'late');
    fs.writeFileSync(configFile, `Host a\nMatch exec "sleep 1; touch ${marker}"\n  User late\n`);
    const reg = registry({ allowExec: true, execTimeoutMs: 300 });
    const t0 = performance.now();
    reg.list();
    await reg.whenResolved();
    const ms = performance.now() - t0;
    assert.ok(ms < 900, `resolved after ${ms.toFixed(0)} ms`);
    assert.equal(reg.get('a')?.user, undefined);
    assert.match(reg.problems().join('\n'), /Match exec "sleep 1; touch .*late" did not finish within 300 ms; the block is treated as not matching/);
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(fs.existsSync(marker), false, 'the sleep the shell started was killed too');
  });

  it('a config change starts a new reading: commands of the old one are stopped, the new ones run', async () => {
    const old = path.join(dir, 'old');
    fs.writeFileSync(configFile, `Host a\nMatch exec "sleep 1; touch ${old}"\n  User old\n`);
    const reg = registry({ allowExec: true });
    reg.list();
    fs.writeFileSync(configFile, `Host a\nMatch exec "true"\n  User new\n`);
    assert.equal(reg.refresh(), true);
    await reg.whenResolved();
    assert.equal(reg.get('a')?.user, 'new');
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(fs.existsSync(old), false, "the old reading's command was stopped");
  });
});
