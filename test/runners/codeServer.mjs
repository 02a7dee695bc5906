// Shared by the offline test runner, the UI test and the demo: starts code-server (VS Code's server
// build, installed by scripts/vscode/install-code-server.sh) on loopback, and headless Debian
// Chromium through playwright-core. Facts: shared notes "vscode-offline-testing.md".
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Process groups of running code-servers: killed when this process exits in any way. */
const liveGroups = new Set();
process.on('exit', () => {
  for (const pid of liveGroups) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

/** Ctrl-C or a kill ends the run through process.exit, so the 'exit' hook above stops code-server. */
export function exitOnSignals() {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => process.exit(130));
}

/** Installs code-server into the cache on first use (seconds when already there); returns its binary. */
export function ensureCodeServer() {
  execFileSync('bash', [path.join(ROOT, 'scripts/vscode/install-code-server.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  const dir = process.env.CODE_SERVER_DIR ?? path.join(ROOT, '.cache/code-server');
  return path.join(dir, 'node_modules/.bin/code-server');
}

export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A temp folder removed by the returned function. */
export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeJson(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

/** User settings every run gets: quiet, offline, no update checks or welcome pages. */
export function baseUserSettings({ trusted }) {
  return {
    'security.workspace.trust.enabled': !trusted,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'git.enabled': false,
    'typescript.disableAutomaticTypeAcquisition': true,
    // code-server offers every port a process listens on as a forwarded port, with a notification: the tunnels' own ports among them.
    'remote.autoForwardPorts': false,
  };
}

/** Workbench lines that say nothing about a suite: connection set-up, the gallery being offline, settings that are not registered. */
export const WORKBENCH_NOISE = [
  /^Resolv(ing|ed) connection token/,
  /^Creating a socket/,
  /^Updating additional builtin extensions cache/,
  /^\[Service Worker\]/,
  /^ChatSessionStore:/,
  /getaddrinfo ENOTFOUND open-vsx\.org/,
  /^Settings pattern ".*" doesn't match any settings/,
];

/**
 * Starts code-server on 127.0.0.1 with fresh user-data and extensions folders.
 * `env` is added to code-server's environment (the extension host inherits it); unless it says
 * otherwise, the windows share tunnels through a runtime folder of this code-server's own.
 * `extensions` are unpacked extensions written into the extensions folder before start
 * ({ folder: 'publisher.name-version', files: { 'package.json': text, … }, links?: { name: target } }):
 * loaded beside the extension under development.
 * Resolves once /healthz answers; `stop()` ends code-server and every process it started.
 */
export async function startCodeServer({ workspace, userSettings, env = {}, logFile, port, extensions = [] }) {
  const bin = ensureCodeServer();
  const home = tempDir('ssh-tunnels-code-server-');
  const userDataDir = path.join(home, 'user-data');
  const extensionsDir = path.join(home, 'extensions');
  fs.mkdirSync(extensionsDir, { recursive: true });
  for (const { folder, files, links = {} } of extensions) {
    fs.mkdirSync(path.join(extensionsDir, folder), { recursive: true });
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(extensionsDir, folder, name), text);
    for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(extensionsDir, folder, name));
  }
  writeJson(path.join(userDataDir, 'User/settings.json'), userSettings);
  port ??= await freePort();
  const args = [
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    workspace,
  ];
  let output = '';
  const logStream = logFile ? fs.createWriteStream(logFile) : undefined;
  // Its own process group, so stop() can end the extension host and the other children too.
  const proc = spawn(bin, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // A runtime folder of its own: its windows share tunnels with each other only, never with the
    // tunnels of whoever runs the tests (their VS Code, their `ssh-tunnels up`).
    env: { ...process.env, SSH_TUNNELS_RUNTIME_DIR: path.join(home, 'run'), ...env },
  });
  const collect = (d) => {
    output += d.toString();
    if (output.length > 400_000) output = output.slice(-200_000);
    logStream?.write(d);
  };
  liveGroups.add(proc.pid);
  proc.stdout.on('data', collect);
  proc.stderr.on('data', collect);
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal)));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (proc.exitCode === null && proc.signalCode === null) {
      try { process.kill(-proc.pid, 'SIGTERM'); } catch { /* already gone */ }
      const timer = setTimeout(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      await exited;
      clearTimeout(timer);
    }
    // The group may outlive its leader for a moment (extension host shutting down).
    try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ }
    liveGroups.delete(proc.pid);
    logStream?.end();
    fs.rmSync(home, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      await stop();
      throw new Error(`code-server exited before it listened:\n${output}`);
    }
    try {
      const res = await globalThis.fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer on port ${port} within 60s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { port, userDataDir, extensionsDir, stop, exited, output: () => output };
}

/** The workbench URL for `workspace`, with the extension under development and optionally a test module. */
export function workbenchUrl(port, { workspace, extensionDevelopmentPath = ROOT, extensionTestsPath }) {
  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
  const payload = [['extensionDevelopmentPath', remote(extensionDevelopmentPath)]];
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  return `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** Headless Debian Chromium through playwright-core. */
export async function launchChromium() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium was not found at ${CHROMIUM}. Run: bash scripts/install-system-deps.sh (Debian package chromium), or set CHROMIUM_PATH.`);
  }
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Rejects after `ms` with `what` in the message; `clear()` cancels. */
export function deadline(ms, what) {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)}s`)), ms);
  });
  return { promise, clear: () => clearTimeout(timer) };
}
