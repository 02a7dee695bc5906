// Races between processes that want the same fixed-port tunnel: exactly one serves it, and the
// others see it served by that one. Real processes, a real sshd.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TunnelInfo, TunnelSpec } from '../../src/engine';
import { freePort } from '../fixtures/sshd';
import { waitFor } from '../helpers/net';
import { PeersProcess } from '../helpers/peersProcess';
import { sshdWithEcho } from '../helpers/suite';

type Wanted = { owner?: TunnelInfo; servedBy?: string };

describe('peers: races for one tunnel', function () {
  this.timeout(90_000);
  const suite = sshdWithEcho();
  let dir: string;
  const running: PeersProcess[] = [];

  const startThree = () =>
    Promise.all(['api', 'web', 'docs'].map((folder) => PeersProcess.start({ servers: [suite.sshd.server('test')], dir, kind: 'window', folder }))).then((ps) => {
      running.push(...ps);
      return ps;
    });

  /** Exactly one owner; the others name it. */
  const oneOwner = (procs: PeersProcess[], results: Wanted[]): PeersProcess => {
    const owners = results.map((r, i) => (r.owner ? i : -1)).filter((i) => i >= 0);
    assert.equal(owners.length, 1, `owners: ${owners.length} (${JSON.stringify(results)})`);
    const owner = procs[owners[0]];
    results.forEach((r, i) => {
      if (i !== owners[0]) assert.equal(r.servedBy, owner.self.id, `process ${i} sees it served by ${r.servedBy}`);
    });
    return owner;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-'));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('three processes wanting the same tunnel at once: one owner, 50 times', async () => {
    const procs = await startThree();
    await Promise.all(procs.map((p) => p.call('ready')));
    for (const p of procs) await waitFor(async () => (await p.call<string[]>('peers')).length === 2, 2000, 'each to know the two others');
    const spec: TunnelSpec = { server: 'test', type: 'local', localPort: await freePort(), remoteHost: '127.0.0.1', remotePort: suite.echo.port };
    const started = Date.now();
    for (let round = 0; round < 50; round++) {
      const results = await Promise.all(procs.map((p) => p.call<Wanted>('want', { spec, waitMs: 5000 })));
      const owner = oneOwner(procs, results);
      await owner.call('close', { tunnelId: results.find((r) => r.owner)!.owner!.id });
      for (const p of procs) await waitFor(async () => (await p.call('serving', { spec })) === null, 2000, `round ${round}: the close seen by all`);
    }
    assert.ok(Date.now() - started < 60_000, `50 rounds took ${Date.now() - started} ms`);
  });

  it('three processes started together (or up to 150 ms apart), each wanting the tunnel once ready: one owner, each knows the two others', async () => {
    for (let round = 0; round < 6; round++) {
      const spec: TunnelSpec = { server: 'test', type: 'local', localPort: await freePort(), remoteHost: '127.0.0.1', remotePort: suite.echo.port };
      // Even rounds all at once; odd ones staggered, so that some find the tunnel in a hello and some learn of it later.
      const stagger = round % 2 === 0 ? [0, 0, 0] : [0, 1, 2].map(() => Math.floor(Math.random() * 150));
      const procs = await Promise.all(['api', 'web', 'docs'].map(async (folder, i) => {
        await new Promise((r) => setTimeout(r, stagger[i]));
        const p = await PeersProcess.start({ servers: [suite.sshd.server('test')], dir, kind: 'window', folder });
        running.push(p);
        return p;
      }));
      const results = await Promise.all(procs.map(async (p) => {
        await p.call('ready');
        return p.call<Wanted>('want', { spec, waitMs: 5000 });
      }));
      oneOwner(procs, results);
      // Connected to each other once, whoever connected first (a duplicate connection is dropped).
      for (const p of procs) assert.equal((await p.call<string[]>('peers')).length, 2);
      assert.equal(fs.readdirSync(dir).length, 3);
      await Promise.all(running.splice(0).map((p) => p.stop()));
      assert.deepEqual(fs.readdirSync(dir), [], 'no socket left once all ended');
    }
  });

  it('the owner killed: the two others race to take the tunnel over; one wins on the same port, the other sees it', async () => {
    for (let round = 0; round < 5; round++) {
      const spec: TunnelSpec = { server: 'test', type: 'local', localPort: await freePort(), remoteHost: '127.0.0.1', remotePort: suite.echo.port };
      const procs = await startThree();
      await Promise.all(procs.map((p) => p.call('ready')));
      const results = await Promise.all(procs.map((p) => p.call<Wanted>('want', { spec, waitMs: 5000 })));
      const owner = oneOwner(procs, results);
      const rest = procs.filter((p) => p !== owner);
      await Promise.all(rest.map((p) => p.call('takeOver')));
      const killedAt = Date.now();
      owner.kill('SIGKILL');
      await waitFor(() => rest.every((p) => p.takeovers.length === 1), 5000, 'both to try the takeover');
      const outcomes = rest.map((p) => p.takeovers[0]);
      assert.ok(outcomes.every((o) => !o.error), JSON.stringify(outcomes));
      const winners = outcomes.filter((o) => o.owner);
      assert.equal(winners.length, 1, JSON.stringify(outcomes));
      assert.equal(winners[0].owner!.localPort, spec.localPort);
      assert.ok(winners[0].at - killedAt < 3000, `taken over after ${winners[0].at - killedAt} ms`);
      const winner = rest[outcomes.indexOf(winners[0])];
      assert.equal(outcomes.find((o) => !o.owner)!.servedBy, winner.self.id);
      await Promise.all(running.splice(0).map((p) => p.stop()));
    }
  });
});
