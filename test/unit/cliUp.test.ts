// `ssh-tunnels up` in a real pseudo-terminal (tmux): the live table appears and follows traffic
// and a server restart, Ctrl-C closes every tunnel and frees its port, the exit status says
// whether all opened, and the terminal prompts (host key, passphrase) behave as ssh's.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { canConnect } from '../fixtures/sshd';
import { lockedKeyHost, listeningPort, shellLine, tableRow as row, workspace } from '../helpers/cli';
import { connect, echoRoundTrip } from '../helpers/net';
import { cliSuite } from '../helpers/suite';
import { TmuxPane } from '../helpers/tmux';

describe('ssh-tunnels up: a workspace\'s tunnels in a terminal', function () {
  this.timeout(120_000);
  const suite = cliSuite();
  let pane: TmuxPane | undefined;

  afterEach(() => {
    pane?.kill();
    pane = undefined;
  });

  it('opens the autoStart tunnels, shows traffic and a server restart live, and Ctrl-C closes them all', async () => {
    const ws = workspace(suite.home.home, {
      'sshTunnels.tunnels': [
        { name: 'echo', server: 'fix', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port, autoStart: true },
        { name: 'proxy', server: 'fix', type: 'dynamic', localPort: 0, autoStart: true },
        { name: 'manual', server: 'fix', type: 'dynamic', localPort: 0 },
      ],
      'sshTunnels.reconnect.initialDelay': 0.2,
    }, { allow: suite.home.env });
    pane = new TmuxPane(shellLine([]), { cwd: ws, env: suite.home.env });
    await pane.waitFor(/2 tunnels through fix: 2 active\. Ctrl-C closes them all\./);
    let screen = pane.screen();
    assert.match(screen, /^NAME\s+SERVER\s+TYPE\s+STATE\s+ADDRESS\s+IN\s+OUT\s+CONNS\s+ERRORS\s+RECONNECTS/m);
    assert.doesNotMatch(screen, /^manual /m, 'a tunnel without autoStart stays closed');
    const port = listeningPort(screen, 'echo');
    const proxy = listeningPort(screen, 'proxy');
    const { NAME, SERVER, TYPE, STATE, ADDRESS } = row(screen, 'echo');
    assert.deepEqual([NAME, SERVER, TYPE, STATE, ADDRESS], ['echo', 'fix', 'local', '● active', `127.0.0.1:${port} → 127.0.0.1:${suite.echo.port}`]);
    assert.deepEqual([row(screen, 'proxy').STATE, row(screen, 'proxy').ADDRESS], ['● active', `socks5h://127.0.0.1:${proxy}`]);

    // Traffic on a connection that stays open: the row follows within the table's 1 s refresh.
    const held = await connect(port);
    let echoed = 0;
    held.on('data', (d: Buffer) => (echoed += d.length));
    held.write(Buffer.alloc(200 * 1024));
    await pane.waitFor(/^echo .* 200 KiB\s+200 KiB\s+1\/1\s+0/m);
    assert.equal(echoed, 200 * 1024);
    held.destroy();
    const r = await echoRoundTrip(port, 300 * 1024);
    assert.equal(r.received, r.sent);
    await pane.waitFor(/^echo .* 500 KiB\s+500 KiB\s+0\/2\s+0/m);

    // A server restart: the reconnect shows as it happens, and is counted.
    await suite.sshd.restart();
    await pane.waitFor(/echo: reconnecting/);
    await pane.waitFor(/echo: active again/, 30_000);
    await pane.waitFor(/^echo .*● active.* 0\/2\s+0\s+1\s*$/m);
    screen = pane.screen();
    assert.match(screen, /fix: connected[\s\S]*fix: reconnecting[\s\S]*fix: connected/);
    const again = await echoRoundTrip(port, 1024);
    assert.equal(again.received, again.sent, 'the same port carries data after the reconnect');

    pane.key('C-c');
    await pane.waitFor(/All tunnels are closed\.\nEXIT=0/);
    assert.match(pane.screen(), /Closing 2 tunnels…/);
    assert.equal(await canConnect('127.0.0.1', port), false, 'the local port is freed');
    assert.equal(await canConnect('127.0.0.1', proxy), false, 'the SOCKS port is freed');
  });

  it('-L, -D and -R forwards as ssh takes them; one that cannot open shows as failed and the exit status is 1', async () => {
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const busyPort = (busy.address() as net.AddressInfo).port;
    try {
      pane = new TmuxPane(shellLine(['--server', 'fix', `-L0:127.0.0.1:${suite.echo.port}`, '-D', '0', '-R', `0:127.0.0.1:${suite.echo.port}`, '-L', `${busyPort}:127.0.0.1:${suite.echo.port}`, '--verbose']), { cwd: suite.home.home, env: suite.home.env });
      await pane.waitFor(/4 tunnels through fix: 3 active, 1 failed\./);
      const screen = pane.screen();
      assert.match(screen, new RegExp(`could not open: Local port ${busyPort} on 127\\.0\\.0\\.1 is held by node \\(pid ${process.pid}\\)`));
      assert.match(screen, /Some tunnels could not be opened; the others stay open until Ctrl-C\./);
      assert.match(screen, /log: D (\d+): open \(127\.0\.0\.1:\1\)/, '--verbose shows the engine\'s log, the tunnel named for its bound port');
      const port = listeningPort(screen, `L \\d+ → 127\\.0\\.0\\.1:${suite.echo.port}`);
      const r = await echoRoundTrip(port, 4096);
      assert.equal(r.received, r.sent);
      // -R: the server listens on a port it picked, shown in the event line and the table.
      const remote = new RegExp(`R (\\d+) → 127\\.0\\.0\\.1:${suite.echo.port}: open, fix listens on 127\\.0\\.0\\.1:(\\d+)`).exec(screen);
      const serverPort = Number(remote?.[2]);
      assert.ok(serverPort > 0, screen);
      assert.equal(Number(remote?.[1]), serverPort, 'named for the port the server bound');
      assert.match(screen, new RegExp(`remote\\s+● active\\s+fix:127\\.0\\.0\\.1:${serverPort} → 127\\.0\\.0\\.1:${suite.echo.port}`));
      const viaServer = await echoRoundTrip(serverPort, 4096);
      assert.equal(viaServer.received, viaServer.sent);
      pane.key('C-c');
      await pane.waitFor(/EXIT=1/);
      assert.equal(await canConnect('127.0.0.1', port), false);
      assert.equal(await canConnect('127.0.0.1', serverPort), false, 'the server stopped listening');
    } finally {
      busy.close();
    }
  });

  it('when no tunnel can be opened it exits at once with status 1', async () => {
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    try {
      pane = new TmuxPane(shellLine(['--server', 'fix', '-D', String((busy.address() as net.AddressInfo).port)]), { cwd: suite.home.home, env: suite.home.env });
      await pane.waitFor(/EXIT=1/);
      assert.match(pane.screen(), /could not open: Local port \d+ on 127\.0\.0\.1 is held by node \(pid \d+\)[\s\S]*No tunnel could be opened\./);
    } finally {
      busy.close();
    }
  });

  it('asks about an unknown host key with its type and SHA256 fingerprint; yes remembers it in known_hosts', async () => {
    const ws = workspace(suite.home.home, { 'sshTunnels.tunnels': [{ name: 'new', server: 'fresh', type: 'dynamic', localPort: 0, autoStart: true }] }, { allow: suite.home.env });
    try {
      pane = new TmuxPane(shellLine(['--workspace', ws]), { cwd: suite.home.home, env: suite.home.env });
      await pane.waitFor(/Are you sure you want to continue connecting \(yes\/no\/\[fingerprint\]\)\?/);
      const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(suite.sshd.dir, 'host_key.pub')], { encoding: 'utf8' }).split(/\s+/)[1];
      assert.match(pane.screen(), new RegExp(`The authenticity of host 'fresh \\(127\\.0\\.0\\.1:${suite.sshd.port}\\)' can't be established\\.\\nssh-ed25519 key fingerprint is ${fingerprint.replace(/[+/]/g, '\\$&')}\\.`));
      assert.ok(!fs.existsSync(suite.home.knownHosts), 'nothing is written before the answer');
      pane.type('perhaps');
      await pane.waitFor(/Please type 'yes', 'no' or the fingerprint:/);
      pane.type('yes');
      await pane.waitFor(/1 tunnel through fresh: 1 active\./);
      const [type, key] = suite.sshd.hostPublicKey().split(/\s+/);
      assert.equal(fs.readFileSync(suite.home.knownHosts, 'utf8'), `[127.0.0.1]:${suite.sshd.port} ${type} ${key}\n`);
      pane.key('C-c');
      await pane.waitFor(/EXIT=0/);
    } finally {
      fs.rmSync(suite.home.knownHosts, { force: true });
    }
  });

  it('"no" to an unknown host key opens nothing and writes nothing', async () => {
    pane = new TmuxPane(shellLine(['--server', 'fresh', '-D', '0']), { cwd: suite.home.home, env: suite.home.env });
    await pane.waitFor(/\(yes\/no\/\[fingerprint\]\)\?/);
    pane.type('no');
    await pane.waitFor(/EXIT=1/);
    assert.match(pane.screen(), /could not open: Host key of fresh .* was not trusted/);
    assert.ok(!fs.existsSync(suite.home.knownHosts));
  });

  it('reads a key\'s passphrase without echoing it; a wrong one is asked again, and a reconnect asks nothing', async () => {
    const passphrase = 'tunnel-secret-42';
    const locked = lockedKeyHost(suite.home, suite.sshd, passphrase);
    pane = new TmuxPane(shellLine(['--server', 'locked', '-D', '0']), { cwd: suite.home.home, env: suite.home.env });
    const question = new RegExp(`Enter passphrase for key '${locked.replace(/[/.]/g, '\\$&')}' \\(locked\\):`, 'g');
    await pane.waitFor(question);
    pane.type('not-it');
    await pane.waitFor(/Wrong passphrase for \S+locked_key \(try 1 of 3\); try again\.\nEnter passphrase/);
    pane.type(passphrase);
    await pane.waitFor(/1 tunnel through locked: 1 active\./);
    assert.doesNotMatch(pane.screen(), new RegExp(`${passphrase}|not-it`));
    // The server restarts: the key was kept, so the tunnel comes back with nobody at the keyboard.
    await suite.sshd.restart();
    await pane.waitFor(/active again/, 30_000);
    // Answered questions are erased with the held table; one asked now would still be on screen.
    assert.doesNotMatch(pane.screen(), new RegExp(question.source), 'the reconnect asked nothing');
    pane.key('C-c');
    await pane.waitFor(/EXIT=0/);
  });

  it('trust SERVER asks in the terminal and remembers the key, so that MCP clients can then connect', async () => {
    try {
      pane = new TmuxPane(shellLine(['fresh'], 'trust'), { cwd: suite.home.home, env: suite.home.env });
      await pane.waitFor(/The authenticity of host 'fresh \(127\.0\.0\.1:\d+\)' can't be established\.\nssh-ed25519 key fingerprint is SHA256:\S+\.\nAre you sure/);
      pane.type('yes');
      await pane.waitFor(/fresh: connected; its host key is trusted from now on\.\nEXIT=0/);
      assert.match(fs.readFileSync(suite.home.knownHosts, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${suite.sshd.port} ssh-ed25519 `));
    } finally {
      fs.rmSync(suite.home.knownHosts, { force: true });
    }
  });
});
