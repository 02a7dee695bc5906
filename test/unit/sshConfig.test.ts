import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSshConfig, resolveHost } from '../../src/config/sshConfig';
import { ServerRegistry, validateServerSettings } from '../../src/config/servers';
import { asSshG, sshG } from '../helpers/sshG';

// ssh expands `~` and resolves relative Includes with the passwd home, not $HOME.
const home = os.userInfo().homedir;
const localUser = os.userInfo().username;
const env = { home, localUser };

/** The identity files ssh really tries, tokens expanded (`ssh -G` prints them raw). */
function sshIdentityFiles(configFile: string, host: string): string[] {
  const run = spawnSync('ssh', ['-v', '-F', configFile, '-o', 'ProxyJump=none', '-o', 'ProxyCommand=false', '-o', 'BatchMode=yes', host, 'true'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return [...run.stderr.matchAll(/^debug1: identity file (.*) type -?\d+$/gm)].map((m) => m[1]).filter((f) => !f.endsWith('-cert'));
}

describe('~/.ssh/config: the same answers as ssh -G', function () {
  this.timeout(60_000);
  let dir: string;
  let incDir: string;
  let createdSshDir = false;
  let configFile: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-config-'));
    const sshDir = path.join(home, '.ssh');
    if (!fs.existsSync(sshDir)) {
      fs.mkdirSync(sshDir, { mode: 0o700 });
      createdSshDir = true;
    }
    // Relative Include paths are relative to ~/.ssh: put the included files there, in a folder of our own.
    incDir = fs.mkdtempSync(path.join(sshDir, 'ssh-tunnels-test-'));
    const rel = path.basename(incDir);
    fs.writeFileSync(
      path.join(incDir, '10-first.conf'),
      ['Host db', '  Port 2222', '  User dbadmin', 'Host app', '  HostName app.example.org', '  ProxyJump bastion.internal,db', ''].join('\n'),
    );
    fs.writeFileSync(path.join(incDir, '20-second.conf'), ['Host web', '  User webuser', '  Port 9999', 'Host api.internal', '  HostName 10.1.1.1', ''].join('\n'));
    fs.writeFileSync(path.join(incDir, 'skipped.txt'), 'Host db\n  User wrong\n');
    fs.writeFileSync(path.join(dir, 'internal.conf'), ['User internal-user', 'Host api.internal', '  Port 2300', ''].join('\n'));
    configFile = path.join(dir, 'config');
    fs.writeFileSync(
      configFile,
      [
        '# Before any Host: applies to every host',
        `Include ${rel}/*.conf`,
        'ServerAliveCountMax 5',
        '',
        'Host *.internal !bastion.internal',
        '  ProxyJump bastion.internal',
        // Inside a Host block: only for hosts that matched it.
        `  Include ${path.join(dir, 'internal.conf')}`,
        '  ServerAliveInterval 11',
        '',
        'Host web web-?',
        '  HostName %h.example.org',
        '  Port 2201',
        '  IdentityFile ~/.ssh/keys/%r@%h:%p',
        '  IdentityFile %d/.ssh/%u-%n-%%',
        'Host web-2',
        '  Port 2202',
        '  User second',
        'Host db',
        '  HostName 10.0.0.5',
        '  IdentityFile "/keys/with space/%h"',
        '  StrictHostKeyChecking accept-new',
        '  UserKnownHostsFile ~/.ssh/kh_%h /tmp/kh-%p',
        '  GlobalKnownHostsFile /etc/ssh/kh_site ~/kh_global',
        '  ServerAliveInterval 7',
        '  IdentitiesOnly yes',
        '  Ciphers aes256-gcm@openssh.com,aes128-ctr',
        '  LocalForward 15432 localhost:5432',
        '  LocalForward 127.0.0.1:16379 [::1]:6379',
        '  DynamicForward 127.0.0.1:1080',
        '  RemoteForward 127.0.0.1:9000 localhost:3000',
        'Host bastion.internal',
        '  HostName 192.0.2.10',
        '  User jump',
        '  StrictHostKeyChecking yes',
        'Host odd,name',
        '  User comma',
        'Host tok',
        '  HostName tok.example',
        '  User u1',
        '  IdentityFile /keys/%C',
        '  IdentityFile /keys/%i-%k-%l-%L-%n',
        '  IdentityFile /keys/${HOME}/x',
        'Host *',
        '  User fallback',
        '  IdentityFile ~/.ssh/id_default',
        'Match host nothing-matches-this',
        '  User from-match',
        '',
      ].join('\n'),
    );
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(incDir, { recursive: true, force: true });
    if (createdSshDir) fs.rmSync(path.join(home, '.ssh'), { recursive: true, force: true });
  });

  const hosts = ['web', 'web-2', 'web-22', 'tok', 'db', 'app', 'bastion.internal', 'api.internal', 'x.internal', 'other'];
  for (const host of hosts) {
    it(`resolves ${host} like ssh -G`, () => {
      const loaded = loadSshConfig(configFile, env);
      const ours = asSshG(resolveHost(loaded, host), home, localUser);
      const theirs = sshG(configFile, host);
      for (const [key, value] of Object.entries(ours)) {
        assert.deepEqual(value, theirs.get(key) ?? [], `${host}: ${key}`);
      }
    });
  }

  it('expands IdentityFile tokens (%h %p %r %u %d %n %% %C %i %k %l %L ${ENV}) and ~ to the files ssh tries', () => {
    const loaded = loadSshConfig(configFile, env);
    for (const host of ['web', 'web-2', 'db', 'tok', 'other']) {
      const ours = ([] as string[]).concat(resolveHost(loaded, host).server.identityFile ?? []);
      assert.deepEqual(ours, sshIdentityFiles(configFile, host), host);
      assert.ok(ours.length > 0);
      for (const f of ours) assert.ok(!f.includes('%') || f.endsWith('-%'), `${f} has no unexpanded token`);
    }
    assert.deepEqual(resolveHost(loaded, 'web').server.identityFile, [
      `${home}/.ssh/keys/webuser@web.example.org:9999`,
      `${home}/.ssh/${localUser}-web-%`,
      `${home}/.ssh/id_default`,
    ]);
  });

  it('lists only hosts without wildcards and parses forwards', () => {
    const loaded = loadSshConfig(configFile, env);
    assert.deepEqual(loaded.aliases, ['db', 'app', 'web', 'api.internal', 'web-2', 'bastion.internal', 'tok']);
    const db = resolveHost(loaded, 'db');
    assert.deepEqual(db.tunnels, [
      { server: 'db', type: 'local', localPort: 15432, remoteHost: 'localhost', remotePort: 5432 },
      { server: 'db', type: 'local', localHost: '127.0.0.1', localPort: 16379, remoteHost: '::1', remotePort: 6379 },
      { server: 'db', type: 'remote', localHost: 'localhost', localPort: 3000, remoteHost: '127.0.0.1', remotePort: 9000 },
      { server: 'db', type: 'dynamic', localHost: '127.0.0.1', localPort: 1080 },
    ]);
    assert.deepEqual(db.warnings, []);
  });

  it('reports bad values instead of using them; a missing Include is skipped silently, as ssh does', () => {
    const file = path.join(dir, 'bad');
    fs.writeFileSync(file, `Include ${dir}/missing-dir/x.conf ${dir}/exists-not.conf\nHost h\n  Port 99999\n  StrictHostKeyChecking maybe\n  RemoteForward 1080\n  LocalForward 8080 nohostport\n`);
    const loaded = loadSshConfig(file, env);
    const r = resolveHost(loaded, 'h');
    assert.equal(r.server.port, undefined);
    assert.equal(r.server.strictHostKeyChecking, undefined);
    assert.deepEqual(r.tunnels, [{ server: 'h', type: 'remote', localPort: 0, remotePort: 1080, socks: true }]);
    assert.match(r.error ?? '', /bad:3: Port "99999" for h must be a whole number from 1 to 65535/);
    assert.ok(r.warnings.some((w) => /StrictHostKeyChecking "maybe"/.test(w)));
    assert.ok(r.warnings.some((w) => /bad:6: LocalForward 8080 nohostport/.test(w)), r.warnings.join('\n'));
    assert.deepEqual(loaded.warnings, []);
    // ssh refuses the whole file over the bad port; we refuse that host, with the reason.
    assert.match(spawnSync('ssh', ['-G', '-F', file, 'h'], { encoding: 'utf8' }).stderr, /Bad port '99999'/);
  });
});

