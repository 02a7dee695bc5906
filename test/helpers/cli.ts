// The built `ssh-tunnels` command (dist/cli.js) and a home folder for it: ~/.ssh/config with
// the sshd fixture's server under a few names, so tests run the command as a person would.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { newKeyPair, type SshdFixture } from '../fixtures/sshd';
import { sshConfigHost } from './sshConfigHost';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');
const run = promisify(execFile);

let built: Promise<void> | undefined;

/** Builds dist/ once per test run. */
export function buildCli(): Promise<void> {
  built ??= run('npm', ['run', '--silent', 'build'], { cwd: ROOT }).then(() => undefined);
  return built;
}

export interface CliHome {
  /** Use as HOME: ~/.ssh/config lives here. */
  home: string;
  /** ~/.ssh/known_hosts, empty at first. */
  knownHosts: string;
  /** The environment to run the command in. */
  env: NodeJS.ProcessEnv;
  remove(): void;
}

/**
 * A HOME whose ~/.ssh/config has the fixture as `fix` (host key already trusted, through the
 * fixture's known_hosts) and as `fresh` (host key in no known_hosts yet: asked, then written to
 * ~/.ssh/known_hosts).
 */
export function cliHome(sshd: SshdFixture): CliHome {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-cli-home-'));
  const ssh = path.join(home, '.ssh');
  fs.mkdirSync(ssh, { mode: 0o700 });
  const knownHosts = path.join(ssh, 'known_hosts');
  // HashKnownHosts no: the written lines are checked as text, whatever this machine's /etc/ssh/ssh_config says.
  const entry = (alias: string, knownHostsFile: string) => [...sshConfigHost(sshd, alias, { knownHosts: knownHostsFile }), '  HashKnownHosts no', ''].join('\n');
  fs.writeFileSync(path.join(ssh, 'config'), entry('fix', sshd.knownHostsPath) + entry('fresh', knownHosts));
  // Only what the command needs: no SSH_AUTH_SOCK or the caller's HOME leaks in.
  const env = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', TERM: 'xterm-256color' };
  return { home, knownHosts, env, remove: () => fs.rmSync(home, { recursive: true, force: true }) };
}

/**
 * Writes a workspace folder with the given `.vscode/settings.json` object. With `allow` (the
 * environment the command runs in, whose HOME keeps the allows), the folder is allowed as a
 * person would: `ssh-tunnels allow DIR`.
 */
export function workspace(parent: string, settings: Record<string, unknown>, options: { allow?: NodeJS.ProcessEnv } = {}): string {
  const dir = fs.mkdtempSync(path.join(parent, 'workspace-'));
  fs.mkdirSync(path.join(dir, '.vscode'));
  fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), `// written by the test\n${JSON.stringify(settings, null, 2)}\n`);
  if (options.allow) allowWorkspace(dir, options.allow);
  return dir;
}

/** `ssh-tunnels allow DIR` (dist/cli.js, built first by buildCli()); throws with its output if it fails. */
export function allowWorkspace(dir: string, env: NodeJS.ProcessEnv): string {
  return execFileSync(process.execPath, [CLI, 'allow', dir], { env, encoding: 'utf8' });
}

/** Runs the command to completion; resolves with its output and exit status. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: options.env ?? { PATH: process.env.PATH }, cwd: options.cwd ?? ROOT, timeout: options.timeoutMs ?? 30_000 }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}

/** The shell line that runs the command in a terminal, then shows its exit status and keeps the pane open. */
export function shellLine(args: string[], command = 'up'): string {
  const quoted = [process.execPath, CLI, command, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return `${quoted}; echo "EXIT=$?"; sleep 600`;
}

/** The local port `up` said a tunnel listens on. */
export function listeningPort(screen: string, name: string): number {
  const m = new RegExp(`${name}: (?:open, )?listening on 127\\.0\\.0\\.1:(\\d+)`).exec(screen);
  assert.ok(m, `no port for ${name} on the screen:\n${screen}`);
  return Number(m[1]);
}

/** The last row of a tunnel in `up`'s table, as its cells. */
export function tableRow(screen: string, name: string): Record<string, string> {
  const lines = screen.split('\n');
  const at = lines.map((l, i) => [l, i] as const).reverse().find(([l]) => l.startsWith(`${name} `))?.[1];
  assert.ok(at !== undefined, `no row ${name}:\n${screen}`);
  const header = lines.slice(0, at).reverse().find((l) => l.startsWith('NAME '));
  assert.ok(header, `no header above the row ${name}:\n${screen}`);
  // Cells start where their header does: columns are padded to one width.
  const starts = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ title: m[0], start: m.index! }));
  return Object.fromEntries(starts.map(({ title, start }, i) => [title, lines[at].slice(start, starts[i + 1]?.start).trim()]));
}

/**
 * Host `locked` in HOME's ssh config: the fixture's server with a new ed25519 key that has
 * `passphrase` (authorized on the server) and no agent. Returns the key's path.
 */
export function lockedKeyHost(home: CliHome, sshd: SshdFixture, passphrase: string): string {
  const locked = path.join(home.home, 'locked_key');
  newKeyPair(locked, { passphrase, comment: 'locked' });
  fs.appendFileSync(path.join(sshd.dir, 'authorized_keys'), fs.readFileSync(`${locked}.pub`));
  fs.appendFileSync(
    path.join(home.home, '.ssh', 'config'),
    ['Host locked', '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  User ${sshd.user}`, `  IdentityFile ${locked}`, '  IdentityAgent none', `  UserKnownHostsFile ${sshd.knownHostsPath}`, ''].join('\n'),
  );
  return locked;
}
