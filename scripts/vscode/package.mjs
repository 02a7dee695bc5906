// `npm run package`: builds the .vsix with @vscode/vsce from a production bundle, in a staging
// folder so the development build in dist/ (with source maps) is left alone.
// Usage: node scripts/vscode/package.mjs [--out path/to/file.vsix]
// (default: ssh-tunnels-<version>.vsix in the repository root)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const argv = process.argv.slice(2);
const outArg = argv.indexOf('--out');
const out = path.resolve(outArg >= 0 ? argv[outArg + 1] : path.join(root, `${manifest.name}-${manifest.version}.vsix`));

const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-package-'));
try {
  // esbuild.mjs works relative to its cwd: run it in the stage with src/ and node_modules/ linked in.
  fs.symlinkSync(path.join(root, 'src'), path.join(stage, 'src'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'));
  execFileSync(process.execPath, [path.join(root, 'esbuild.mjs'), '--production'], { cwd: stage, stdio: 'inherit' });
  fs.rmSync(path.join(stage, 'src'));
  fs.rmSync(path.join(stage, 'node_modules'));

  // `files` is for the npm package (the ssh-tunnels command); vsce refuses it next to .vscodeignore.
  const vsixManifest = { ...manifest };
  delete vsixManifest.files;
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(vsixManifest, null, 2) + '\n');
  for (const file of ['README.md', 'CHANGELOG.md', 'LICENSE', '.vscodeignore']) {
    if (!fs.existsSync(path.join(root, file))) throw new Error(`${file} is missing from the repository; vsce needs it`);
    fs.copyFileSync(path.join(root, file), path.join(stage, file));
  }
  if (fs.existsSync(path.join(root, 'media'))) fs.cpSync(path.join(root, 'media'), path.join(stage, 'media'), { recursive: true });
  // The published API's types, for extension authors (api/ssh-tunnels.d.ts).
  fs.cpSync(path.join(root, 'api'), path.join(stage, 'api'), { recursive: true });

  const vsce = path.join(root, 'node_modules/@vscode/vsce/vsce');
  const args = ['package', '--no-dependencies', '--out', out];
  // vsce rewrites README's and CHANGELOG's relative links and images to the manifest's repository, which
  // the details pages need (they serve no other file of the package); media/ holds the images themselves.
  if (!manifest.repository) throw new Error('package.json has no repository; the details page would have broken links');
  execFileSync(process.execPath, [vsce, ...args], { cwd: stage, stdio: 'inherit' });
  const kib = (file) => `${(fs.statSync(file).size / 1024).toFixed(1)} KiB`;
  console.log(`${path.relative(process.cwd(), out) || out}: ${kib(out)} (bundles: dist/extension.js ${kib(path.join(stage, 'dist/extension.js'))}, dist/cli.js ${kib(path.join(stage, 'dist/cli.js'))})`);
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
