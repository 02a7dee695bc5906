// The `ssh-tunnels` command as built (dist/cli.js): --version, --help for each command, mistakes
// on the command line (exit status 2 with what to type instead), `trust` refusing a changed key,
// and the npm package: `npm pack` gives a package that installs on a clean prefix and runs.
import * as assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { newKeyPair } from '../fixtures/sshd';
import { ROOT, runCli, workspace } from '../helpers/cli';
import { cliSuite } from '../helpers/suite';

const run = promisify(execFile);
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;

describe('ssh-tunnels: the command line', function () {
  this.timeout(120_000);
  const suite = cliSuite();

  it('--version prints the package version; dist/cli.js starts with a node shebang and is executable', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), VERSION);
    }
    const cli = path.join(ROOT, 'dist', 'cli.js');
    assert.equal(fs.readFileSync(cli, 'utf8').split('\n')[0], '#!/usr/bin/env node');
    assert.ok((fs.statSync(cli).mode & 0o111) !== 0, 'dist/cli.js is executable');
  });

  it('ports SERVER: what the server listens on, with the process and the -L that forwards each; an unknown server: exit 2', async () => {
    const r = await runCli(['ports', 'fix'], { env: suite.home.env, cwd: suite.home.home });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^fix listens on \d+ TCP ports? and \d+ Unix sockets? \(from ss on Linux\)\./);
    assert.match(r.stdout, /^PORT +WHERE +PROCESS +FORWARD WITH$/m);
    assert.match(r.stdout, new RegExp(`^${suite.echo.port} +loopback +node \\(pid ${process.pid}\\) +-L ${suite.echo.port}:localhost:${suite.echo.port}$`, 'm'));
    const json = await runCli(['ports', 'fix', '--json'], { env: suite.home.env, cwd: suite.home.home });
    assert.equal(JSON.parse(json.stdout).source, 'ss');
    const unknown = await runCli(['ports', 'nope'], { env: suite.home.env, cwd: suite.home.home });
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /Unknown server "nope"/);
  });

  it('--help lists the commands; each command has its own --help', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.status, 0);
    for (const command of ['up', 'mcp', 'trust', 'allow', 'deny', 'ports']) assert.match(top.stdout, new RegExp(`^  ${command} `, 'm'));
    const expected: Record<string, RegExp[]> = {
      up: [/^Usage: ssh-tunnels up /m, /--workspace, -w DIR/, /-L \[bind:\]port:host:hostport/, /-R /, /-D \[bind:\]port/, /autoStart/, /Ctrl-C/],
      mcp: [/^Usage: ssh-tunnels mcp /m, /--allow-non-loopback/, /ssh_tunnel_create/, /"mcpServers"/, /stderr/],
      trust: [/^Usage: ssh-tunnels trust /m, /SHA256/, /known_hosts/],
      ports: [/^Usage: ssh-tunnels ports \[options\] SERVER/m, /ss, *\n?.*else netstat, else \/proc/, /ForceCommand/, /--json/],
      allow: [/^Usage: ssh-tunnels allow \[DIR\]/m, /proxyCommand/, /until the file changes/, /ssh-tunnels\/allow/],
      deny: [/^Usage: ssh-tunnels deny \[DIR\]/m, /asks again/],
    };
    for (const [command, patterns] of Object.entries(expected)) {
      for (const args of [[command, '--help'], [command, '-h'], ['help', command]]) {
        const r = await runCli(args);
        assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
        for (const p of patterns) assert.match(r.stdout, p, `${args.join(' ')} says ${p}`);
      }
    }
  });

  it('mistakes on the command line exit with status 2 and say what to type instead', async () => {
    const ws = workspace(suite.home.home, {
      'sshTunnels.tunnels': [{ name: 'web', server: 'fix', type: 'local', localPort: 0, remoteHost: 'localhost', remotePort: 80 }],
    }, { allow: suite.home.env });
    const empty = workspace(suite.home.home, {});
    const cases: [string[], RegExp][] = [
      [[], /Usage: ssh-tunnels <command>/],
      [['frobnicate'], /unknown command "frobnicate"\. The commands are: up, mcp, trust/],
      [['up', '--bogus'], /Unknown option --bogus for "up"\. See: ssh-tunnels up --help/],
      [['up', '--workspace'], /--workspace needs a value: --workspace DIR/],
      [['up', '--workspace', path.join(suite.home.home, 'nope')], /no such folder/],
      [['up', '--workspace', ws], /The tunnel in .*settings\.json does not have "autoStart": true\. Name the ones to open \(web\), or use --all\./],
      [['up', '--workspace', ws, 'db'], /No tunnel named "db" in .*settings\.json\. Named tunnels: web\./],
      [['up', '--workspace', empty], /defines no tunnels \(sshTunnels\.tunnels\)\. Give a forward instead: ssh-tunnels up --server NAME -L/],
      [['up', '--workspace', ws, '-L', '8080:localhost:80'], /A forward needs its server: ssh-tunnels up --server NAME -L 8080:localhost:80/],
      [['up', '--workspace', ws, '--server', 'fix', '-L', '8080:localhost'], /-L 8080:localhost: A local \(-L\) forward is \[bind_address:\]port:host:hostport/],
      [['up', '--workspace', ws, '--server', 'fix'], /--server names the server of -L, -R or -D forwards/],
      [['trust'], /Name one server: ssh-tunnels trust SERVER/],
      [['trust', 'nosuch'], /Unknown server "nosuch"\. Known servers: fix, fresh\./],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { env: suite.home.env, cwd: suite.home.home });
      assert.equal(r.status, 2, `${args.join(' ')} exits 2; stderr: ${r.stderr}`);
      assert.match(r.stdout + r.stderr, message, args.join(' '));
    }
    fs.writeFileSync(path.join(empty, '.vscode', 'settings.json'), '{ "sshTunnels.tunnels": [ }');
    const broken = await runCli(['up', '--workspace', empty], { env: suite.home.env });
    assert.equal(broken.status, 2);
    assert.match(broken.stderr, /settings\.json is not valid JSON/);
  });

  it('trust: a changed host key is refused, nothing is written, exit status 1', async () => {
    const otherKey = path.join(suite.home.home, 'other');
    newKeyPair(otherKey);
    const [type, key] = fs.readFileSync(`${otherKey}.pub`, 'utf8').split(/\s+/);
    const line = `[127.0.0.1]:${suite.sshd.port} ${type} ${key}\n`;
    fs.writeFileSync(suite.home.knownHosts, line);
    try {
      const r = await runCli(['trust', 'fresh'], { env: suite.home.env });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stdout, /fresh: WARNING: the host key of fresh \(127\.0\.0\.1:\d+\) has changed!.*Connection refused/);
      assert.equal(fs.readFileSync(suite.home.knownHosts, 'utf8'), line);
    } finally {
      fs.rmSync(suite.home.knownHosts, { force: true });
    }
  });

  it('trust: a server whose key is already known connects and says so', async () => {
    const r = await runCli(['trust', 'fix'], { env: suite.home.env });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /fix: connected; its host key is trusted \(it already was\)\./);
  });

  it('npm pack gives a package that installs on a clean prefix, offline, and whose bin runs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-pack-'));
    try {
      const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
      const tgz = path.join(dir, stdout.trim().split('\n').at(-1)!);
      const files = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
      assert.deepEqual(files, ['package/LICENSE', 'package/README.md', 'package/dist/cli.js', 'package/package.json']);
      const prefix = path.join(dir, 'prefix');
      // No dependencies to fetch: the bin is one self-contained bundle.
      await run('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, tgz], { cwd: dir });
      const bin = path.join(prefix, 'bin', 'ssh-tunnels');
      const version = await run(bin, ['--version'], { env: { PATH: process.env.PATH }, cwd: dir });
      assert.equal(version.stdout.trim(), VERSION);
      const help = await run(bin, ['mcp', '--help'], { env: { PATH: process.env.PATH }, cwd: dir });
      assert.match(help.stdout, /Usage: ssh-tunnels mcp/);
      assert.deepEqual(fs.readdirSync(path.join(prefix, 'lib', 'node_modules', 'ssh-tunnels')).sort(), ['LICENSE', 'README.md', 'dist', 'package.json']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
