// What the helper extensions' mains do (test/agent/main.ts, test/api/main.ts): run the *.test.js
// of a folder with mocha once the window has started, sending the reporter's lines and the exit
// code to the runner, which prints them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';

export interface RunnerLine {
  log(line: string): Promise<unknown>;
  exit(code: number): Promise<unknown>;
}

export function runSuiteIn(dir: string, runner: RunnerLine, what: string): void {
  // Lines go out one after another, so the runner prints them in order.
  let queue: Promise<unknown> = Promise.resolve();
  const send = (line: string) => (queue = queue.then(() => runner.log(line)).catch(() => undefined));
  // Mocha's reporters print through Base.consoleLog (the extension host's console cannot be replaced).
  (Mocha.reporters.Base as unknown as { consoleLog: (...args: unknown[]) => void }).consoleLog = (...args) => send(format(...args));

  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  const grep = process.env.SSH_TUNNELS_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const file of fs.readdirSync(dir).sort()) if (file.endsWith('.test.js')) mocha.addFile(path.join(dir, file));
  try {
    mocha.run((failures) => void queue.then(() => runner.exit(failures ? 1 : 0)));
  } catch (err) {
    send(`the ${what} did not start: ${err instanceof Error ? err.stack : String(err)}`);
    void queue.then(() => runner.exit(1));
  }
}
