// `npm run package` builds a .vsix that holds the production bundle and nothing a user should not
// get: no source maps, no sources or tests, no native add-ons, no node_modules.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

describe('the .vsix package', function () {
  this.timeout(120_000);
  let dir: string;
  let vsix: string;
  let entries: string[];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-vsix-'));
    vsix = path.join(dir, 'ssh-tunnels.vsix');
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/vscode/package.mjs'), '--out', vsix], { cwd: ROOT, stdio: 'pipe' });
    entries = execFileSync('unzip', ['-Z1', vsix], { encoding: 'utf8' }).split('\n').filter(Boolean);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('holds the bundles, the manifest, README, LICENSE and the icons', () => {
    for (const want of ['extension/dist/extension.js', 'extension/dist/cli.js', 'extension/package.json', 'extension/readme.md', 'extension/LICENSE.txt', 'extension.vsixmanifest']) {
      assert.ok(entries.includes(want), `${want} is missing from the .vsix: ${entries.join(', ')}`);
    }
    const manifest = JSON.parse(execFileSync('unzip', ['-p', vsix, 'extension/package.json'], { encoding: 'utf8' })) as { main: string };
    assert.equal(manifest.main, './dist/extension.js');
    for (const icon of fs.existsSync(path.join(ROOT, 'media')) ? fs.readdirSync(path.join(ROOT, 'media')) : []) {
      assert.ok(entries.includes(`extension/media/${icon}`), `media/${icon} is missing from the .vsix`);
    }
  });

  it('holds no source maps, sources, tests, native add-ons or node_modules', () => {
    const unwanted = entries.filter((e) =>
      /\.map$|\.node$|\.ts$|(^|\/)(src|test|out|node_modules|scripts|bench|\.cache)\//.test(e),
    );
    assert.deepEqual(unwanted, []);
    const allowed = /^(extension\.vsixmanifest|\[Content_Types\]\.xml|extension\/(dist\/(extension|cli)\.js|package\.json|readme\.md|LICENSE\.txt|media\/.+))$/;
    assert.deepEqual(entries.filter((e) => !allowed.test(e)), []);
  });

  it('ships minified production bundles without a source map reference', () => {
    for (const file of ['dist/extension.js', 'dist/cli.js']) {
      const bundle = execFileSync('unzip', ['-p', vsix, `extension/${file}`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      assert.doesNotMatch(bundle, /sourceMappingURL/, file);
      // Minified: few, long lines (a development build has thousands).
      assert.ok(bundle.split('\n').length < 200, `${file} has ${bundle.split('\n').length} lines; is it minified?`);
    }
  });

  it('carries the ssh-tunnels command, which runs from the unpacked extension with no node_modules', () => {
    const unpacked = path.join(dir, 'unpacked');
    execFileSync('unzip', ['-q', vsix, 'extension/dist/cli.js', 'extension/package.json', '-d', unpacked]);
    const cli = path.join(unpacked, 'extension/dist/cli.js');
    assert.match(fs.readFileSync(cli, 'utf8').split('\n')[0], /^#!\/usr\/bin\/env node$/);
    const version = execFileSync(process.execPath, [cli, '--version'], { cwd: unpacked, encoding: 'utf8', env: { PATH: process.env.PATH } }).trim();
    assert.equal(version, JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });
});
