// `npm run test:integration`: runs the integration suite (out/test/integration/index.js, built by
// scripts/vscode/build-tests.mjs) inside a real VS Code offline: code-server + headless Chromium.
// Usage: node test/runners/offline.mjs [--trust trusted|restricted|both] [--only integration,agent,api]
// (default: both trust modes, every suite)
// The suite learns the mode from env SSH_TUNNELS_TEST_TRUST and from the workspace file
// .vscode/ssh-tunnels-test.json ({ "trust": "trusted" | "restricted" }).
// Env: SSH_TUNNELS_TEST_GREP (mocha grep), SSH_TUNNELS_TEST_TIMEOUT_S (per run, default 600).
// Each mode also runs the agent-tool suite (out/test/agent) and the API suite (out/test/api), each
// from a helper extension (see runHelperSuite): VS Code shows the tools' confirmation dialogs, and
// SSH Tunnels its question to the person, as a dialog Chromium answers.
// The integration suite acts on its own window's page as a person would (click, type, hover, read
// rows, notifications and the status bar) by asking this runner over HTTP on loopback
// (SSH_TUNNELS_WORKBENCH_DRIVER; the routes are test/runners/workbenchDriver.mjs's).
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { format } from 'node:util';
import { ROOT, WORKBENCH_NOISE, baseUserSettings, deadline, exitOnSignals, launchChromium, startCodeServer, workbenchUrl } from './codeServer.mjs';
import { watchToasts, workbenchRoutes } from './workbenchDriver.mjs';
import { AGENT_TESTS, API_TESTS, TESTS, prepareWorkspace, requireBuilt, trustModesOrExit } from './workspace.mjs';
const RESULTS = path.join(ROOT, 'test-results');
/** Workbench lines that say nothing about the suite: the common ones, the refused trust dialog, the reload test's shutdown. */
const EXPECTED_NOISE = [
  ...WORKBENCH_NOISE,
  /^DialogService: refused to show dialog in tests\. Contents: Do you trust the authors/,
  /^TreeError \[SettingsTree\] Tree element not found/,
  // The window reload of the reload test: the web workbench's shutdown chatter.
  /^\[lifecycle\] (onBeforeUnload triggered|Long running operations during shutdown)/,
  /^Failed to execute 'abort' on 'IDBTransaction'/,
  /^Unable to read file '.*' \(Canceled: Canceled\)/,
  /^Cannot read properties of undefined \(reading 'extensionHost'\)/,
];
const TIMEOUT_MS = Number(process.env.SSH_TUNNELS_TEST_TIMEOUT_S ?? 600) * 1000;

