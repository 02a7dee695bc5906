// Two VS Code windows of one person (`npm test` step; `npm run test:windows`): one code-server, two
// headless Chromium pages on two folders (api, web), each with its own extension host, sharing the
// user settings, which hold an autoStart tunnel to an echo server through the sshd fixture.
// Window "api" runs out/test/windows/first.js: it serves the tunnel, tells this runner its
// extension host's pid, and waits. Window "web" runs the mocha suite out/test/windows/*.test.js,
// which asks this runner (HTTP on loopback, SSH_TUNNELS_WINDOWS_DRIVER) for what only it can do:
// read that window's tree and notifications from the page, and kill -9 the first extension host.
// HOME (~/.ssh/config with the fixture as host `fix`) and XDG_RUNTIME_DIR are fresh folders, so the
// windows, and the `up` and `mcp` commands the suite starts, meet only each other.
// Logs: test-results/{code-server-windows,workbench-windows-api,workbench-windows-web}.log and
// windows-logs/ (the extension's log of each extension host); screenshots when it fails.
// Usage: node --import tsx test/runners/windows.mjs   Env: SSH_TUNNELS_TEST_GREP, SSH_TUNNELS_WINDOWS_TIMEOUT_S (default 300).
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { format } from 'node:util';
import { ROOT, WORKBENCH_NOISE, baseUserSettings, deadline, exitOnSignals, launchChromium, startCodeServer, tempDir, workbenchUrl } from './codeServer.mjs';
import { SshdFixture, freePort } from '../fixtures/sshd.ts';
import { cliHome } from '../helpers/cli.ts';
import { sshConfigHost } from '../helpers/sshConfigHost.ts';
import { startEchoServer } from '../helpers/net.ts';
import { watchToasts } from './workbenchDriver.mjs';

const RESULTS = path.join(ROOT, 'test-results');
const SUITE = path.join(ROOT, 'out/test/windows');
const TIMEOUT_MS = Number(process.env.SSH_TUNNELS_WINDOWS_TIMEOUT_S ?? 300) * 1000;
const SERVER = 'fix';
/** A second name for the fixture, where only `up` opens a tunnel: a server row that had nothing to show gets a tunnel served elsewhere. */
const UP_SERVER = 'side';
const TUNNEL = 'team-db';
const FOLDERS = { first: 'api', second: 'web' };
/** Workbench lines that say nothing about the suite (as in offline.mjs, and slow-start notes). */
const EXPECTED_NOISE = [...WORKBENCH_NOISE, /^Creation of workbench contribution '.*' took \d+ms/];

