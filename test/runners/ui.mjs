/* global document */
// UI test (`npm run test:ui`, part of `npm test`): drives the workbench as a person would. Starts the
// demo environment (sshd + page + workspace with an autoStart tunnel), opens code-server in headless
// Chromium without a test module, clicks the SSH Tunnels activity-bar icon, waits for the server and
// its tunnel (active) in the tree, reads the status bar, fetches the page through the tunnel, and
// saves screenshots to test-results/.
// Usage: node --import tsx test/runners/ui.mjs [--screenshot-to media/screenshot.png] [--in-process-ssh]
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { ROOT, baseUserSettings, deadline, exitOnSignals, launchChromium, startCodeServer, workbenchUrl } from './codeServer.mjs';
import { DEMO_SERVER, DEMO_TUNNEL, startDemoEnvironment } from './demoEnv.ts';

const RESULTS = path.join(ROOT, 'test-results');
const TIMEOUT_MS = Number(process.env.SSH_TUNNELS_UI_TIMEOUT_S ?? 180) * 1000;
const argv = process.argv.slice(2);
const copyArg = argv.indexOf('--screenshot-to');
const copyTo = copyArg >= 0 ? path.resolve(argv[copyArg + 1]) : undefined;
const inProcessSsh = argv.includes('--in-process-ssh');
/** Screenshot names: ui-*.png, or ui-ssh2-*.png for the in-process SSH server variant. */
const shot = (name) => `ui-${inProcessSsh ? 'ssh2-' : ''}${name}.png`;
const serverLog = `code-server-ui${inProcessSsh ? '-ssh2' : ''}.log`;

/** One HTTP GET on its own connection, closed afterwards (so the tunnel's active count settles). */
function getOnce(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer through the tunnel on port ${port} within 10s`)));
    req.on('error', reject);
  });
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function drive(page, env) {
  const step = (s) => console.log(`  - ${s}`);
  await page.locator('.monaco-workbench .part.activitybar').waitFor({ timeout: 60_000 });
  step('workbench loaded');

  const icon = page.locator('.part.activitybar [aria-label^="SSH Tunnels"]').first();
  await icon.waitFor({ timeout: 60_000 });
  await icon.click();
  step('clicked the SSH Tunnels activity-bar icon');

  const sidebar = page.locator('.part.sidebar');
  const rows = sidebar.locator('.monaco-list-row');
  const serverRow = rows.filter({ hasText: DEMO_SERVER }).first();
  await serverRow.waitFor({ timeout: 30_000 });
  step(`tree shows the server: ${(await serverRow.innerText()).replace(/\s+/g, ' ').trim()}`);
  // Servers may start collapsed: expand so the tunnel row renders.
  const tunnelRow = rows.filter({ hasText: DEMO_TUNNEL }).first();
  if (!(await tunnelRow.isVisible())) {
    if ((await serverRow.getAttribute('aria-expanded')) === 'false') await serverRow.click();
  }
  await tunnelRow.waitFor({ timeout: 30_000 });
  // Active shows as the row's icon; a screen reader hears it (the row's aria-label).
  await page.waitForFunction(
    (name) => [...document.querySelectorAll('.part.sidebar .monaco-list-row')].some((r) => r.textContent.includes(name) && /, active$/.test(r.getAttribute('aria-label') ?? '')),
    DEMO_TUNNEL,
    { timeout: 30_000 },
  );
  const tunnelText = (await tunnelRow.innerText()).replace(/\s+/g, ' ').trim();
  step(`tree shows the tunnel: ${tunnelText}`);
  check(tunnelText.includes(String(env.tunnelPort)) || tunnelText.includes(DEMO_TUNNEL), `tunnel row does not name the tunnel: ${tunnelText}`);

  const { status: httpStatus, body } = await getOnce(env.tunnelPort);
  check(httpStatus === 200 && body.includes('Hello through an SSH tunnel'), `the page through the tunnel answered ${httpStatus}: ${body.slice(0, 200)}`);
  step(`fetched the demo page through the tunnel (127.0.0.1:${env.tunnelPort})`);

  const status = page.locator('.part.statusbar .statusbar-item').filter({ has: page.locator('.codicon-plug') }).first();
  await status.waitFor({ timeout: 15_000 });
  // One tunnel, in words, and no connection open once the GET above has closed its own (said to screen readers).
  await page.waitForFunction(
    () => [...document.querySelectorAll('.part.statusbar .statusbar-item')].some((e) => e.querySelector('.codicon-plug') && /^\s*1 tunnel\s*$/.test(e.textContent) && /no connections open/.test(e.getAttribute('aria-label') ?? '')),
    undefined,
    { timeout: 15_000 },
  );
  const statusText = (await status.innerText()).trim();
  const statusLabel = await status.getAttribute('aria-label');
  step(`status bar: "${statusText}" (screen reader: "${statusLabel}")`);
  check(statusText === '1 tunnel', `status bar text is "${statusText}", expected "1 tunnel"`);

  // Widen the side bar so tunnel descriptions show whole (drag the sash at its right edge).
  const box = await sidebar.boundingBox();
  if (box) {
    await page.mouse.move(box.x + box.width, box.y + 200);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width + 220, box.y + 200, { steps: 5 });
    await page.mouse.up();
  }
  await page.mouse.move(900, 600); // off the icon and the sash, so no hover covers the tree
  await page.waitForTimeout(800);
  fs.mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: path.join(RESULTS, shot('workbench')) });
  await sidebar.screenshot({ path: path.join(RESULTS, shot('tree')) });
  await page.locator('.part.statusbar').screenshot({ path: path.join(RESULTS, shot('statusbar')) });
  step(`screenshots: test-results/${shot('workbench')}, ${shot('tree')}, ${shot('statusbar')}`);
  if (copyTo) {
    fs.mkdirSync(path.dirname(copyTo), { recursive: true });
    fs.copyFileSync(path.join(RESULTS, shot('workbench')), copyTo);
    step(`copied the workbench screenshot to ${path.relative(ROOT, copyTo)}`);
  }
}

const started = Date.now();
console.log(`\n=== UI test: the SSH Tunnels view in code-server (${inProcessSsh ? 'in-process ssh2 server' : 'OpenSSH sshd'}) ===`);
if (!fs.existsSync(path.join(ROOT, 'dist/extension.js'))) {
  console.error('dist/extension.js is missing: run npm run build first');
  process.exit(2);
}
exitOnSignals();
const env = await startDemoEnvironment({ inProcessSsh });
let server;
let browser;
let page;
const limit = deadline(TIMEOUT_MS, 'UI test');
let code = 0;
try {
  fs.mkdirSync(RESULTS, { recursive: true });
  server = await startCodeServer({
    workspace: env.workspace,
    userSettings: baseUserSettings({ trusted: true }),
    logFile: path.join(RESULTS, serverLog),
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(workbenchUrl(server.port, { workspace: env.workspace }));
  await Promise.race([drive(page, env), limit.promise]);
} catch (err) {
  code = 1;
  console.error(`UI test failed: ${err instanceof Error ? err.message : err}`);
  await page?.screenshot({ path: path.join(RESULTS, shot('failed')) }).catch(() => undefined);
  console.error(`  screenshot: test-results/${shot('failed')}; code-server log: test-results/${serverLog}`);
} finally {
  limit.clear();
  await browser?.close().catch(() => undefined);
  await server?.stop();
  await env.stop();
}
console.log(`=== UI test: ${code === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)}s ===`);
process.exit(code);
