// Main of the helper extension the runner puts beside SSH Tunnels for the agent phase: runs the
// agent-tool suite once the window has started, sends the reporter's lines and the exit code to the runner.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';
import { driver } from './driver';

export function activate(): void {
  // Lines go out one after another, so the runner prints them in order.
  let queue: Promise<unknown> = Promise.resolve();
  const send = (line: string) => (queue = queue.then(() => driver.log(line)).catch(() => undefined));
  // Mocha's reporters print through Base.consoleLog (the extension host's console cannot be replaced).
  (Mocha.reporters.Base as unknown as { consoleLog: (...args: unknown[]) => void }).consoleLog = (...args) => send(format(...args));

  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  const grep = process.env.SSH_TUNNELS_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const file of fs.readdirSync(__dirname).sort()) if (file.endsWith('.test.js')) mocha.addFile(path.join(__dirname, file));
  try {
    mocha.run((failures) => void queue.then(() => driver.exit(failures ? 1 : 0)));
  } catch (err) {
    send(`the agent suite did not start: ${err instanceof Error ? err.stack : String(err)}`);
    void queue.then(() => driver.exit(1));
  }
}

export function deactivate(): void {}