/** Whether `pid` is an extension host of this code-server (its command line says so). */
function isExtensionHost(pid) {
  try {
    return /extensionHost/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

/** The rows of the SSH Tunnels tree in the page's side bar, servers expanded, as one line of text each. */
async function treeRows(page) {
  const rows = page.locator('.part.sidebar .monaco-list-row');
  await rows.first().waitFor({ timeout: 15_000 });
  // Servers may be collapsed: open each once, so its tunnels render (bounded by the row count).
  for (let i = 0, n = await rows.count(); i < n; i++) {
    const row = rows.nth(i);
    if ((await row.getAttribute('aria-expanded')) === 'false' && (await row.getAttribute('aria-level')) === '1') {
      await row.locator('.monaco-tl-twistie').click();
      await page.waitForTimeout(200);
    }
  }
  // A server row says whether it shows its children: a failure then tells a collapsed row from one the page thinks has none.
  return rows.evaluateAll((els) =>
    els.map((el) => {
      const text = el.innerText.replace(/\s+/g, ' ').trim();
      const expanded = el.getAttribute('aria-expanded');
      return el.getAttribute('aria-level') === '1' ? `${text} ⟨${expanded === null ? 'no children' : expanded === 'true' ? 'expanded' : 'collapsed'}⟩` : text;
    }),
  );
}

/** Copies the extension's log of every extension host (its output channel's file) to test-results/windows-logs/. */
function keepExtensionLogs(userDataDir) {
  const to = path.join(RESULTS, 'windows-logs');
  fs.rmSync(to, { recursive: true, force: true });
  const logs = path.join(userDataDir, 'logs');
  if (!fs.existsSync(logs)) return;
  for (const file of fs.readdirSync(logs, { recursive: true })) {
    if (!/SSH Tunnels\.log$/.test(file)) continue;
    fs.mkdirSync(to, { recursive: true });
    // The path tells the hosts apart: <session>/exthost2/tunnelworks.ssh-tunnels/SSH Tunnels.log
    fs.copyFileSync(path.join(logs, file), path.join(to, file.split(path.sep).join('_')));
  }
}

async function main() {
  fs.mkdirSync(RESULTS, { recursive: true });
  const sshd = await SshdFixture.start();
  const echo = await startEchoServer();
  const home = cliHome(sshd);
  fs.appendFileSync(path.join(home.home, '.ssh', 'config'), [...sshConfigHost(sshd, UP_SERVER), ''].join('\n'));
  const runtime = tempDir('ssh-tunnels-runtime-');
  fs.chmodSync(runtime, 0o700);
  const parent = tempDir('ssh-tunnels-windows-');
  const folders = Object.fromEntries(Object.entries(FOLDERS).map(([k, name]) => [k, path.join(parent, name)]));
  for (const dir of Object.values(folders)) fs.mkdirSync(dir);
  const tunnelPort = await freePort();

  const windows = {}; // first | second -> { page, toasts: string[], exit: Promise<number>, log }
  let firstHello;
  const firstReady = new Promise((resolve, reject) => (firstHello = { resolve, reject }));
  let firstKilled = false;
  const setup = () => ({
    server: SERVER,
    upServer: UP_SERVER,
    tunnel: TUNNEL,
    tunnelPort,
    echoPort: echo.port,
    folders: FOLDERS,
    firstPid: windows.first?.pid,
    home: home.home,
    runtimeDir: runtime,
    peersDir: path.join(runtime, 'ssh-tunnels'),
    cli: path.join(ROOT, 'dist/cli.js'),
  });
  const routes = {
    '/setup': async () => setup(),
    '/hello': async ({ window: which, pid, error }) => {
      if (error) return void firstHello.reject(new Error(`the ${which} window could not start: ${error}`));
      if (!isExtensionHost(pid)) return void firstHello.reject(new Error(`the ${which} window said its extension host is pid ${pid}, which is no extension host`));
      windows[which].pid = pid;
      firstHello.resolve();
    },
    '/tree': async ({ window: which }) => treeRows(windows[which].page),
    '/toasts': async ({ window: which }) => windows[which].toasts,
    '/kill': async ({ window: which }) => {
      const pid = windows[which].pid;
      if (!isExtensionHost(pid)) throw new Error(`pid ${pid} of the ${which} window is no extension host (any more)`);
      if (which === 'first') firstKilled = true;
      process.kill(pid, 'SIGKILL');
      return { pid, killedAt: Date.now() };
    },
  };
  const driver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      try {
        const route = routes[req.url];
        if (!route) throw new Error(`no route ${req.url}`);
        res.end(JSON.stringify((await route(JSON.parse(body || '{}'))) ?? null));
      } catch (err) {
        res.statusCode = 500;
        res.end(String(err instanceof Error ? err.message : err));
      }
    });
  });
  await new Promise((r) => driver.listen(0, '127.0.0.1', r));

  const server = await startCodeServer({
    workspace: folders.first,
    userSettings: {
      ...baseUserSettings({ trusted: true }),
      'sshTunnels.tunnels': [{ name: TUNNEL, server: SERVER, type: 'local', localPort: tunnelPort, remoteHost: '127.0.0.1', remotePort: echo.port, autoStart: true }],
    },
    env: {
      HOME: home.home,
      XDG_RUNTIME_DIR: runtime,
      // Named too, so that one set in the caller's environment does not lead the windows elsewhere.
      SSH_TUNNELS_RUNTIME_DIR: path.join(runtime, 'ssh-tunnels'),
      SSH_TUNNELS_WINDOWS_DRIVER: `http://127.0.0.1:${driver.address().port}/`,
      SSH_TUNNELS_TEST_GREP: process.env.SSH_TUNNELS_TEST_GREP ?? '',
    },
    logFile: path.join(RESULTS, 'code-server-windows.log'),
  });
  const browser = await launchChromium();

  /** Opens a window (a page of its own) on `which` folder, running `module` as its test module. */
  async function openWindow(which, module) {
    const name = FOLDERS[which];
    const log = fs.createWriteStream(path.join(RESULTS, `workbench-windows-${name}.log`));
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const w = { page, toasts: [], log };
    windows[which] = w;
    let resolveExit;
    w.exit = new Promise((r) => (resolveExit = r));
    page.on('console', (m) => m.type() === 'error' && log.write(`[console.error] ${m.text()}\n`));
    page.on('pageerror', (e) => log.write(`[pageerror] ${e.stack ?? e}\n`));
    await page.exposeFunction('sshTunnelsToast', (text) => {
      w.toasts.push(text);
      log.write(`[toast] ${text}\n`);
    });
    await page.addInitScript(watchToasts);
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const line = format(...(Array.isArray(args) ? args : [args]));
      log.write(`[${type}] ${line}\n`);
      if (EXPECTED_NOISE.some((re) => re.test(line))) return;
      const expectedEnd = which === 'first' && firstKilled;
      if (!expectedEnd) (type === 'error' ? process.stderr : process.stdout).write(`${which === 'first' ? `[${name}] ` : ''}${line}\n`);
      if (!expectedEnd && /Extension host .*terminated unexpectedly/i.test(line)) resolveExit(1);
    });
    await page.exposeFunction('codeAutomationExit', (code) => resolveExit(Number(code)));
    await page.goto(workbenchUrl(server.port, { workspace: folders[which], extensionTestsPath: path.join(SUITE, module) }));
    return w;
  }

  const limit = deadline(TIMEOUT_MS, 'two-window suite');
  const serverGone = server.exited.then((c) => {
    throw new Error(`code-server exited (${c}) before the suite finished`);
  });
  let code = 1;
  try {
    const first = await openWindow('first', 'first.js');
    // The first window must serve before the second opens: an early exit of its module is a failure.
    const firstEnded = first.exit.then((c) => {
      throw new Error(`the ${FOLDERS.first} window's module ended (${c}) before serving the tunnel`);
    });
    await Promise.race([firstReady, firstEnded, limit.promise, serverGone]);
    console.log(`window ${FOLDERS.first} serves ${TUNNEL} on 127.0.0.1:${tunnelPort} (extension host pid ${first.pid})`);
    const second = await openWindow('second', 'second.js');
    code = await Promise.race([second.exit, limit.promise, serverGone]);
    if (code !== 0) {
      for (const [which, w] of Object.entries(windows)) {
        await w.page.screenshot({ path: path.join(RESULTS, `windows-${FOLDERS[which]}-failed.png`) }).catch(() => undefined);
      }
    }
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    code = 1;
  } finally {
    limit.clear();
    await browser.close().catch(() => undefined);
    for (const w of Object.values(windows)) await new Promise((r) => w.log.end(r));
    keepExtensionLogs(server.userDataDir);
    await server.stop();
    driver.close();
    await echo.close();
    await sshd.stop();
    home.remove();
    for (const dir of [runtime, parent]) fs.rmSync(dir, { recursive: true, force: true });
  }
  return code;
}

exitOnSignals();
for (const file of ['first.js', 'second.js']) {
  if (!fs.existsSync(path.join(SUITE, file))) {
    console.error(`out/test/windows/${file} is missing: run npm run build:tests first`);
    process.exit(2);
  }
}
if (!fs.existsSync(path.join(ROOT, 'dist/extension.js')) || !fs.existsSync(path.join(ROOT, 'dist/cli.js'))) {
  console.error('dist/extension.js or dist/cli.js is missing: run npm run build first');
  process.exit(2);
}
const started = Date.now();
console.log('\n=== two VS Code windows, ssh-tunnels up and mcp: one set of tunnels ===');
const code = await main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  return 1;
});
console.log(`=== two windows: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(1)}s ===`);
process.exit(code);
