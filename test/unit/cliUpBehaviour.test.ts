// `ssh-tunnels up` as people expect from ssh and autossh, in a real terminal (tmux) against a real
// sshd: a server down at start is waited for (attempt, next try, last error shown), --exit-on-failure
// exits at once, any [user@]host[:port] is taken with the ssh config applied, a refused host key
// ends the command and frees its ports, failed connections are logged, command-line mistakes exit
// 2 with a guess, and a passphrase question leaves the table on screen saying what it waits for.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { canConnect, freePort } from '../fixtures/sshd';
import { lockedKeyHost, listeningPort, runCli, shellLine, tableRow, workspace } from '../helpers/cli';
import { echoRoundTrip } from '../helpers/net';
import { sshConfigHost } from '../helpers/sshConfigHost';
import { cliSuite } from '../helpers/suite';
import { TmuxPane } from '../helpers/tmux';

describe('ssh-tunnels up: behaves as ssh and autossh do', function () {
  this.timeout(120_000);
  // Its own sshd: these tests stop it, restart it and change its host key.
  const suite = cliSuite();
  let pane: TmuxPane | undefined;
  /** A workspace whose one autoStart tunnel `echo` reaches the echo service through `fix`, with quick redials. */
  const echoWorkspace = () =>
    workspace(suite.home.home, {
      'sshTunnels.tunnels': [{ name: 'echo', server: 'fix', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port, autoStart: true }],
      'sshTunnels.reconnect.initialDelay': 0.5,
      'sshTunnels.reconnect.maxDelay': 2,
    }, { allow: suite.home.env });

  afterEach(async () => {
    pane?.kill();
    pane = undefined;
    if (suite.sshd.pid === undefined) await suite.sshd.restart();
  });

  it('waits for a server that is down at start, showing the attempt, the next try and the error, then carries data; an outage later is shown the same way', async () => {
    await suite.sshd.kill();
    pane = new TmuxPane(shellLine(['--workspace', echoWorkspace()]), { cwd: suite.home.home, env: suite.home.env });
    await pane.waitFor(/echo: listening on 127\.0\.0\.1:\d+; waiting for fix \(Cannot reach fix/);
    await pane.waitFor(/fix: connecting, attempt 2 in \d+ s \(Cannot reach fix/);
    let screen = pane.screen();
    const port = listeningPort(screen, 'echo');
    assert.match(tableRow(screen, 'echo').STATE, /reconnecting/);
    assert.match(screen, /^↻ fix: attempt \d+ in \d+ s; last error: Cannot reach fix at 127\.0\.0\.1:\d+/m, 'under the table: attempt, next try, last error');
    assert.doesNotMatch(screen, /EXIT=/, 'still running');

    await suite.sshd.restart();
    await pane.waitFor(/echo: active\n/, 20_000);
    const r = await echoRoundTrip(port, 64 * 1024);
    assert.equal(r.received, r.sent, 'the port held since the start carries data');
    await pane.waitFor(/^echo .*● active/m);

    // Down again: the same attempt lines, and the row counts the reconnect.
    await suite.sshd.kill();
    await pane.waitFor(/echo: reconnecting \(/);
    await pane.waitFor(/fix: reconnecting, attempt 1 in \d+ s/);
    await suite.sshd.restart();
    await pane.waitFor(/echo: active again/, 20_000);
    screen = pane.screen();
    assert.equal(tableRow(screen, 'echo').RECONNECTS, '1', 'one reconnect');
    assert.doesNotMatch(screen.slice(screen.lastIndexOf('NAME')), /^↻ fix/m, 'no attempt line once connected');
    pane.key('C-c');
    await pane.waitFor(/EXIT=0/);
    assert.equal(await canConnect('127.0.0.1', port), false);
  });

  it('--exit-on-failure exits with status 1 at once when the server is down, and says why', async () => {
    await suite.sshd.kill();
    const started = Date.now();
    const r = await runCli(['up', '--exit-on-failure', '--server', 'fix', '-D', '0'], { env: suite.home.env, cwd: suite.home.home });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /could not open: Cannot reach fix at 127\.0\.0\.1:\d+/);
    assert.ok(Date.now() - started < 10_000, 'no waiting');
  });

  it('--server [user@]host[:port] works for a host in no Host block: Host * applies, user and port as typed', async () => {
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-bare-home-'));
    try {
      fs.mkdirSync(path.join(bare, '.ssh'), { mode: 0o700 });
      // Only defaults: the key, no agent, the fixture's known_hosts. No Host names 127.0.0.1.
      fs.writeFileSync(path.join(bare, '.ssh', 'config'), ['Host *', `  IdentityFile ${suite.sshd.clientKeyPath}`, '  IdentityAgent none', `  UserKnownHostsFile ${suite.sshd.knownHostsPath}`, ''].join('\n'));
      const target = `${suite.sshd.user}@127.0.0.1:${suite.sshd.port}`;
      const ws = workspace(bare, { 'sshTunnels.tunnels': [{ name: 'adhoc', server: target, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port }] }, { allow: { ...suite.home.env, HOME: bare } });
      pane = new TmuxPane(shellLine(['--workspace', ws, '--server', target, '-D', '0', 'adhoc']), { cwd: bare, env: { ...suite.home.env, HOME: bare } });
      await pane.waitFor(/^adhoc .*● active/m);
      const screen = pane.screen();
      assert.equal(tableRow(screen, 'adhoc').SERVER, target, 'the server as typed');
      const r = await echoRoundTrip(listeningPort(screen, 'adhoc'), 4096);
      assert.equal(r.received, r.sent);
      pane.key('C-c');
      await pane.waitFor(/EXIT=0/);
    } finally {
      fs.rmSync(bare, { recursive: true, force: true });
    }
  });

  it('the person\'s own config runs its Match exec, as ssh does: the block whose command succeeds gives the port', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-match-exec-'));
    try {
      const flag = path.join(dir, 'flag');
      fs.writeFileSync(flag, '');
      const closed = await freePort();
      // Without the Match (its command not run), mx would be dialled on a port nothing listens on.
      const config = path.join(dir, 'config');
      fs.writeFileSync(config, [`Match host mx exec "test -e ${flag}"`, `  Port ${suite.sshd.port}`, ...sshConfigHost(suite.sshd, 'mx', { port: false }), `  Port ${closed}`, ''].join('\n'));
      const r = await runCli(['up', '--exit-on-failure', '-F', config, '--server', 'mx', '-L', `0:127.0.0.1:${suite.echo.port}`], { env: suite.home.env, cwd: dir, timeoutMs: 8_000 });
      // It stays up (killed at the time limit) instead of failing at once on the closed port.
      assert.doesNotMatch(r.stdout + r.stderr, /connection refused|could not open/i, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /open, |listening on 127\.0\.0\.1:\d+/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--server user@host:port -i KEY works with no ssh config at all: the unknown host key is asked about, as ssh does', async () => {
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-noconfig-home-'));
    try {
      const target = `${suite.sshd.user}@127.0.0.1:${suite.sshd.port}`;
      pane = new TmuxPane(shellLine(['--server', target, '-i', suite.sshd.clientKeyPath, '-L', `0:127.0.0.1:${suite.echo.port}`]), { cwd: bare, env: { ...suite.home.env, HOME: bare } });
      await pane.waitFor(new RegExp(`The authenticity of host '${target.replace(/[.]/g, '\\.')} \\(127\\.0\\.0\\.1:${suite.sshd.port}\\)' can't be established`));
      pane.type('yes');
      await pane.waitFor(/: open, listening on 127\.0\.0\.1:\d+/);
      const port = Number(/: open, listening on 127\.0\.0\.1:(\d+)/.exec(pane.screen())![1]);
      const r = await echoRoundTrip(port, 4096);
      assert.equal(r.received, r.sent);
      // Written as ssh writes it (hashed where /etc/ssh/ssh_config says HashKnownHosts yes, as Debian's does): ssh-keygen finds it.
      const found = spawnSync('ssh-keygen', ['-F', `[127.0.0.1]:${suite.sshd.port}`, '-f', path.join(bare, '.ssh', 'known_hosts')], { encoding: 'utf8' });
      assert.equal(found.status, 0, found.stdout + found.stderr);
      assert.match(found.stdout, / ssh-ed25519 /);
      pane.key('C-c');
      await pane.waitFor(/EXIT=0/);
    } finally {
      fs.rmSync(bare, { recursive: true, force: true });
    }
  });

  it('a changed host key ends up with the refusal and status 1, and frees the port', async () => {
    pane = new TmuxPane(shellLine(['--workspace', echoWorkspace()]), { cwd: suite.home.home, env: suite.home.env });
    await pane.waitFor(/^echo .*● active/m);
    const port = listeningPort(pane.screen(), 'echo');
    try {
      await suite.sshd.restart({ newHostKey: true });
      await pane.waitFor(/EXIT=1/, 30_000);
      const screen = pane.screen();
      assert.match(screen, /fix: failed \(.*host key.*changed/i);
      assert.match(screen, /fix refused: closing every tunnel \(--keep-trying would keep them and retry\)\./);
      assert.equal(await canConnect('127.0.0.1', port), false, 'the port is freed');
    } finally {
      suite.sshd.writeKnownHosts();
    }
  });

  it('--keep-trying keeps the port through a changed host key and comes back once known_hosts has the new key', async () => {
    pane = new TmuxPane(shellLine(['--workspace', echoWorkspace(), '--keep-trying']), { cwd: suite.home.home, env: suite.home.env });
    await pane.waitFor(/^echo .*● active/m);
    const port = listeningPort(pane.screen(), 'echo');
    try {
      await suite.sshd.restart({ newHostKey: true });
      await pane.waitFor(/fix: reconnecting, attempt 2 in \d+ s \(.*host key.*changed/i, 30_000);
      assert.doesNotMatch(pane.screen(), /EXIT=/);
      assert.equal(await canConnect('127.0.0.1', port), true, 'the port stays held');
    } finally {
      suite.sshd.writeKnownHosts();
    }
    await pane.waitFor(/echo: active again/, 20_000);
    const r = await echoRoundTrip(port, 4096);
    assert.equal(r.received, r.sent);
    pane.key('C-c');
    await pane.waitFor(/EXIT=0/);
  });

  it('a connection the server cannot make shows in the -v log and in the tunnel\'s error count', async () => {
    const dead = await freePort();
    const ws = workspace(suite.home.home, { 'sshTunnels.tunnels': [{ name: 'dead', server: 'fix', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: dead, autoStart: true }] }, { allow: suite.home.env });
    pane = new TmuxPane(shellLine(['--workspace', ws, '-v']), { cwd: suite.home.home, env: suite.home.env });
    await pane.waitFor(/^dead .*● active/m);
    const socket = net.connect(listeningPort(pane.screen(), 'dead'), '127.0.0.1');
    socket.on('error', () => undefined);
    await pane.waitFor(/log: dead: connection failed: \S.*/);
    await pane.waitFor(/^dead .*● active.* 0\/1 /m);
    socket.destroy();
    pane.key('C-c');
    await pane.waitFor(/EXIT=0/);
  });

  it('mistakes on the command line exit 2 with a guess: an option, a tunnel name, a server, a missing -F', async () => {
    const ws = workspace(suite.home.home, { 'sshTunnels.tunnels': [{ name: 'postgres', server: 'fix', type: 'dynamic', localPort: 0 }] }, { allow: suite.home.env });
    const cases: [string[], RegExp][] = [
      [['up', '--sever', 'fix', '-D', '0'], /Unknown option --sever for "up" \(did you mean --server\?\)/],
      [['up', '--exit-on-failur', '--server', 'fix', '-D', '0'], /\(did you mean --exit-on-failure\?\)/],
      [['up', '--workspace', ws, 'postgrs'], /No tunnel named "postgrs" \(did you mean "postgres"\?\)/],
      [['up', '--server', 'fxi', '-D', '0'], /Unknown server "fxi" \(did you mean "fix"\?\): no Host or sshTunnels\.servers entry has that name, and no host of that name resolves\. Known servers: fix, fresh\./],
      [['up', '--server', 'root@frsh:22', '-D', '0'], /Unknown server "frsh" \(did you mean "fresh"\?\)/],
      [['up', '--server', 'fix:99999', '-D', '0'], /the port "99999" must be a number from 1 to 65535/],
      [['up', '-F', '/nonexistent', '--server', 'fix', '-D', '0'], /^ssh-tunnels: Can't open user config file \/nonexistent: No such file or directory$/m],
      [['up', '-i', '/nonexistent/key', '--server', 'fix', '-D', '0'], /-i \/nonexistent\/key: no such file\./],
      [['up', '--exit-on-failure', '--keep-trying', '--server', 'fix', '-D', '0'], /contradict each other/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { env: suite.home.env, cwd: suite.home.home });
      assert.equal(r.status, 2, `${args.join(' ')} exits 2; output: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  });

  it('a passphrase question leaves the table on screen, saying what it waits for, and the table comes back whole after', async () => {
    const passphrase = 'behaviour-secret-7';
    lockedKeyHost(suite.home, suite.sshd, passphrase);
    const ws = workspace(suite.home.home, {
      'sshTunnels.tunnels': [
        { name: 'plain', server: 'fix', type: 'dynamic', localPort: 0, autoStart: true },
        { name: 'guarded', server: 'locked', type: 'dynamic', localPort: 0, autoStart: true },
      ],
    }, { allow: suite.home.env });
    pane = new TmuxPane(shellLine(['--workspace', ws]), { cwd: suite.home.home, env: suite.home.env });
    await pane.waitFor(/Enter passphrase for key '.*locked_key' \(locked\):/);
    const screen = pane.screen();
    assert.match(screen, /^NAME\s+SERVER\s+TYPE\s+STATE/m, 'the table stays on screen');
    assert.match(screen, /^guarded\s+locked\s/m);
    assert.match(screen, /^… waiting for the passphrase of ~\/locked_key \(asked below\)\nEnter passphrase for key/m, 'what it waits for, right above the question');
    pane.type(passphrase);
    await pane.waitFor(/^guarded .*● active/m);
    await pane.waitFor(/^plain .*● active/m);
    const after = pane.screen();
    assert.doesNotMatch(after, /waiting for the passphrase|Enter passphrase/, 'the question and the held table are taken away');
    assert.equal(after.match(/^NAME\s+SERVER/gm)?.length, 1, 'one table on screen');
    assert.match(after, /guarded: open, listening on/);
    pane.key('C-c');
    await pane.waitFor(/EXIT=0/);
  });
});
