// Which extension calls the API, from the call's stack: the first frame in another extension's
// folder (the deepest folder when they nest), never SSH Tunnels' own, whatever the frame's form.
import * as assert from 'node:assert/strict';
import { callerOf, currentStack, frameFile, type ExtensionFolder } from '../../src/ui/api/caller';

const SELF = 'tunnelworks.ssh-tunnels';
const extensions: ExtensionFolder[] = [
  { id: SELF, folder: '/home/me/.vscode/extensions/tunnelworks.ssh-tunnels-0.1.0' },
  { id: 'mtxr.sqltools', folder: '/home/me/.vscode/extensions/mtxr.sqltools-0.28.0', displayName: 'SQLTools' },
  { id: 'mtxr.sqltools-driver-pg', folder: '/home/me/.vscode/extensions/mtxr.sqltools-0.28.0/drivers/pg' },
  { id: 'ms-python.debugpy', folder: 'C:\\Users\\me\\.vscode\\extensions\\ms-python.debugpy-2025.1.0' },
];

describe('the API\'s caller, from the stack', () => {
  it('reads the file of each form of frame', () => {
    assert.equal(frameFile('    at open (/a/b/c.js:10:5)'), '/a/b/c.js');
    assert.equal(frameFile('    at /a/b/c.js:10:5'), '/a/b/c.js');
    assert.equal(frameFile('    at async Promise.all (index 0)'), undefined);
    assert.equal(frameFile('    at file:///a/b/c%20d.mjs:1:2'), '/a/b/c d.mjs');
    assert.equal(frameFile('    at Object.<anonymous> (C:\\x\\y.js:3:4)'), 'C:\\x\\y.js');
    assert.equal(frameFile('    at new Promise (<anonymous>)'), undefined);
    assert.equal(frameFile('Error'), undefined);
  });

  it('is the first frame outside SSH Tunnels that lies in an extension, the deepest folder winning', () => {
    const stack = [
      'Error',
      '    at currentStack (/home/me/.vscode/extensions/tunnelworks.ssh-tunnels-0.1.0/dist/extension.js:1:100)',
      '    at Object.openTunnel (/home/me/.vscode/extensions/tunnelworks.ssh-tunnels-0.1.0/dist/extension.js:1:200)',
      '    at connect (/home/me/.vscode/extensions/mtxr.sqltools-0.28.0/drivers/pg/out/index.js:5:7)',
      '    at run (/home/me/.vscode/extensions/mtxr.sqltools-0.28.0/out/extension.js:9:9)',
    ].join('\n');
    assert.equal(callerOf(stack, extensions, SELF, false)?.id, 'mtxr.sqltools-driver-pg');
    const direct = stack.replace('/drivers/pg/out/index.js', '/out/other.js');
    assert.equal(callerOf(direct, extensions, SELF, false)?.displayName, 'SQLTools');
  });

  it('skips frames of Node and of VS Code itself; none in an extension: unknown', () => {
    const stack = ['Error', '    at node:internal/process/task_queues:95:5', '    at /opt/vscode/out/vs/workbench/api/node/extensionHostProcess.js:1:1'].join('\n');
    assert.equal(callerOf(stack, extensions, SELF, false), undefined);
    // A folder whose name only starts like an extension's is not it.
    assert.equal(callerOf('    at x (/home/me/.vscode/extensions/mtxr.sqltools-0.28.0-evil/a.js:1:1)', extensions, SELF, false), undefined);
  });

  it('compares Windows paths without case', () => {
    const stack = '    at f (c:\\users\\ME\\.vscode\\extensions\\ms-python.debugpy-2025.1.0\\dist\\x.js:1:1)';
    assert.equal(callerOf(stack, extensions, SELF, true)?.id, 'ms-python.debugpy');
    assert.equal(callerOf(stack, extensions, SELF, false), undefined);
  });

  it('the stack of a call holds this file\'s frame (the extension host gives the same form)', () => {
    const here = (): string => currentStack();
    assert.ok(here().split('\n').some((l) => frameFile(l) === __filename), here());
    assert.equal(callerOf(here(), [{ id: 'test.me', folder: __dirname }], SELF)?.id, 'test.me');
  });
});
