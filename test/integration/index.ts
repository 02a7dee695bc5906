// The integration suite's entry: `run()` is called inside the extension host by the runners
// (test/runners/offline.mjs, electron.mjs); esbuild bundles every test/integration/*.ts to
// out/test/integration/*.js, so the specs sit next to this file.
//
// One test spans a window reload. The runners load this module again in the new extension
// host (the test payload is part of the window's URL), so the suite runs in two halves:
// 1. reload.before.js opens tunnels and writes RELOAD_MARKER; this module records the failures
//    so far in it and reloads the window (this run() never settles: its host goes away).
// 2. With the marker present: reload.after.js checks what came back, then every *.test.js runs;
//    the exit code counts both halves.
// A grep that matches no test of reload.before.js skips the reload. deactivate.last.js runs after
// every spec: it disposes the extension's manager.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import { readMarker, RELOAD_MARKER_NAME, writeMarker } from './reload.shared';

function newMocha(): Mocha {
  return new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
}

/** Runs the files; resolves with the number of tests run and failed. */
function runFiles(files: string[], grep: string | undefined): Promise<{ tests: number; failures: number }> {
  const mocha = newMocha();
  if (grep) mocha.grep(grep);
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve) => {
    let tests = 0;
    const runner = mocha.run((failures) => resolve({ tests, failures }));
    runner.on('test end', () => tests++);
  });
}

export async function run(): Promise<void> {
  const grep = process.env.SSH_TUNNELS_TEST_GREP || undefined;
  const specs = [...fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort(), 'deactivate.last.js'];
  const marker = readMarker();
  let failures = 0;
  if (!marker) {
    const before = await runFiles(['reload.before.js'], grep);
    if (before.tests > 0 && readMarker()) {
      writeMarker({ ...readMarker()!, failuresBefore: before.failures });
      console.log(`Reloading the window (${RELOAD_MARKER_NAME}); the suite goes on in the new extension host.`);
      await vscode.commands.executeCommand('workbench.action.reloadWindow');
      return new Promise<void>(() => undefined);
    }
    failures += before.failures;
    const rest = await runFiles(specs, grep);
    failures += rest.failures;
  } else {
    failures += marker.failuresBefore ?? 0;
    const after = await runFiles(['reload.after.js'], undefined);
    const rest = await runFiles(specs, grep);
    failures += after.failures + rest.failures;
  }
  if (failures > 0) throw new Error(`${failures} integration test(s) failed`);
}
