// Main of the helper extension the runner puts beside SSH Tunnels for the API phase. Unlike the
// agent helper, its code is copied into its own folder: SSH Tunnels names the extension that calls
// its API from the call's stack, so the calls must come from this extension's files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';
import { driver } from './driver';

export function activate(): void {
  let queue: Promise<unknown> = Promise.resolve();
  const send = (line: string) => (queue = queue.then(() => driver.log(line)).catch(() => undefined));
  (Mocha.reporters.Base as unknown as { consoleLog: (...args: unknown[]) => void }).consoleLog = (...args) => send(format(...args));

  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  const grep = process.env.SSH_TUNNELS_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const file of fs.readdirSync(__dirname).sort()) if (file.endsWith('.test.js')) mocha.addFile(path.join(__dirname, file));
  try {
    mocha.run((failures) => void queue.then(() => driver.exit(failures ? 1 : 0)));
  } catch (err) {
    send(`the API suite did not start: ${err instanceof Error ? err.stack : String(err)}`);
    void queue.then(() => driver.exit(1));
  }
}

export function deactivate(): void {}
