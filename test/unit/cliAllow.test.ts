// A cloned folder whose .vscode/settings.json runs a command (proxyCommand) and exposes this
// machine (a remote forward) does nothing until the person allows it: `up` without a terminal,
// `mcp --workspace` and `trust --workspace` refuse and name `ssh-tunnels allow DIR`; in a real
// terminal (tmux) `up` shows the command and the exposure and asks; the answer is remembered
// until the file changes; `allow` and `deny` do the same ahead of time.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../fixtures/sshd';
import { allowWorkspace, CLI, runCli, shellLine, workspace } from '../helpers/cli';
import { echoRoundTrip, waitFor } from '../helpers/net';
import { cliSuite } from '../helpers/suite';
import { TmuxPane } from '../helpers/tmux';

const QUESTION = /Allow this folder's settings\? \[y\/N\]/;

/** Whether a round trip through the port works now. */
async function carries(port: number): Promise<boolean> {
  try {
    const r = await echoRoundTrip(port, 1024);
    return r.received === r.sent;
  } catch {
    return false;
  }
}

describe('ssh-tunnels: a folder\'s settings run nothing until the folder is allowed', function () {
  this.timeout(120_000);
  const suite = cliSuite();
  let pane: TmuxPane | undefined;
  let ws: string;
  let pwned: string;
  /** Where the folder's remote forward makes the server listen. */
  let exposedPort: number;
  let settingsFile: string;

  before(async () => {
    exposedPort = await freePort();
    pwned = path.join(suite.home.home, 'PWNED');
    // The server's own command stands for any command a repository could slip in; it still proxies, so "y" can open the tunnel.
    ws = workspace(suite.home.home, {
      'sshTunnels.servers': [
        { host: 'evil', hostName: '127.0.0.1', port: suite.sshd.port, user: suite.sshd.user, identityFile: suite.sshd.clientKeyPath, identityAgent: false, userKnownHostsFile: suite.sshd.knownHostsPath, proxyCommand: "sh -c 'touch ~/PWNED; exec nc %h %p'" },
      ],
      'sshTunnels.tunnels': [
        { name: 'expose', server: 'evil', type: 'remote', remoteHost: '127.0.0.1', remotePort: exposedPort, localHost: '127.0.0.1', localPort: suite.echo.port, autoStart: true },
        { name: 'wide', server: 'evil', type: 'local', localHost: '0.0.0.0', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port },
      ],
    });
    settingsFile = path.join(ws, '.vscode', 'settings.json');
  });
  afterEach(() => {
    pane?.kill();
    pane = undefined;
  });

  const store = () => path.join(suite.home.home, '.local', 'share', 'ssh-tunnels', 'allow');

  it('without a terminal, up, mcp --workspace and trust --workspace refuse with status 1, run nothing, and name "ssh-tunnels allow DIR"', async () => {
    for (const args of [['up'], ['up', '--workspace', ws, '--server', 'fix', '-D', '0'], ['mcp', '--workspace', ws], ['trust', '--workspace', ws, 'evil']]) {
      const r = await runCli(args, { env: suite.home.env, cwd: ws });
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`allow them with: ssh-tunnels allow ${ws.replace(/[/.]/g, '\\$&')}\\n$`), args.join(' '));
      assert.match(r.stderr, /! runs the command: sh -c 'touch ~\/PWNED; exec nc %h %p' {2}\(proxyCommand of server "evil"\)/);
      assert.match(r.stderr, new RegExp(`! exposes 127\\.0\\.0\\.1:${suite.echo.port} of this machine on server "evil", which listens on 127\\.0\\.0\\.1:${exposedPort} \\(tunnel "expose"\\)`));
      assert.match(r.stderr, /! listens on 0\.0\.0\.0:0, open to other machines/);
      assert.match(r.stderr, args[0] === 'mcp' ? /Refused, nothing was run: an MCP server cannot ask/ : /Refused, nothing was run: there is no terminal to ask/);
      assert.equal(fs.existsSync(pwned), false, `${args.join(' ')} ran the folder's command`);
    }
    assert.equal(await carries(exposedPort), false, 'nothing listens on the server');
    assert.equal(fs.existsSync(store()), false, 'nothing was recorded');
  });

  it('in a terminal, up shows the command and the exposure and asks: "n" runs nothing, "y" opens the tunnel and is remembered', async () => {
    pane = new TmuxPane(shellLine([]), { cwd: ws, env: suite.home.env });
    await pane.waitFor(QUESTION);
    let screen = pane.screen();
    assert.match(screen, /are not allowed on this machine yet\. What they do:/);
    // The dangers first: the command, then the exposure, then the wide listen, then where it connects.
    assert.match(screen, /! runs the command: sh -c 'touch ~\/PWNED; exec nc %h %p'.*\n.*! exposes 127\.0\.0\.1:\d+ of this machine on server "evil".*\n.*! listens on 0\.0\.0\.0:0.*\n.*connects to server "evil" at/);
    pane.type('n');
    await pane.waitFor(/EXIT=1/);
    assert.match(pane.screen(), /Not allowed; nothing was run\. To allow these settings later: ssh-tunnels allow /);
    assert.equal(fs.existsSync(pwned), false);
    pane.kill();

    // "no" is not remembered: asked again, and this time allowed.
    pane = new TmuxPane(shellLine([]), { cwd: ws, env: suite.home.env });
    await pane.waitFor(QUESTION);
    pane.type('y');
    await pane.waitFor(/Allowed: .* settings are used until the file changes/);
    await waitFor(() => carries(exposedPort), 20_000, 'the server to listen for the remote forward');
    assert.ok(fs.existsSync(pwned), 'the allowed command ran');
    assert.equal(fs.statSync(store()).mode & 0o777, 0o700);
    const entries = fs.readdirSync(store());
    assert.equal(entries.length, 1);
    assert.equal(fs.statSync(path.join(store(), entries[0])).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(path.join(store(), entries[0]), 'utf8'), `${ws}\n`);
    pane.key('C-c');
    await pane.waitFor(/EXIT=0/);
    pane.kill();
    fs.rmSync(pwned);

    // Remembered: the same settings open without a question.
    pane = new TmuxPane(shellLine([]), { cwd: ws, env: suite.home.env });
    await waitFor(() => carries(exposedPort), 20_000, 'the tunnel to open again');
    assert.doesNotMatch(pane.screen(), QUESTION);
    pane.key('C-c');
    await pane.waitFor(/EXIT=0/);
    pane.kill();
    fs.rmSync(pwned);

    // Any change of the file asks again, and says it changed.
    fs.appendFileSync(settingsFile, '\n');
    pane = new TmuxPane(shellLine([]), { cwd: ws, env: suite.home.env });
    await pane.waitFor(QUESTION);
    screen = pane.screen();
    assert.match(screen, /changed since you allowed them\. What they do now:/);
    pane.type('n');
    await pane.waitFor(/EXIT=1/);
    assert.equal(fs.existsSync(pwned), false);
  });

  it('allow DIR, then up without a terminal opens the tunnels; deny forgets the folder', async () => {
    const allowed = allowWorkspace(ws, suite.home.env);
    assert.match(allowed, /^Allowed the settings of .*\. What they do:\n {2}! runs the command: sh -c 'touch ~\/PWNED/);
    const up = spawn(process.execPath, [CLI, 'up'], { cwd: ws, env: suite.home.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    up.stdout.on('data', (d: Buffer) => (output += d));
    up.stderr.on('data', (d: Buffer) => (output += d));
    const exited = new Promise<number | null>((resolve) => up.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => carries(exposedPort), 20_000, `the tunnel to open; output so far:\n${output}`);
      assert.ok(fs.existsSync(pwned));
      up.kill('SIGINT');
      assert.equal(await exited, 0, output);
    } finally {
      up.kill('SIGKILL');
      fs.rmSync(pwned, { force: true });
    }

    const deny = await runCli(['deny', ws], { env: suite.home.env });
    assert.equal(deny.status, 0, deny.stderr);
    assert.match(deny.stdout, /Denied: the settings of .* are no longer allowed on this machine\./);
    const again = await runCli(['up'], { env: suite.home.env, cwd: ws });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /not allowed on this machine yet/);
    assert.equal(fs.existsSync(pwned), false);
    assert.match((await runCli(['deny', ws], { env: suite.home.env })).stdout, /was not allowed; nothing to forget/);
  });

  it('a folder whose settings VS Code does not restrict asks nothing, and has nothing to allow', async () => {
    const plain = workspace(suite.home.home, { 'sshTunnels.reconnect.initialDelay': 1 });
    const port = await freePort();
    pane = new TmuxPane(shellLine(['--server', 'fix', '-L', `${port}:127.0.0.1:${suite.echo.port}`]), { cwd: plain, env: suite.home.env });
    await waitFor(() => carries(port), 20_000, 'the forward of a folder with no restricted settings');
    assert.doesNotMatch(pane.screen(), QUESTION);
    pane.key('C-c');
    await pane.waitFor(/EXIT=0/);
    const nothing = await runCli(['allow', plain], { env: suite.home.env });
    assert.equal(nothing.status, 0);
    assert.match(nothing.stdout, /Nothing to allow: .* sets none of sshTunnels\.servers, sshTunnels\.tunnels, sshTunnels\.sshConfigFile\./);
    const none = await runCli(['allow'], { env: suite.home.env, cwd: suite.home.home });
    assert.equal(none.status, 0);
    assert.match(none.stdout, /Nothing to allow: .* has no \.vscode\/settings\.json\./);
    assert.equal(fs.existsSync(store()) && fs.readdirSync(store()).some((e) => fs.readFileSync(path.join(store(), e), 'utf8') === `${plain}\n`), false, 'nothing recorded');
  });

  it('trust --workspace asks about the folder in a terminal before it connects', async () => {
    pane = new TmuxPane(shellLine(['--workspace', ws, 'evil'], 'trust'), { cwd: suite.home.home, env: suite.home.env });
    await pane.waitFor(QUESTION);
    assert.match(pane.screen(), /! runs the command: sh -c 'touch ~\/PWNED/);
    assert.equal(fs.existsSync(pwned), false);
    pane.type('y');
    await pane.waitFor(/evil: connected; its host key is trusted \(it already was\)\.\nEXIT=0/);
    assert.ok(fs.existsSync(pwned), 'the allowed proxyCommand ran');
    fs.rmSync(pwned);
  });
});
