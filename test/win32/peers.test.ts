// One set of tunnels per person on Windows: two `up` processes meet over named pipes named by
// files in %LOCALAPPDATA%\ssh-tunnels\run; the second shows the first's tunnel as served by it, and
// takes it over when the first ends (Ctrl-C, then a hard kill), on the same port, data intact.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../fixtures/sshd';
import { echoRoundTrip } from '../helpers/net';
import { boxSuite, cli, HOME, stopWindowsProcesses, WinProcess } from './wine';

const RUN = path.join(HOME, 'AppData', 'Local', 'ssh-tunnels', 'run');

/** The pipes named in the runtime folder, by their file. */
function entries(): Record<string, string> {
  if (!fs.existsSync(RUN)) return {};
  return Object.fromEntries(fs.readdirSync(RUN).map((n) => [n, (JSON.parse(fs.readFileSync(path.join(RUN, n), 'utf8')) as { pipe: string }).pipe]));
}

describe('Windows: two ssh-tunnels up processes share a tunnel over named pipes', function () {
  this.timeout(90_000);
  stopWindowsProcesses();
  const suite = boxSuite();

  it('the second shows the tunnel served by the first, and takes it over when the first ends (Ctrl-C), then again when the next is killed', async () => {
    const port = await freePort();
    const forward = ['up', '-v', '--server', 'box', '-L', `${port}:127.0.0.1:${suite.echo.port}`];
    const listening = new RegExp(`open, listening on 127\\.0\\.0\\.1:${port}`, 'g');
    const first = cli(forward);
    await first.waitFor(listening);
    const second = cli(forward);
    const [, ownerPid] = await second.waitFor(/served by ssh-tunnels up \(pid (\d+)\)/);
    assert.match(second.text(), /peers: Connected to ssh-tunnels up \(pid \d+\), serving 1 tunnel/);
    // Each left a file naming its own pipe: the person's user name and a random part.
    const named = entries();
    assert.equal(Object.keys(named).length, 2, JSON.stringify(named));
    assert.ok(Object.keys(named).includes(`${ownerPid}.pipe`), JSON.stringify(named));
    for (const pipe of Object.values(named)) assert.match(pipe, /^\\\\\.\\pipe\\ssh-tunnels\.[^.]+\.[0-9a-f]{32}$/);
    assert.doesNotMatch(second.text(), /not shared|did not prove/);
    let through = await echoRoundTrip(port, 1024 * 1024);
    assert.equal(through.received, through.sent);

    // Ctrl-C in the first one's console: it closes its tunnel and says goodbye; the second takes over.
    assert.equal(await first.stop(), 0, first.text());
    await second.waitFor(new RegExp(`ssh-tunnels up \\(pid ${ownerPid}\\) (shut down|ended); taking the tunnel over`));
    await waitForMatches(second, listening, 1);
    through = await echoRoundTrip(port, 1024 * 1024);
    assert.equal(through.received, through.sent);
    assert.deepEqual(Object.keys(entries()).filter((n) => n === `${ownerPid}.pipe`), [], 'the first took its file away');

    // A third follows the second; the second is killed outright (no goodbye): the third takes over and removes its file.
    const third = cli(forward);
    const [, secondPid] = await third.waitFor(/served by ssh-tunnels up \(pid (\d+)\)/);
    await second.kill();
    await third.waitFor(new RegExp(`ssh-tunnels up \\(pid ${secondPid}\\) ended; taking the tunnel over`));
    await waitForMatches(third, listening, 1);
    through = await echoRoundTrip(port, 1024 * 1024);
    assert.equal(through.received, through.sent);
    await third.waitFor(new RegExp(`Removed the stale entry .*${secondPid}\\.pipe: its process \\(pid ${secondPid}\\) has ended`));
    assert.equal(await third.stop(), 0);
    assert.deepEqual(entries(), {}, 'nothing left in the folder');
  });
});

/** Waits until `pattern` (global) matches `count` times in its output. */
async function waitForMatches(p: WinProcess, pattern: RegExp, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((p.text().match(pattern) ?? []).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} of ${pattern}:\n${p.text()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
