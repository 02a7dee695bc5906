// Bundles the integration suites for VS Code's extension host: every test/integration/*.ts becomes
// out/test/integration/<name>.js (CommonJS, Node 20). `vscode` is provided by the host; `mocha`
// stays external and resolves from the repository's node_modules (out/ lives inside the repo).
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const srcDir = path.join(root, 'test/integration');
const outDir = path.join(root, 'out/test/integration');

const entryPoints = fs.existsSync(srcDir)
  ? fs.readdirSync(srcDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => path.join(srcDir, f))
  : [];
if (!entryPoints.some((f) => path.basename(f) === 'index.ts')) {
  console.error('test/integration/index.ts (exporting run()) is missing');
  process.exit(1);
}

/** Bundles each entry to outdir/<name>.js, replacing what was there. */
async function bundle(entries, outdir) {
  fs.rmSync(outdir, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: entries,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    outdir,
    external: ['vscode', 'mocha', 'cpu-features', '*.node'],
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'warning',
  });
}

await bundle(entryPoints, outDir);
console.log(`bundled ${entryPoints.length} integration file(s) into ${path.relative(root, outDir)}`);

// The agent-tool suite runs from a helper extension in a window without a test module (only
// there does VS Code show the tools' confirmation dialogs): test/agent/*.ts -> out/test/agent/.
const agentSrc = path.join(root, 'test/agent');
const agentOut = path.join(root, 'out/test/agent');
const agentEntries = fs.readdirSync(agentSrc).filter((f) => f.endsWith('.ts')).map((f) => path.join(agentSrc, f));
await bundle(agentEntries, agentOut);
console.log(`bundled ${agentEntries.length} agent-tool test file(s) into ${path.relative(root, agentOut)}`);

// The API suite runs from a helper extension whose files are its own (SSH Tunnels names the
// caller of its API from the stack): test/api/*.ts -> out/test/api/, copied there by the runner.
const apiSrc = path.join(root, 'test/api');
const apiOut = path.join(root, 'out/test/api');
const apiEntries = ['main.ts', ...fs.readdirSync(apiSrc).filter((f) => f.endsWith('.test.ts'))].map((f) => path.join(apiSrc, f));
await bundle(apiEntries, apiOut);
console.log(`bundled ${apiEntries.length} API test file(s) into ${path.relative(root, apiOut)}`);

// The two-window suite (test/runners/windows.mjs): first.js and second.js are the windows' test
// modules, *.test.js the specs second.js runs: test/windows/*.ts -> out/test/windows/.
const windowsSrc = path.join(root, 'test/windows');
const windowsOut = path.join(root, 'out/test/windows');
const windowsEntries = ['first.ts', 'second.ts', ...fs.readdirSync(windowsSrc).filter((f) => f.endsWith('.test.ts'))].map((f) => path.join(windowsSrc, f));
await bundle(windowsEntries, windowsOut);
console.log(`bundled ${windowsEntries.length} two-window test file(s) into ${path.relative(root, windowsOut)}`);
