import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { TunnelManager, type TunnelInfo, type TunnelSpec } from '../../src/engine';
import { TunnelCatalogue, type OpenFailure, type WantedTunnel } from '../../src/catalogue';
import { freePort } from '../fixtures/sshd';
import { ScriptedElsewhere } from '../helpers/elsewhere';
import { echoRoundTrip, waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';

/** A listener on a port, as another process serving a tunnel there holds it. */
async function hold(port: number): Promise<net.Server> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, resolve);
  });
  return server;
}

describe('catalogue: one model of the tunnels a process wants, and of who serves them', function () {
  this.timeout(60_000);
  const env = sshdWithEcho();
  let manager: TunnelManager;
  let catalogue: TunnelCatalogue;
  let closed: TunnelInfo[];
  let failures: OpenFailure[];
  const held: net.Server[] = [];

  const setup = (elsewhere?: ScriptedElsewhere) => {
    manager = new TunnelManager({ servers: staticServers(env.sshd.server('test')), reconnect: { maxAttempts: 0 } });
    catalogue = new TunnelCatalogue({ manager, peers: elsewhere });
    closed = [];
    failures = [];
    manager.onDidChangeTunnel((t) => t.state === 'closed' && closed.push(t));
    catalogue.onDidFailOpen((f) => failures.push(f));
  };
  afterEach(async () => {
    catalogue?.dispose();
    await manager?.dispose();
    for (const s of held.splice(0)) s.close();
  });

  const wanted = (key: string, localPort: number, autoStart = true, extra: Partial<TunnelSpec> = {}): WantedTunnel => {
    const spec: TunnelSpec = { server: 'test', type: 'local', localPort, remoteHost: '127.0.0.1', remotePort: env.echo.port, name: key, ...extra };
    return { key: `name:${key}`, source: 'settings', spec, fingerprint: JSON.stringify(spec), autoStart };
  };
  const runningId = (key: string): string => {
    const state = catalogue.get(key)?.state;
    assert.equal(state?.kind, 'running', `${key} is ${JSON.stringify(state)}`);
    return state.tunnelId;
  };

  describe('in one process', () => {
    beforeEach(() => setup());

    it('autoStart settings entries open; others wait stopped; a person\'s close keeps one stopped until its definition changes', async () => {
      const db = wanted('db', await freePort());
      const web = wanted('web', await freePort(), false);
      await catalogue.setWanted('settings', [db, web]);
      const id = runningId('name:db');
      assert.equal(catalogue.get('name:web')?.state.kind, 'stopped');
      assert.equal(catalogue.keyOf(id), 'name:db');

      await manager.closeTunnel(id); // the close command: a person's
      assert.deepEqual(catalogue.get('name:db')?.state, { kind: 'stopped', reason: 'person' });
      assert.equal(catalogue.get('name:db')?.personStopped, true);
      await catalogue.setWanted('settings', [db, web]);
      assert.equal(catalogue.get('name:db')?.state.kind, 'stopped', 'an unchanged definition stays stopped');

      const moved = wanted('db', await freePort());
      await catalogue.setWanted('settings', [moved, web]);
      const reopened = manager.getTunnel(runningId('name:db'))!;
      assert.equal(reopened.localPort, moved.spec.localPort);
      assert.equal(reopened.openedBy, 'settings');
    });

    it('an agent\'s close keeps it stopped too; a shutdown does not', async () => {
      const a = wanted('a', await freePort());
      const b = wanted('b', await freePort());
      await catalogue.setWanted('settings', [a, b]);
      await manager.closeTunnel(runningId('name:a'), 'agent');
      assert.equal(catalogue.get('name:a')?.personStopped, true);
      const bId = runningId('name:b');
      await manager.dispose();
      assert.deepEqual(catalogue.get('name:b')?.state, { kind: 'stopped', reason: 'shutdown' });
      assert.equal(catalogue.get('name:b')?.personStopped, false);
      assert.equal(closed.find((t) => t.id === bId)?.closeReason, 'shutdown');
    });

    it('an entry removed from the settings closes with the reason settings; a changed one restarts', async () => {
      const a = wanted('a', await freePort());
      const b = wanted('b', await freePort());
      await catalogue.setWanted('settings', [a, b]);
      const aId = runningId('name:a');
      const bId = runningId('name:b');
      const b2 = wanted('b', await freePort());
      await catalogue.setWanted('settings', [b2]);
      assert.equal(catalogue.get('name:a'), undefined);
      assert.equal(closed.find((t) => t.id === aId)?.closeReason, 'settings');
      assert.equal(closed.find((t) => t.id === bId)?.closeReason, 'settings');
      assert.equal(manager.getTunnel(runningId('name:b'))?.localPort, b2.spec.localPort);
    });

    it('restart reopens an entry from its definition (the old one closed as replaced); a person\'s tunnel on the ports it had', async () => {
      await catalogue.setWanted('settings', [wanted('a', await freePort())]);
      const before = runningId('name:a');
      const after = await catalogue.restart(before);
      assert.notEqual(after.id, before);
      assert.equal(runningId('name:a'), after.id);
      assert.equal(closed.find((t) => t.id === before)?.closeReason, 'replaced');
      assert.equal(catalogue.get('name:a')?.personStopped, false);

      const mine = (await catalogue.open({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port }, 'person')).here!;
      assert.equal(catalogue.get(`tunnel:${mine.id}`)?.source, 'person');
      const again = await catalogue.restart(mine.id);
      assert.equal(again.localPort, mine.localPort, 'the same port');
      assert.equal(again.nameGiven, false);
      assert.equal(catalogue.get(`tunnel:${mine.id}`), undefined, 'the closed one left the catalogue');
      assert.equal(catalogue.get(`tunnel:${again.id}`)?.state.kind, 'running');
    });

    it('an ssh config forward runs as its entry\'s tunnel, tracked by id: another tunnel on the same port is not it', async () => {
      const port = await freePort();
      const spec: TunnelSpec = { server: 'test', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: env.echo.port };
      const key = `sshConfig:test|local|127.0.0.1:${port}`;
      const other = await manager.createTunnel({ ...spec, openedBy: 'person' });
      assert.equal(catalogue.isRunning(key), false, 'a person\'s tunnel on that port is not the forward');
      await manager.closeTunnel(other.id);
      const info = await catalogue.startForward(key, spec);
      assert.equal(info.openedBy, 'sshConfig');
      assert.equal(catalogue.isRunning(key), true);
      assert.equal(catalogue.keyOf(info.id), key);
      await manager.closeTunnel(info.id);
      assert.equal(catalogue.isRunning(key), false);
    });

    it('adopt makes a person\'s tunnel the entry\'s; unadopt gives it back', async () => {
      const info = await manager.createTunnel({ server: 'test', type: 'local', localPort: await freePort(), remoteHost: '127.0.0.1', remotePort: env.echo.port, name: 'kept' });
      const entry = wanted('kept', info.localPort);
      catalogue.adopt(entry, info.id);
      assert.equal(manager.getTunnel(info.id)?.openedBy, 'settings');
      assert.equal(catalogue.get(`tunnel:${info.id}`), undefined);
      await catalogue.setWanted('settings', [entry]);
      assert.equal(runningId('name:kept'), info.id, 'the edit finds it running and leaves it');
      catalogue.unadopt('name:kept', info.id);
      assert.equal(manager.getTunnel(info.id)?.openedBy, 'person');
    });

    it('a tunnel a restore reopened is entered as restored; its restart keeps it a person\'s on its port, and a close removes it', async () => {
      const info = (await catalogue.open({ server: 'test', type: 'local', localPort: await freePort(), remoteHost: '127.0.0.1', remotePort: env.echo.port }, 'restore')).here!;
      assert.deepEqual(catalogue.entries({ source: 'restore' }).map((e) => e.key), [`tunnel:${info.id}`]);
      assert.equal(catalogue.keyOf(info.id), `tunnel:${info.id}`);
      const restarted = await catalogue.restart(info.id);
      assert.equal(closed.find((t) => t.id === info.id)?.closeReason, 'replaced');
      assert.equal(restarted.localPort, info.localPort);
      assert.equal(restarted.openedBy, 'person');
      await manager.closeTunnel(restarted.id, 'person');
      assert.deepEqual(catalogue.entries({ source: 'restore' }), []);
    });

    it('ownerActions: another process\'s close is a person\'s (the entry stays stopped); its restart is the tree\'s', async () => {
      await catalogue.setWanted('settings', [wanted('a', await freePort()), wanted('b', await freePort())]);
      const actions = catalogue.ownerActions();
      const a = runningId('name:a');
      assert.equal(actions.settingsKey?.(a), 'name:a');
      await actions.close(a);
      assert.equal(catalogue.get('name:a')?.personStopped, true);
      assert.equal(closed.find((t) => t.id === a)?.closeReason, 'person');
      const b = runningId('name:b');
      const restarted = await actions.restart(b);
      assert.equal(runningId('name:b'), restarted.id);
    });

    it('a port taken by some program, with no other process to serve it, fails and says so once', async () => {
      const port = await freePort();
      held.push(await hold(port));
      await catalogue.setWanted('settings', [wanted('busy', port)]);
      const state = catalogue.get('name:busy')?.state;
      assert.equal(state?.kind, 'failed');
      assert.equal(state.code, 'PORT_IN_USE');
      assert.equal(failures.length, 1);
    });
  });

  describe('with other processes', () => {
    let elsewhere: ScriptedElsewhere;
    beforeEach(() => {
      elsewhere = new ScriptedElsewhere();
      setup(elsewhere);
    });
    const other = ScriptedElsewhere.peer('other-1', 'window', 'api');

    it('an autoStart entry another process serves is shown served there: nothing opened, no failure', async () => {
      const db = wanted('db', await freePort());
      elsewhere.serve(other, { ...db.spec, localPort: db.spec.localPort });
      await catalogue.setWanted('settings', [db]);
      const state = catalogue.get('name:db')?.state;
      assert.equal(state?.kind, 'elsewhere');
      assert.equal(state.served.peer.id, 'other-1');
      assert.deepEqual(manager.listTunnels(), []);
      assert.deepEqual(failures, []);
    });

    it('a port found taken, then announced by another process within the wait: served there, no failure', async () => {
      const db = wanted('db', await freePort());
      held.push(await hold(db.spec.localPort));
      setTimeout(() => elsewhere.serve(other, { ...db.spec, localPort: db.spec.localPort }), 300);
      await catalogue.setWanted('settings', [db]);
      assert.equal(catalogue.get('name:db')?.state.kind, 'elsewhere');
      assert.deepEqual(failures, []);
    });

    it('a port taken by some program that no process announces: it fails after the wait, once', async () => {
      const db = wanted('db', await freePort());
      held.push(await hold(db.spec.localPort));
      const t0 = Date.now();
      await catalogue.setWanted('settings', [db]);
      assert.ok(Date.now() - t0 >= 1900, 'waited for an announcement');
      assert.equal(catalogue.get('name:db')?.state.kind, 'failed');
      assert.equal(failures.length, 1);
    });

    it('the owner ends: the entry is taken over on the same port and carries data; one a person stopped is not', async () => {
      const db = wanted('db', await freePort());
      const off = wanted('off', await freePort());
      const owner = await hold(db.spec.localPort);
      held.push(owner);
      elsewhere.serve(other, { ...db.spec, localPort: db.spec.localPort });
      await catalogue.setWanted('settings', [db, off]);
      assert.equal(catalogue.get('name:db')?.state.kind, 'elsewhere');
      await catalogue.stop('name:off');
      elsewhere.serve(other, { ...off.spec, localPort: off.spec.localPort });

      await new Promise<void>((resolve) => owner.close(() => resolve()));
      const t0 = Date.now();
      elsewhere.lose(other);
      await waitFor(() => catalogue.get('name:db')?.state.kind === 'running', 3000, 'taken over');
      const info = manager.getTunnel(runningId('name:db'))!;
      assert.equal(info.localPort, db.spec.localPort);
      assert.ok(Date.now() - t0 < 3000);
      const r = await echoRoundTrip(info.localPort, 10_000);
      assert.equal(r.received, r.sent);
      assert.equal(catalogue.get('name:off')?.state.kind, 'stopped', 'a person\'s stop holds');
      assert.equal(manager.listTunnels().length, 1);
    });

    it('two takers of one lost tunnel: the port picks one, the other shows it served by the winner', async () => {
      const db = wanted('db', await freePort());
      const owner = await hold(db.spec.localPort);
      elsewhere.serve(other, { ...db.spec, localPort: db.spec.localPort });
      await catalogue.setWanted('settings', [db]);
      // The other taker wins the port first and announces it a moment later.
      await new Promise<void>((resolve) => owner.close(() => resolve()));
      held.push(await hold(db.spec.localPort));
      const winner = ScriptedElsewhere.peer('winner-2', 'up');
      setTimeout(() => elsewhere.serve(winner, { ...db.spec, localPort: db.spec.localPort }), 200);
      elsewhere.lose(other);
      await waitFor(() => {
        const s = catalogue.get('name:db')?.state;
        return s?.kind === 'elsewhere' && s.served.peer.id === 'winner-2';
      }, 4000, 'served by the winner');
      assert.deepEqual(manager.listTunnels(), []);
      assert.deepEqual(failures, []);
    });

    it('an entry served elsewhere whose definition changes is looked for afresh: not served as it is now, it opens here', async () => {
      const db = wanted('db', await freePort());
      elsewhere.serve(other, { ...db.spec, localPort: db.spec.localPort });
      await catalogue.setWanted('settings', [db]);
      assert.equal(catalogue.get('name:db')?.state.kind, 'elsewhere');
      const moved = wanted('db', await freePort());
      await catalogue.setWanted('settings', [moved]);
      assert.equal(manager.getTunnel(runningId('name:db'))?.localPort, moved.spec.localPort);
    });

    it('a tunnel served elsewhere that its owner closes shows stopped here, and is not reopened', async () => {
      const db = wanted('db', await freePort());
      const served = elsewhere.serve(other, { ...db.spec, localPort: db.spec.localPort });
      await catalogue.setWanted('settings', [db]);
      assert.equal(catalogue.get('name:db')?.state.kind, 'elsewhere');
      // The owner's person closed it: gone from its list, but the process lives on (no loss).
      elsewhere.unserve(other.id, served.info.id);
      assert.equal(catalogue.get('name:db')?.state.kind, 'stopped');
      assert.deepEqual(manager.listTunnels(), []);
    });
  });
});
