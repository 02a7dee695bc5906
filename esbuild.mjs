// Bundles the extension into dist/extension.js and the `ssh-tunnels` command into dist/cli.js.
// Type checking is its own step (`npm run typecheck`).
import * as fs from 'node:fs';
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const { version } = JSON.parse(fs.readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/** ssh2 loads these native add-ons in try/catch and falls back to Node's crypto: ship none of them. */
const nativeExternals = ['cpu-features', '*.node'];

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'warning',
};

const contexts = await Promise.all([
  esbuild.context({ ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', ...nativeExternals] }),
  // The command runs as `node dist/cli.js` (from the extension's folder) or as an npm bin.
  esbuild.context({
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    external: nativeExternals,
    banner: { js: '#!/usr/bin/env node' },
    define: { SSH_TUNNELS_VERSION: JSON.stringify(version) },
  }),
]);

if (watch) {
  await Promise.all(contexts.map((ctx) => ctx.watch()));
} else {
  await Promise.all(contexts.map((ctx) => ctx.rebuild()));
  await Promise.all(contexts.map((ctx) => ctx.dispose()));
  fs.chmodSync('dist/cli.js', 0o755);
}