describe('ServerRegistry: settings + ssh config', function () {
  let dir: string;
  let configFile: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-registry-'));
    configFile = path.join(dir, 'config');
    fs.writeFileSync(configFile, 'Host alpha\n  HostName 10.0.0.1\n  User a\n  Port 2200\n  LocalForward 8080 localhost:80\nHost beta\n  HostName 10.0.0.2\nHost *\n  User fallback\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('merges settings over the file field by field and lists both', () => {
    const reg = new ServerRegistry({
      configPath: configFile,
      env,
      settings: [
        { host: 'alpha', port: 2201, identityFile: '~/.ssh/alpha' },
        { host: 'gamma', hostName: '10.0.0.3', strictHostKeyChecking: 'accept-new' },
      ],
    });
    assert.deepEqual(reg.list().map((s) => s.alias), ['alpha', 'gamma', 'beta']);
    assert.deepEqual(reg.get('alpha'), { alias: 'alpha', hostName: '10.0.0.1', user: 'a', port: 2201, identityFile: '~/.ssh/alpha' });
    assert.equal(reg.get('beta')?.user, 'fallback');
    assert.equal(reg.origin('alpha'), 'both');
    assert.equal(reg.origin('gamma'), 'settings');
    assert.equal(reg.origin('beta'), 'sshConfig');
    assert.deepEqual(reg.tunnels('alpha'), [{ server: 'alpha', type: 'local', localPort: 8080, remoteHost: 'localhost', remotePort: 80 }]);
    assert.deepEqual(reg.problems(), []);
  });

  it('finds servers by exact name only; unknown and ambiguous names list what exists', () => {
    const reg = new ServerRegistry({ configPath: configFile, env, settings: [{ host: 'Alpha', hostName: 'x' }] });
    assert.equal(reg.get('alp'), undefined);
    assert.equal(reg.get('ALPHA'), undefined);
    assert.equal(reg.get('*'), undefined);
    assert.throws(() => reg.require('nope'), /Unknown server "nope"\. Known servers: Alpha, alpha, beta\./);
    assert.throws(() => reg.require('ALPHA'), /"ALPHA" is ambiguous: it could be Alpha or alpha/);
    assert.throws(() => reg.require('BETA'), /Unknown server "BETA" \(did you mean "beta"\?\)/);
    const viaTilde = new ServerRegistry({ configPath: '~/config', env: { ...env, home: dir } });
    assert.deepEqual(viaTilde.list().map((s) => s.alias), ['alpha', 'beta']);
    const empty = new ServerRegistry({ configPath: path.join(dir, 'none'), env });
    assert.deepEqual(empty.list(), []);
    assert.throws(() => empty.require('x'), /No servers are configured: add one to sshTunnels.servers or a Host to /);
  });

  it('picks up an edited config file, and an Include added later', async () => {
    const reg = new ServerRegistry({ configPath: configFile, env, checkIntervalMs: 0 });
    let changes = 0;
    reg.onDidChange(() => changes++);
    assert.equal(reg.get('alpha')?.port, 2200);
    fs.writeFileSync(configFile, `Include ${dir}/conf.d/*\nHost alpha\n  Port 2300\nHost delta\n`);
    assert.equal(reg.get('alpha')?.port, 2300);
    assert.equal(reg.get('alpha')?.hostName, undefined);
    assert.deepEqual(reg.list().map((s) => s.alias), ['alpha', 'delta']);
    assert.equal(changes, 1);
    fs.mkdirSync(path.join(dir, 'conf.d'));
    fs.writeFileSync(path.join(dir, 'conf.d', 'extra'), 'Host epsilon\n  HostName 10.9.9.9\n');
    assert.equal(reg.get('epsilon')?.hostName, '10.9.9.9');
    fs.writeFileSync(path.join(dir, 'conf.d', 'extra'), 'Host epsilon\n  HostName 10.9.9.10\n');
    assert.equal(reg.get('epsilon')?.hostName, '10.9.9.10');
    reg.dispose();
  });

  it('watch() notices an edit without anyone asking', async () => {
    const reg = new ServerRegistry({ configPath: configFile, env, checkIntervalMs: 60_000 });
    assert.equal(reg.get('alpha')?.port, 2200);
    let changed = false;
    reg.onDidChange(() => (changed = true));
    const watching = reg.watch(50);
    try {
      fs.writeFileSync(configFile, 'Host alpha\n  Port 2400\n  UserKnownHostsFile none\n');
      const deadline = Date.now() + 5000;
      while (!changed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(changed, 'onDidChange fired');
      assert.equal(reg.get('alpha')?.port, 2400);
      assert.deepEqual(reg.get('alpha')?.userKnownHostsFile, [os.devNull]);
    } finally {
      watching.dispose();
      reg.dispose();
    }
  });

  it('validateServerSettings: clear errors, bad entries left out, good ones kept', () => {
    const { servers, errors, warnings, broken } = validateServerSettings([
      { host: 'ok', hostName: 'h', port: 22, strictHostKeyChecking: 'ask' },
      { host: 'p', port: 70000 },
      { host: 'q', port: '22' },
      { host: 'has space' },
      { hostName: 'no-name' },
      { host: 'ok' },
      { host: 's', password: 'hunter2' },
      { host: 't', prot: 22, identityFile: 5, strictHostKeyChecking: 'sometimes', serverAliveCountMax: 0 },
      'just a string',
    ]);
    assert.deepEqual(servers, [{ alias: 'ok', hostName: 'h', port: 22, strictHostKeyChecking: undefined }]);
    const all = [...errors, ...warnings].join('\n');
    assert.deepEqual(broken.map((b) => b.name), ['p', 'q', 's', 't']);
    assert.match(all, /sshTunnels\.servers\[1\] \(p\): port must be a whole number from 1 to 65535; got 70000\./);
    assert.match(all, /\[2\] \(q\): port must be a whole number from 1 to 65535; got "22"\./);
    assert.match(all, /\[3\] \(has space\): host must be a name without spaces or wildcards/);
    assert.match(all, /\[4\]: host must be a name/);
    assert.match(all, /\[5\] \(ok\): another entry already uses host "ok"/);
    assert.match(all, /\[6\] \(s\): password does not belong in settings/);
    assert.doesNotMatch(all, /hunter2/);
    assert.match(warnings.join('\n'), /\[7\] \(t\): unknown field "prot" \(did you mean "port"\?\); ignored, the entry is used without it\./);
    assert.match(all, /\[7\] \(t\): identityFile must be a path or a list of paths; got 5\./);
    assert.match(all, /\[7\] \(t\): strictHostKeyChecking must be "yes", "accept-new", "no" or "ask"/);
    assert.match(all, /\[7\] \(t\): serverAliveCountMax must be a whole number from 1 up; got 0\./);
    assert.match(all, /\[8\] must be an object/);
    assert.deepEqual(validateServerSettings({ host: 'x' }).errors, ['sshTunnels.servers must be a list of server objects; got object.']);
  });
});
