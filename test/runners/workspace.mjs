// The workspace both integration runners open: a fresh temp copy of test/integration/workspace/
// (when the suite has one) plus .vscode/ssh-tunnels-test.json telling the suite the trust mode.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, tempDir, writeJson } from './codeServer.mjs';

export const TESTS = path.join(ROOT, 'out/test/integration/index.js');
export const AGENT_TESTS = path.join(ROOT, 'out/test/agent');
export const API_TESTS = path.join(ROOT, 'out/test/api');
const FIXTURE_WORKSPACE = path.join(ROOT, 'test/integration/workspace');

/** `--trust trusted|restricted|both` (default both) as the list of modes to run. */
export function parseTrustModes(argv) {
  const i = argv.indexOf('--trust');
  const value = i >= 0 ? argv[i + 1] : 'both';
  if (value === 'both') return ['trusted', 'restricted'];
  if (value === 'trusted' || value === 'restricted') return [value];
  throw new Error(`--trust must be trusted, restricted or both (got ${value})`);
}

/** The --trust modes from the command line; a wrong value ends the process with a message. */
export function trustModesOrExit(argv) {
  try {
    return parseTrustModes(argv);
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
}

/** `fixture: false` leaves the integration suite's workspace settings out (a suite that writes its own). */
export function prepareWorkspace(trust, { fixture = true } = {}) {
  const workspace = tempDir(`ssh-tunnels-ws-${trust}-`);
  if (fixture && fs.existsSync(FIXTURE_WORKSPACE)) fs.cpSync(FIXTURE_WORKSPACE, workspace, { recursive: true });
  writeJson(path.join(workspace, '.vscode/ssh-tunnels-test.json'), { trust });
  return workspace;
}

/** Exits with a clear message when the bundles the runners load are missing. */
export function requireBuilt() {
  if (!fs.existsSync(TESTS) || !fs.existsSync(path.join(AGENT_TESTS, 'main.js')) || !fs.existsSync(path.join(API_TESTS, 'main.js'))) {
    console.error(`${path.relative(ROOT, TESTS)}, ${path.relative(ROOT, AGENT_TESTS)}/main.js or ${path.relative(ROOT, API_TESTS)}/main.js is missing: run npm run build:tests first`);
    process.exit(2);
  }
  if (!fs.existsSync(path.join(ROOT, 'dist/extension.js'))) {
    console.error('dist/extension.js is missing: run npm run build first');
    process.exit(2);
  }
}
