// Settings mistakes explain themselves: an unknown field warns and the entry works; a bad value
// drops that entry only, and a tunnel naming it fails with the entry's own problem. Also the
// registry over a large config: names at once, every host resolved in slices.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateConfig } from '../../bench/sshConfigScale';
import { ServerRegistry, validateServerSettings } from '../../src/config/servers';
import { loadSshConfig, sshConfigServers } from '../../src/config/sshConfig';
import { TunnelManager } from '../../src/engine';
import { configForwards } from '../../src/ui/configForwards';

const env = { home: '/home/tester', localUser: 'tester' };

describe('sshTunnels.servers mistakes', function () {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-settings-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('an unknown field is a warning with "did you mean", and the entry still works', () => {
    const v = validateServerSettings([{ host: 'db', hostName: '10.0.0.5', name: 'Database', prot: 2222 }]);
    assert.deepEqual(v.servers, [{ alias: 'db', hostName: '10.0.0.5' }]);
    assert.deepEqual(v.errors, []);
    assert.deepEqual(v.warnings, [
      'sshTunnels.servers[0] (db): unknown field "name"; ignored, the entry is used without it.',
      'sshTunnels.servers[0] (db): unknown field "prot" (did you mean "port"?); ignored, the entry is used without it.',
    ]);
    const reg = new ServerRegistry({ configPath: null, settings: [{ host: 'db', hostName: '10.0.0.5', name: 'Database' }] });
    assert.equal(reg.get('db')?.hostName, '10.0.0.5');
    assert.deepEqual(reg.brokenServers(), []);
    assert.match(reg.problems().join('\n'), /unknown field "name"/);
  });

  it('a bad value drops that entry only; a tunnel naming it fails with the problem, not "Unknown server"', async () => {
    const settings = [
      { host: 'db', port: 70000 },
      { host: 'web', hostName: '10.0.0.6' },
      { host: 'cache', strictHostKeyChecking: 'sometimes' },
    ];
    const reg = new ServerRegistry({ configPath: null, settings });
    assert.deepEqual(reg.list().map((s) => s.alias), ['web']);
    assert.equal(reg.get('db'), undefined);
    const dbProblem = 'sshTunnels.servers[0] (db): port must be a whole number from 1 to 65535; got 70000.';
    assert.equal(reg.problemFor('db'), dbProblem);
    assert.equal(reg.problemFor('web'), undefined);
    assert.deepEqual(reg.brokenServers().map((b) => b.name), ['db', 'cache']);
    assert.throws(() => reg.require('db'), { message: dbProblem });
    assert.throws(() => reg.require('nope'), /Unknown server "nope"\. Known servers: web\./);

    const manager = new TunnelManager({ servers: reg });
    try {
      await assert.rejects(manager.createTunnel({ server: 'db', type: 'local', localPort: 0, remoteHost: 'localhost', remotePort: 5432 }), { message: dbProblem });
      await assert.rejects(manager.createTunnel({ server: 'cache', type: 'dynamic', localPort: 0 }), /servers\[2\] \(cache\): strictHostKeyChecking must be/);
    } finally {
      await manager.dispose();
    }
  });

  it('a broken settings entry hides the config host it overrides; a bad Port in the config breaks that host only', () => {
    const configFile = path.join(dir, 'config');
    fs.writeFileSync(configFile, 'Host db\n  HostName 10.0.0.5\nHost bad\n  Port 0x16\nHost good\n  Port 2200\n');
    const reg = new ServerRegistry({ configPath: configFile, env, settings: [{ host: 'db', port: 'twenty-two' }] });
    assert.deepEqual(reg.list().map((s) => s.alias), ['good']);
    assert.match(reg.problemFor('db') ?? '', /servers\[0\] \(db\): port must be/);
    assert.equal(reg.problemFor('bad'), `${configFile}:4: Port "0x16" for bad must be a whole number from 1 to 65535 (ssh refuses this config: "Bad port").`);
    assert.deepEqual(reg.brokenServers().map((b) => b.name).sort(), ['bad', 'db']);
    assert.equal(reg.get('good')?.port, 2200);
  });
});

