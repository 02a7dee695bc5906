// Test module of the second window (folder "web") of the two-window suite: runs the specs in order
// (the takeover first: the rest starts from the tunnel this window then serves).
import * as path from 'node:path';
import Mocha from 'mocha';

const SPECS = ['takeover.test.js', 'beside.test.js'];

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  const grep = process.env.SSH_TUNNELS_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const spec of SPECS) mocha.addFile(path.join(__dirname, spec));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures ? reject(new Error(`${failures} two-window test(s) failed`)) : resolve()));
  });
}
