import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..');

/**
 * Loads a copy of the bundle from a folder with no node_modules (as in the installed
 * extension), with `vscode` stubbed, and reports which native loads it tried.
 */
const probe = `
const Module = require('node:module');
const attempts = [];
const dlopened = [];
// Whatever the UI touches at load time (new vscode.ThemeIcon(...), enums) answers with another stub.
// esbuild's __toESM copies own keys and keeps the prototype: lookups reach the stub through it.
const traps = {
  get: (_t, p) => (p === 'then' ? undefined : p === Symbol.toPrimitive ? () => '' : stub()),
  apply: () => stub(),
  construct: () => stub(),
};
const stub = () => new Proxy(function () {}, { ...traps, getPrototypeOf: () => new Proxy({}, { get: traps.get }) });
const vscode = stub();
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === 'vscode') return vscode;
  const native = /\\.node$|^cpu-features$/.test(request);
  try {
    return load.call(this, request, parent, isMain);
  } catch (err) {
    if (native) attempts.push({ request, code: err.code });
    throw err;
  }
};
const dlopen = process.dlopen;
process.dlopen = function (module, filename, ...rest) {
  dlopened.push(filename);
  return dlopen.call(this, module, filename, ...rest);
};
const ext = require(process.argv[1]);
console.log(JSON.stringify({ attempts, dlopened, exports: Object.keys(ext) }));
`;

describe('build: dist/extension.js and dist/cli.js ship no native add-on', function () {
  this.timeout(120_000);
  let bundle: string;

  before(async () => {
    await run('npm', ['run', '--silent', 'build'], { cwd: root });
    bundle = fs.readFileSync(path.join(root, 'dist', 'extension.js'), 'utf8');
  });

  it('bundles ssh2, and leaves its .node requires external and unresolvable from dist/', () => {
    assert.match(bundle, /ssh-userauth/, 'ssh2 is in the bundle');
    const natives = [...bundle.matchAll(/require\(["']([^"']+\.node)["']\)/g)].map((m) => m[1]);
    assert.ok(natives.length > 0, 'ssh2 still asks for its add-on (inside try/catch), so the check below is not vacuous');
    const dist = path.join(root, 'dist');
    for (const request of natives) {
      assert.throws(() => require.resolve(request, { paths: [dist] }), /Cannot find module/, `${request} resolves from dist/`);
    }
    const shipped = fs.readdirSync(dist, { recursive: true }).map(String).filter((f) => f.endsWith('.node'));
    assert.deepEqual(shipped, [], 'no .node file in dist/');
    assert.match(bundle, /require\(["']cpu-features["']\)/, 'cpu-features stays external rather than bundled');
  });

  it('the bundle loads where no node_modules exist, trying and skipping the add-ons, without loading any native code', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-bundle-'));
    try {
      const copy = path.join(dir, 'extension.js');
      fs.copyFileSync(path.join(root, 'dist', 'extension.js'), copy);
      const { stdout } = await run(process.execPath, ['-e', probe, copy], { cwd: dir, env: { PATH: process.env.PATH } });
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { attempts: { request: string; code: string }[]; dlopened: string[]; exports: string[] };
      assert.deepEqual(result.dlopened, [], 'no native code was loaded');
      assert.ok(result.attempts.some((a) => a.request.endsWith('sshcrypto.node') && a.code === 'MODULE_NOT_FOUND'), JSON.stringify(result.attempts));
      assert.ok(result.exports.includes('activate') && result.exports.includes('deactivate'), JSON.stringify(result.exports));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dist/cli.js (the ssh-tunnels command) runs where no node_modules exist, loading no native code', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-cli-bundle-'));
    try {
      const copy = path.join(dir, 'cli.js');
      fs.copyFileSync(path.join(root, 'dist', 'cli.js'), copy);
      const hook = path.join(dir, 'hook.js');
      fs.writeFileSync(hook, `const d = process.dlopen; process.dlopen = function (m, f, ...r) { process.stderr.write('DLOPEN ' + f + '\\n'); return d.call(this, m, f, ...r); };`);
      // mcp --help loads the MCP SDK as well as the engine and ssh2.
      const { stdout, stderr } = await run(process.execPath, ['--require', hook, copy, 'mcp', '--help'], { cwd: dir, env: { PATH: process.env.PATH } });
      assert.match(stdout, /Usage: ssh-tunnels mcp/);
      assert.doesNotMatch(stderr, /DLOPEN/);
      assert.match(fs.readFileSync(copy, 'utf8'), /require\(["']cpu-features["']\)/, 'cpu-features stays external rather than bundled');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