describe('ServerRegistry merging', function () {
  it("a proxyJump in settings replaces the config's ProxyCommand (ssh takes only one of them)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-merge-'));
    try {
      const configFile = path.join(dir, 'config');
      fs.writeFileSync(configFile, 'Host ssm\n  ProxyCommand aws ssm start-session --target %h\n  User ec2-user\nHost other\n  ProxyCommand nc %h %p\n');
      const reg = new ServerRegistry({ configPath: configFile, env, settings: [{ host: 'ssm', proxyJump: 'bastion' }, { host: 'other', port: 2200 }] });
      assert.deepEqual(reg.get('ssm'), { alias: 'ssm', user: 'ec2-user', proxyJump: 'bastion' });
      assert.deepEqual(reg.get('other'), { alias: 'other', proxyCommand: 'nc %h %p', port: 2200 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ServerRegistry: Unix-socket forwards of the config in the tree', function () {
  it('each socket forward has its own key (their ports are all 0)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-sockets-'));
    try {
      const configFile = path.join(dir, 'config');
      fs.writeFileSync(configFile, 'Host s\n  LocalForward /tmp/a.sock db:5432\n  LocalForward /tmp/b.sock db:5433\n  RemoteForward /tmp/r.sock localhost:80\n  LocalForward 8080 localhost:80\n');
      const keys = configForwards(new ServerRegistry({ configPath: configFile, env }), 's').map((f) => f.key);
      assert.deepEqual(keys, ['sshConfig:s|local|/tmp/a.sock', 'sshConfig:s|local|/tmp/b.sock', 'sshConfig:s|local|127.0.0.1:8080', 'sshConfig:s|remote|/tmp/r.sock']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ServerRegistry and Match exec', function () {
  it('runs a command once per reading of the config, not once per host, and only when allowed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-exec-'));
    try {
      const counter = path.join(dir, 'runs');
      const configFile = path.join(dir, 'config');
      fs.writeFileSync(configFile, `Host a b c\nMatch exec "echo run >> ${counter}"\n  User from-exec\n`);
      const refused = new ServerRegistry({ configPath: configFile, env });
      assert.equal(refused.get('a')?.user, undefined);
      assert.match(refused.problems().join('\n'), /Match exec .* was not run \(only in a trusted workspace\)/);
      assert.ok(!fs.existsSync(counter));
      refused.setAllowExec(true);
      await refused.whenResolved();
      assert.deepEqual(refused.list().map((s) => s.user), ['from-exec', 'from-exec', 'from-exec']);
      assert.equal(fs.readFileSync(counter, 'utf8'), 'run\n');
      refused.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ServerRegistry over a large config', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-scale-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('answers for a host at once, and fills in every host in slices', async () => {
    const file = generateConfig(path.join(dir, 'big', '.ssh'), 3000);
    // A 1 ms budget for the first call, so that it leaves work for the slices on any machine
    // (with the default 25 ms, a fast quiet machine reads all 3,000 hosts at once).
    // No system-wide file: the expected values are this file's alone.
    const reg = new ServerRegistry({ configPath: file, env: { home: path.join(dir, 'big'), localUser: 'tester' }, syncMs: 1, systemConfigPath: null });
    let changes = 0;
    reg.onDidChange(() => changes++);
    // Reading and resolving go on in slices; whoever needs one host now gets it at once.
    assert.ok(reg.list().length < 6000, 'not all resolved in the first slice');
    assert.deepEqual(reg.get('host2999.example.com'), {
      alias: 'host2999.example.com',
      hostName: '10.0.11.183',
      port: 2999,
      serverAliveInterval: 30,
      identityFile: [path.join(dir, 'big', '.ssh', 'id_example'), path.join(dir, 'big', '.ssh', 'id_ed25519')],
      serverAliveCountMax: 4,
    });
    await reg.whenResolved();
    assert.equal(reg.list().length, 6000);
    assert.ok(changes >= 1, 'a change when every host is resolved');
    assert.equal(reg.list().find((s) => s.alias === 'host10')?.serverAliveInterval, 30);
    assert.equal(reg.tunnels().length, 600);
    reg.dispose();
  });

  it('resolving every host grows linearly (4,000 hosts take well under 3x what 2,000 take)', () => {
    const time = (hosts: number) => {
      const file = generateConfig(path.join(dir, `lin${hosts}`, '.ssh'), hosts);
      const home = path.join(dir, `lin${hosts}`);
      const run = () => {
        const t = performance.now();
        sshConfigServers(loadSshConfig(file, { home, localUser: 'tester' }));
        return performance.now() - t;
      };
      run();
      return Math.min(run(), run(), run());
    };
    const t2000 = time(2000);
    const t4000 = time(4000);
    assert.ok(t4000 < 3 * t2000, `2,000 hosts: ${t2000.toFixed(0)} ms, 4,000 hosts: ${t4000.toFixed(0)} ms`);
  });
});
