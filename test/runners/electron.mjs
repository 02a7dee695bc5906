// `npm run test:electron`: the same integration suite under desktop VS Code, downloaded by
// @vscode/test-electron into .vscode-test/ (needs access to update.code.visualstudio.com, so it is
// not part of `npm test` on machines that reach only the npm registry; there, `npm run
// test:integration` runs the suite in code-server instead).
// Usage: node test/runners/electron.mjs [--trust trusted|restricted|both]   Env: VSCODE_VERSION (default stable).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { ROOT, baseUserSettings, tempDir, writeJson } from './codeServer.mjs';
import { TESTS, prepareWorkspace, requireBuilt, trustModesOrExit } from './workspace.mjs';

const modes = trustModesOrExit(process.argv.slice(2));
requireBuilt();

let failed = 0;
for (const trust of modes) {
  console.log(`\n=== integration suite in VS Code desktop, ${trust} workspace ===`);
  const workspace = prepareWorkspace(trust);
  const userDataDir = tempDir('ssh-tunnels-electron-user-');
  writeJson(path.join(userDataDir, 'User/settings.json'), baseUserSettings({ trusted: trust === 'trusted' }));
  try {
    await runTests({
      version: process.env.VSCODE_VERSION ?? 'stable',
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: TESTS,
      extensionTestsEnv: { SSH_TUNNELS_TEST_TRUST: trust, SSH_TUNNELS_TEST_GREP: process.env.SSH_TUNNELS_TEST_GREP ?? '' },
      launchArgs: [workspace, '--disable-extensions', '--user-data-dir', userDataDir, '--skip-welcome', '--skip-release-notes'],
    });
    console.log(`=== ${trust}: passed ===`);
  } catch (err) {
    failed++;
    console.error(`=== ${trust}: FAILED (${err instanceof Error ? err.message : err}) ===`);
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}
process.exit(failed ? 1 : 0);
