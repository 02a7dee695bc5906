// Renders media/icon.svg to media/icon.png (256×256, transparent corners) with the headless
// Chromium the UI tests use, so no image tool is needed. The PNG is committed: packaging does not run this.
// Usage: node scripts/render-icon.mjs [--size 256]
import * as path from 'node:path';
import * as fs from 'node:fs';
import { launchChromium } from '../test/runners/codeServer.mjs';

const root = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const size = argv.includes('--size') ? Number(argv[argv.indexOf('--size') + 1]) : 256;
const svg = fs.readFileSync(path.join(root, 'media/icon.svg'), 'utf8');
const out = path.join(root, 'media/icon.png');

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: size, height: size }, deviceScaleFactor: 1 });
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace(/width="\d+" height="\d+"/, `width="${size}" height="${size}"`)}</body></html>`);
  await page.screenshot({ path: out, omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
} finally {
  await browser.close();
}
console.log(`${path.relative(root, out)}: ${size}×${size}, ${fs.statSync(out).size} bytes`);
