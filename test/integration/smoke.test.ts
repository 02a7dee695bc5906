// Placeholder spec from the infrastructure helper (see index.ts): proves the runner loads the
// extension under development into a real extension host, in the trust mode it asked for.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID } from '../helpers/vscode';

function requestedTrust(): string | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) return undefined;
  const file = path.join(folder.uri.fsPath, '.vscode', 'ssh-tunnels-test.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { trust?: string }).trust : undefined;
}

describe('smoke', () => {
  it('activates the extension under development', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
    await ext.activate();
    assert.strictEqual(ext.isActive, true);
  });

  it('runs in the trust mode the runner asked for', () => {
    const trust = requestedTrust();
    assert.ok(trust === 'trusted' || trust === 'restricted', `no trust mode file in the workspace (got ${trust})`);
    assert.strictEqual(process.env.SSH_TUNNELS_TEST_TRUST, trust, 'env var and workspace file disagree');
    assert.strictEqual(vscode.workspace.isTrusted, trust === 'trusted');
  });
});
