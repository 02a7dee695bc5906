// `npm run package` builds a .vsix that holds the production bundle and nothing a user should not
// get: no source maps, no sources or tests, no native add-ons, no node_modules; and what its details
// page needs: the icon, the changelog and every image the README shows, with links that resolve.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { icon: string; repository: { url: string } };
const REPO = pkg.repository.url.replace(/\.git$/, '');

/** Markdown images and links (`[t](x)`, `![t](x)`, `<img src="x">`), as vsce rewrites them. */
function references(markdown: string): { image: boolean; target: string }[] {
  const found = [...markdown.matchAll(/(!?)\[(?:[^\][]|!\[[^\][]*\]\([^)]+\))*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => ({ image: m[1] === '!', target: m[2] }));
  for (const m of markdown.matchAll(/<img[^>]+src=["']([^"']+)["']/g)) found.push({ image: true, target: m[1] });
  return found;
}

/** Width and height from a PNG's IHDR chunk (refuses anything that is not a PNG). */
function pngSize(png: Buffer): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'not a PNG signature');
  assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR', 'the first chunk is not IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

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

  const unzip = (entry: string) => execFileSync('unzip', ['-p', vsix, entry], { maxBuffer: 64 * 1024 * 1024 });

  it('holds the bundles, the published API\'s types, the manifest, README, CHANGELOG, LICENSE and the icons', () => {
    for (const want of ['extension/dist/extension.js', 'extension/dist/cli.js', 'extension/api/ssh-tunnels.d.ts', 'extension/package.json', 'extension/readme.md', 'extension/changelog.md', 'extension/LICENSE.txt', 'extension.vsixmanifest']) {
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
      /\.map$|\.node$|(?<!\.d)\.ts$|(^|\/)(src|test|out|node_modules|scripts|bench|\.cache)\//.test(e),
    );
    assert.deepEqual(unwanted, []);
    const allowed = /^(extension\.vsixmanifest|\[Content_Types\]\.xml|extension\/(dist\/(extension|cli)\.js|package\.json|readme\.md|changelog\.md|LICENSE\.txt|api\/ssh-tunnels\.d\.ts|media\/.+))$/;
    assert.deepEqual(entries.filter((e) => !allowed.test(e)), []);
  });

  it('has the Marketplace icon: a PNG of at least 128×128, declared in the .vsix manifest', () => {
    assert.ok(entries.includes(`extension/${pkg.icon}`), `${pkg.icon} is missing from the .vsix`);
    const { width, height } = pngSize(unzip(`extension/${pkg.icon}`));
    assert.ok(width >= 128 && height >= 128, `the icon is ${width}×${height}; the Marketplace wants at least 128×128`);
    assert.equal(width, height, 'the icon is not square');
    const manifest = unzip('extension.vsixmanifest').toString('utf8');
    assert.match(manifest, new RegExp(`<Icon>extension/${pkg.icon}</Icon>`));
    assert.match(manifest, /Type="Microsoft\.VisualStudio\.Services\.Content\.Changelog" Path="extension\/changelog\.md"/);
  });

  it('holds every image the README shows, and its packed links and images are absolute (https) or in the package', () => {
    const source = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const images = references(source).filter((r) => r.image);
    assert.ok(images.length > 0, 'the README shows no picture');
    for (const { target } of images) {
      if (/^https:\/\//.test(target)) continue;
      assert.ok(entries.includes(`extension/${path.posix.normalize(target)}`), `README image ${target} is not in the .vsix`);
    }
    // The details pages (Marketplace, Open VSX, VS Code's extension view) read the packed copies.
    for (const file of ['readme.md', 'changelog.md']) {
      for (const { image, target } of references(unzip(`extension/${file}`).toString('utf8'))) {
        if (target.startsWith('#')) continue;
        assert.match(target, /^https:\/\//, `${file}: ${target} is neither absolute nor an anchor`);
        if (!target.startsWith(`${REPO}/`)) continue;
        // vsce pointed it into the repository: images must be files of the package, links files of the repository.
        const rewritten = /^\/(raw|blob)\/HEAD\/([^#?]+)/.exec(target.slice(REPO.length));
        assert.ok(rewritten, `${file}: ${target} points into the repository but not at a file`);
        if (image) assert.ok(entries.includes(`extension/${rewritten[2]}`), `${file}: image ${rewritten[2]} is not in the .vsix`);
        else assert.ok(fs.existsSync(path.join(ROOT, rewritten[2])), `${file}: link ${target} names ${rewritten[2]}, which the repository does not have`);
      }
    }
  });

  it('ships minified production bundles without a source map reference', () => {
    for (const file of ['dist/extension.js', 'dist/cli.js']) {
      const bundle = execFileSync('unzip', ['-p', vsix, `extension/${file}`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      assert.doesNotMatch(bundle, /sourceMappingURL/, file);
      // Minified: few, long lines, over 1,000 characters on average (a development build's are
      // about 40; a minified one keeps a line break only inside template literals such as help texts).
      const lines = bundle.split('\n').length;
      assert.ok(bundle.length / lines > 1000, `${file} has ${lines} lines of ${Math.round(bundle.length / lines)} characters on average; is it minified?`);
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

describe('the details page and the documentation', () => {
  it('the README is short enough to read in a minute (under 12 KB), with the details in docs/', () => {
    const size = fs.statSync(path.join(ROOT, 'README.md')).size;
    assert.ok(size < 12 * 1024, `README.md is ${size} bytes; move detail to docs/ or CONTRIBUTING.md`);
  });

  it('the README keeps the two developer commands: the demo and the tests', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, /^bash scripts\/install-system-deps\.sh && npm ci && npm run demo$/m);
    assert.match(readme, /^bash \.ci\/run\b/m);
    assert.ok(fs.existsSync(path.join(ROOT, '.ci/run')));
  });

  it('every relative link and image of README, CHANGELOG, CONTRIBUTING and docs/ names a file that exists', () => {
    const docs = ['README.md', 'CHANGELOG.md', 'CONTRIBUTING.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    for (const doc of docs) {
      for (const { target } of references(fs.readFileSync(path.join(ROOT, doc), 'utf8'))) {
        if (/^(\w+:|#)/.test(target)) continue;
        const file = path.resolve(path.dirname(path.join(ROOT, doc)), decodeURI(target.replace(/[#?].*$/, '')));
        if (!fs.existsSync(file)) broken.push(`${doc}: ${target}`);
      }
    }
    assert.deepEqual(broken, []);
  });
});
