// Reading ssh_config lines as readconf.c does, and the parts of evaluation ssh -G cannot check
// on this machine (OpenSSH 10's criteria=value, Match exec trust, warnings).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assembleCiphers, DEFAULT_CIPHERS, loadSshConfig, resolveHost } from '../../src/config/sshConfig';
import { argvSplit, tokenizeLine } from '../../src/config/sshConfigLines';
import { loadSteps } from '../../src/config/sshConfigLoad';

const env = { home: '/home/tester', localUser: 'tester' };

describe('ssh_config lines, as readconf.c reads them', function () {
  let dir: string;
  const write = (text: string) => {
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(file, text);
    return file;
  };
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-parse-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('splits keyword, = and arguments with quotes, escapes and comments', () => {
    assert.deepEqual(tokenizeLine('  Port=2222  \t'), { keyword: 'Port', args: ['2222'], rest: '2222' });
    assert.deepEqual(tokenizeLine('User = "a b" # note'), { keyword: 'User', args: ['a b'], rest: '"a b" # note' });
    assert.deepEqual(tokenizeLine('Port==22'), { keyword: 'Port', args: ['=22'], rest: '=22' });
    assert.equal(tokenizeLine('   # only a comment'), undefined);
    assert.equal(tokenizeLine(''), undefined);
    assert.deepEqual(tokenizeLine('User'), { error: 'no argument after keyword "User"' });
    assert.deepEqual(tokenizeLine('IdentityFile "/open'), { error: 'invalid quotes' });
    assert.deepEqual(argvSplit(`a\\ b 'c "d"' e\\x #f g`), ['a b', 'c "d"', 'e\\x']);
  });

  it('a line it cannot read costs that line only, named by file:line; an unknown keyword is a warning naming it', () => {
    const file = write('Host a\n  User "unclosed\n  Port 2200\n  Frobnicate yes\n  Frobnicate no\nHost b\n  User bee\n');
    const loaded = loadSshConfig(file, env);
    assert.deepEqual(loaded.aliases, ['a', 'b']);
    assert.equal(resolveHost(loaded, 'a').server.port, 2200);
    assert.equal(resolveHost(loaded, 'b').server.user, 'bee');
    assert.deepEqual(loaded.warnings, [`${file}:2: invalid quotes; line skipped.`, `${file}:4: unknown keyword Frobnicate; ignored.`]);
    const ignoring = loadSshConfig(write('IgnoreUnknown frob*\nHost a\n  Frobnicate yes\n'), env);
    assert.deepEqual(ignoring.warnings, []);
  });

  it('a large file is read in steps a caller can spread over several turns of the event loop', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `Host h${i}\n  Port ${1000 + i}`).join('\n');
    const steps = loadSteps(write(lines), env);
    let pauses = 0;
    let step = steps.next();
    while (!step.done) {
      pauses++;
      step = steps.next();
    }
    assert.ok(pauses >= 3, `${pauses} pauses for 2,000 lines`);
    assert.equal(step.value.aliases.length, 1000);
    assert.equal(resolveHost(step.value, 'h999').server.port, 1999);
  });

  it("the issue's Match line (valid for OpenSSH) keeps every host of the file", () => {
    const file = write('Host one\n  HostName 10.0.0.1\nMatch !canonical originalhost www host bogus localuser rando user calrissian\n  User lando\nHost two\n  User deux\n');
    const loaded = loadSshConfig(file, env);
    assert.deepEqual(loaded.aliases, ['one', 'two']);
    assert.deepEqual(loaded.warnings, []);
    assert.equal(resolveHost(loaded, 'two').server.user, 'deux');
    assert.equal(resolveHost(loaded, 'www').server.user, undefined);
    // Match sees the values set above it: HostName and User of the Host block before it.
    const lando = loadSshConfig(write('Host www\n  HostName bogus\n  User calrissian\nMatch !canonical originalhost www host bogus localuser tester user calrissian\n  Port 2000\n'), env);
    assert.equal(resolveHost(lando, 'www').server.port, 2000);
  });

  it("OpenSSH 10's criteria=value form means what the spaced form means", () => {
    const spaced = loadSshConfig(write('Match host=db.* user=ops,!root originalhost=x*\n  Port 1111\nMatch localuser=tester\n  ConnectTimeout 4\n'), env);
    const eq = loadSshConfig(write('Match host db.* user ops,!root originalhost x*\n  Port 1111\nMatch localuser tester\n  ConnectTimeout 4\n'), env);
    assert.deepEqual([...spaced.warnings, ...eq.warnings], []);
    for (const [alias, hostName, user, port] of [
      ['xdb', 'db.example', 'ops', 1111],
      ['xdb', 'db.example', 'root', undefined],
      ['ydb', 'db.example', 'ops', undefined],
      ['xweb', 'web.example', 'ops', undefined],
    ] as const) {
      const withHost = (file: string) => {
        fs.writeFileSync(`${file}.top`, `Host ${alias}\n  HostName ${hostName}\n  User ${user}\nInclude ${file}\n`);
        return resolveHost(loadSshConfig(`${file}.top`, env), alias).server;
      };
      const a = withHost(spaced.path);
      const b = withHost(eq.path);
      assert.equal(a.port, port, `${alias} ${user}`);
      assert.deepEqual(a, b);
      assert.equal(a.connectTimeout, 4);
    }
  });

  it('a bad Match line is reported with file:line and only its block is skipped', () => {
    const file = write('Match host\n  User nobody\nMatch frobnicate x\n  User nobody\nHost *\n  User everyone\n');
    const loaded = loadSshConfig(file, env);
    assert.equal(resolveHost(loaded, 'h').server.user, 'everyone');
    assert.match(loaded.warnings[0], new RegExp(`${file}:1: Match host: missing argument`));
    assert.match(loaded.warnings[1], new RegExp(`${file}:3: Match frobnicate x: unsupported Match attribute frobnicate`));
  });

  it('Match exec runs only when allowed, with tokens, once per resolution, and within its timeout', () => {
    const counter = path.join(dir, 'exec-count');
    fs.writeFileSync(counter, '');
    const file = write(
      [`Match exec "echo %n >> ${counter}; test %n = yes-host"`, '  User via-exec', `Match exec "echo %n >> ${counter}; test %n = yes-host"`, '  Port 2345', 'Match exec "sleep 5"', '  ConnectTimeout 1', ''].join('\n'),
    );
    const refused = resolveHost(loadSshConfig(file, env), 'yes-host');
    assert.equal(refused.server.user, undefined);
    assert.ok(refused.warnings.some((w) => w.includes(`${file}:1: Match exec "echo yes-host >> ${counter}; test yes-host = yes-host" was not run (only in a trusted workspace)`)), refused.warnings.join('\n'));
    assert.equal(fs.readFileSync(counter, 'utf8'), '');

    const trusted = loadSshConfig(file, { ...env, allowExec: true, execTimeoutMs: 1500 });
    const started = Date.now();
    const yes = resolveHost(trusted, 'yes-host');
    assert.ok(Date.now() - started < 4000, 'the sleeping command was cut off');
    assert.equal(yes.server.user, 'via-exec');
    assert.equal(yes.server.port, 2345);
    assert.equal(yes.server.connectTimeout, undefined);
    assert.ok(yes.warnings.some((w) => /Match exec "sleep 5" did not finish within 1500 ms/.test(w)), yes.warnings.join('\n'));
    assert.equal(fs.readFileSync(counter, 'utf8'), 'yes-host\n', 'the same command ran once');
    assert.equal(resolveHost(trusted, 'no-host').server.user, undefined);
    assert.equal(resolveHost(loadSshConfig(file, { ...env, execTimeoutMs: 1500 }), 'yes-host', { allowExec: true }).server.user, 'via-exec');
  });

  it('Ciphers: +, - and ^ apply to the default list; names ssh2 cannot use are dropped with a warning', () => {
    assert.deepEqual(assembleCiphers('+aes128-cbc').ciphers, [...DEFAULT_CIPHERS, 'aes128-cbc']);
    assert.deepEqual(assembleCiphers('-aes*-ctr').ciphers, ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']);
    assert.deepEqual(assembleCiphers('^aes256-gcm@openssh.com').ciphers, ['aes256-gcm@openssh.com', ...DEFAULT_CIPHERS.filter((c) => c !== 'aes256-gcm@openssh.com')]);
    const r = resolveHost(loadSshConfig(write('Host h\n  Ciphers aes128-ctr,rijndael-cbc@lysator.liu.se,arcfour\n'), env), 'h');
    assert.deepEqual(r.server.ciphers, ['aes128-ctr']);
    assert.ok(r.warnings.some((w) => /rijndael-cbc@lysator.liu.se, arcfour are not a cipher ssh2 supports; left out/.test(w)), r.warnings.join('\n'));
    const none = resolveHost(loadSshConfig(write('Host h\n  Ciphers arcfour\n'), env), 'h');
    assert.equal(none.server.ciphers, undefined);
    assert.ok(none.warnings.some((w) => /leaves no cipher ssh2 can use; ssh2's defaults are used/.test(w)));
  });

  it('forwards: Unix sockets both ways, reverse SOCKS, StreamLocalBindUnlink, ClearAllForwardings', () => {
    const file = write(
      [
        'Host fw',
        '  StreamLocalBindUnlink yes',
        '  LocalForward /tmp/here.sock db:5432',
        '  LocalForward 2375 /var/run/docker.sock',
        '  LocalForward 127.0.0.1:2376 /var/run/docker.sock',
        '  RemoteForward /tmp/there.sock localhost:3000',
        '  RemoteForward 9000 /tmp/local.sock',
        '  RemoteForward 0.0.0.0:1080',
        '  RemoteForward 8080 a b',
        'Host cleared',
        '  ClearAllForwardings yes',
        '  LocalForward 8081 localhost:81',
        '',
      ].join('\n'),
    );
    const loaded = loadSshConfig(file, env);
    const fw = resolveHost(loaded, 'fw');
    assert.equal(fw.server.streamLocalBindUnlink, true);
    assert.deepEqual(fw.tunnels, [
      { server: 'fw', type: 'local', localPort: 0, localPath: '/tmp/here.sock', remoteHost: 'db', remotePort: 5432 },
      { server: 'fw', type: 'local', localPort: 2375, remotePath: '/var/run/docker.sock' },
      { server: 'fw', type: 'local', localPort: 2376, localHost: '127.0.0.1', remotePath: '/var/run/docker.sock' },
      { server: 'fw', type: 'remote', localPort: 3000, remotePath: '/tmp/there.sock', localHost: 'localhost' },
      { server: 'fw', type: 'remote', localPort: 0, remotePort: 9000, localPath: '/tmp/local.sock' },
      { server: 'fw', type: 'remote', localPort: 0, socks: true, remotePort: 1080, remoteHost: '0.0.0.0' },
    ]);
    assert.ok(fw.warnings.some((w) => w.startsWith(`${file}:9: RemoteForward 8080 a b for fw: needs one listen address and one target; skipped.`)), fw.warnings.join('\n'));
    assert.deepEqual(resolveHost(loaded, 'cleared').tunnels, []);
  });
});