/** An HTTP server on loopback that answers POSTs to the route `routeOf(url)` gives (JSON in, JSON out; an error is a 500 with its message). */
async function serveRoutes(routeOf) {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      try {
        const route = routeOf(req.url);
        if (!route) throw new Error(`no route ${req.url}`);
        res.end(JSON.stringify((await route(JSON.parse(body || '{}'))) ?? null));
      } catch (err) {
        res.statusCode = 500;
        res.end(String(err instanceof Error ? err.message : err));
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/** Runs the suite once; resolves with its exit code. */
async function runSuite(trust) {
  const workspace = prepareWorkspace(trust);
  fs.mkdirSync(RESULTS, { recursive: true });
  const logFile = path.join(RESULTS, `code-server-${trust}.log`);
  // The page is made below; the routes act on it once it is.
  let page;
  let routes;
  const toasts = [];
  const driver = await serveRoutes((url) => page && (routes ??= workbenchRoutes(page, toasts, RESULTS))[url]);

  const server = await startCodeServer({
    workspace,
    userSettings: baseUserSettings({ trusted: trust === 'trusted' }),
    env: {
      SSH_TUNNELS_TEST_TRUST: trust,
      SSH_TUNNELS_TEST_GREP: process.env.SSH_TUNNELS_TEST_GREP ?? '',
      SSH_TUNNELS_WORKBENCH_DRIVER: `http://127.0.0.1:${driver.address().port}/`,
    },
    logFile,
  });
  let browser;
  const limit = deadline(TIMEOUT_MS, `integration suite (${trust})`);
  const workbenchLog = fs.createWriteStream(path.join(RESULTS, `workbench-${trust}.log`));
  try {
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.exposeFunction('sshTunnelsToast', (text) => {
      toasts.push(text);
      workbenchLog.write(`[toast] ${text}\n`);
    });
    await page.addInitScript(watchToasts);
    page.on('console', (m) => m.type() === 'error' && workbenchLog.write(`[console.error] ${m.text()}\n`));
    page.on('pageerror', (e) => workbenchLog.write(`[pageerror] ${e.stack ?? e}\n`));
    let resolveExit;
    const exit = new Promise((r) => (resolveExit = r));
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const line = format(...(Array.isArray(args) ? args : [args]));
      workbenchLog.write(`[${type}] ${line}\n`);
      // Expected offline noise stays in the log file only.
      if (!EXPECTED_NOISE.some((re) => re.test(line))) (type === 'error' ? process.stderr : process.stdout).write(line + '\n');
      // A crashed extension host never reports an exit code: fail now instead of at the timeout.
      if (/Extension host .*terminated unexpectedly/i.test(line)) resolveExit(1);
    });
    await page.exposeFunction('codeAutomationExit', (code) => resolveExit(Number(code)));
    await page.goto(workbenchUrl(server.port, { workspace, extensionTestsPath: TESTS }));
    const serverGone = server.exited.then((c) => {
      throw new Error(`code-server exited (${c}) before the suite finished; see ${logFile}`);
    });
    const code = await Promise.race([exit, limit.promise, serverGone]);
    if (code !== 0) {
      await page.screenshot({ path: path.join(RESULTS, `integration-${trust}-failed.png`) }).catch(() => undefined);
    }
    return code;
  } finally {
    limit.clear();
    await browser?.close().catch(() => undefined);
    await new Promise((r) => workbenchLog.end(r));
    await server.stop();
    driver.close();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

/** The agent-tool suite's helper: its main runs out/test/agent/main.js from the repository. */
function agentHelper() {
  return {
    folder: 'ssh-tunnels-test.agent-caller-0.0.1',
    files: {
      'package.json': JSON.stringify({
        name: 'agent-caller', publisher: 'ssh-tunnels-test', version: '0.0.1', main: './main.js',
        engines: { vscode: '^1.95.0' }, activationEvents: ['onStartupFinished'],
        extensionDependencies: ['tunnelworks.ssh-tunnels'],
        capabilities: { untrustedWorkspaces: { supported: true } },
      }),
      // The suite stays in out/ so that it resolves mocha from the repository's node_modules.
      'main.js': `module.exports = require(${JSON.stringify(path.join(AGENT_TESTS, 'main.js'))});\n`,
    },
  };
}

/**
 * The API suite's helper, another extension calling SSH Tunnels' API: its code is copied into its
 * own folder (SSH Tunnels names the caller from the call's stack), mocha found through a link.
 */
function apiHelper() {
  const bundles = fs.readdirSync(API_TESTS).filter((f) => f.endsWith('.js'));
  return {
    folder: 'ssh-tunnels-test.api-caller-0.0.1',
    files: {
      'package.json': JSON.stringify({
        name: 'api-caller', displayName: 'API Caller (test)', publisher: 'ssh-tunnels-test', version: '0.0.1', main: './main.js',
        engines: { vscode: '^1.95.0' }, activationEvents: ['onStartupFinished'],
        extensionDependencies: ['tunnelworks.ssh-tunnels'],
        capabilities: { untrustedWorkspaces: { supported: true } },
      }),
      ...Object.fromEntries(bundles.map((f) => [f, fs.readFileSync(path.join(API_TESTS, f), 'utf8')])),
    },
    links: { node_modules: path.join(ROOT, 'node_modules') },
  };
}

/**
 * A suite run by a helper extension beside SSH Tunnels under development, in a window with no
 * test module, so VS Code shows its dialogs as it does for a person. The suite talks to this
 * runner over HTTP on loopback (SSH_TUNNELS_AGENT_DRIVER): /dialog waits for the modal dialog,
 * returns its text and clicks the named button (if one is named; `screenshot` names a picture of
 * it saved in test-results/ first); /state says whether one shows; /screenshot saves the page;
 * /terminal gives the text of the terminals on screen;
 * /input types into the quick input and presses Enter; /notifications lists the messages of the
 * notifications showing (toasts, and the notification center when open); /log prints a line; /exit ends the run.
 */
async function runHelperSuite(trust, { name, helper, fixture = true }) {
  const workspace = prepareWorkspace(trust, { fixture });
  fs.mkdirSync(RESULTS, { recursive: true });
  const logFile = path.join(RESULTS, `code-server-${name}-${trust}.log`);
  let page;
  let resolveExit;
  const exit = new Promise((r) => (resolveExit = r));
  const dialog = () => page.locator('.monaco-dialog-box');
  const routes = {
    '/log': async ({ line }) => void process.stdout.write(line + '\n'),
    '/exit': async ({ code }) => void resolveExit(Number(code)),
    '/state': async () => ({ showing: await dialog().isVisible() }),
    // The lines of the terminal showing in the panel, as xterm's DOM renders them.
    '/terminal': async () => ({ text: (await page.locator('.xterm-rows').allInnerTexts()).join('\n') }),
    '/screenshot': async ({ name }) => void (await page.screenshot({ path: path.join(RESULTS, `${name}-${trust}.png`) })),
    // The notifications showing (their messages), as a person reads them: the toasts, and the center when it is open.
    '/notifications': async () => ({ messages: await page.locator('.notifications-toasts .notification-list-item-message, .notifications-center .notification-list-item-message').allInnerTexts() }),
    '/input': async ({ text }) => {
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible', timeout: 20_000 });
      await input.fill(text);
      await input.press('Enter');
    },
    '/dialog': async ({ button, screenshot }) => {
      await dialog().waitFor({ state: 'visible', timeout: 20_000 });
      const box = await dialog().elementHandle();
      const text = await box.innerText();
      // What the person sees, kept for a reader of the results.
      if (screenshot) await page.screenshot({ path: path.join(RESULTS, `${screenshot}-${trust}.png`) });
      if (!button) return { text }; // only look
      await dialog().locator('.monaco-button', { hasText: new RegExp(`^${button}$`) }).click();
      // This dialog goes (another may follow it at once).
      await box.waitForElementState('hidden', { timeout: 10_000 });
      return { text };
    },
  };
  const driver = await serveRoutes((url) => routes[url]);
  const server = await startCodeServer({
    workspace,
    // No automatic forwarding of the ports the tests' tunnels open, and its notices; terminals drawn
    // in the DOM, so that the runner can read a task's lines.
    userSettings: {
      ...baseUserSettings({ trusted: trust === 'trusted' }),
      'security.workspace.trust.startupPrompt': 'never',
      'remote.autoForwardPorts': false,
      'terminal.integrated.gpuAcceleration': 'off',
    },
    env: {
      SSH_TUNNELS_TEST_TRUST: trust,
      SSH_TUNNELS_TEST_GREP: process.env.SSH_TUNNELS_TEST_GREP ?? '',
      SSH_TUNNELS_AGENT_DRIVER: `http://127.0.0.1:${driver.address().port}/`,
    },
    logFile,
    extensions: [helper],
  });
  let browser;
  const limit = deadline(TIMEOUT_MS, `${name} suite (${trust})`);
  try {
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(workbenchUrl(server.port, { workspace }));
    const serverGone = server.exited.then((c) => {
      throw new Error(`code-server exited (${c}) before the ${name} suite finished; see ${logFile}`);
    });
    const code = await Promise.race([exit, limit.promise, serverGone]);
    if (code !== 0) await page.screenshot({ path: path.join(RESULTS, `${name}-${trust}-failed.png`) }).catch(() => undefined);
    return code;
  } finally {
    limit.clear();
    await browser?.close().catch(() => undefined);
    await server.stop();
    driver.close();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

exitOnSignals();
const modes = trustModesOrExit(process.argv.slice(2));
requireBuilt();

/** Runs one suite and prints how it ended; resolves with whether it passed. */
async function report(title, label, runIt) {
  const started = Date.now();
  console.log(`\n=== ${title} ===`);
  let code;
  try {
    code = await runIt();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    code = 1;
  }
  console.log(`=== ${label}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(1)}s ===`);
  return code === 0;
}

const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1].split(',') : ['integration', 'agent', 'api'];
let failed = 0;
for (const trust of modes) {
  if (only.includes('integration') && !(await report(`integration suite in code-server, ${trust} workspace`, trust, () => runSuite(trust)))) failed++;
  if (only.includes('agent') && !(await report(`agent-tool suite in code-server, ${trust} workspace`, `agent ${trust}`, () => runHelperSuite(trust, { name: 'agent', helper: agentHelper() })))) failed++;
  if (only.includes('api') && !(await report(`API suite in code-server, ${trust} workspace`, `api ${trust}`, () => runHelperSuite(trust, { name: 'api', helper: apiHelper(), fixture: false })))) failed++;
}
process.exit(failed ? 1 : 0);
