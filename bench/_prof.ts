import * as fs from 'node:fs'; import * as os from 'node:os'; import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateConfig } from './sshConfigScale';
import { loadSshConfig } from '../src/config/sshConfig';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scale-'));
const file = generateConfig(path.join(dir, '.ssh'), 5000);
for (let k = 0; k < 8; k++) { const t = performance.now(); loadSshConfig(file, { home: dir, localUser: 'x' }); console.log('load', (performance.now() - t).toFixed(1)); }
fs.rmSync(dir, { recursive: true });
