// Tunnels the catalogue lends to holders (other extensions, tasks, launch variables): shared when
// one serves the request already (here, at a peer), opened as an extension's otherwise, and closed
// (a settings entry: stopped again) only when the last holder lets go and nobody else wants it.
import * as assert from 'node:assert/strict';
import { TunnelError, TunnelManager, type TunnelInfo, type TunnelSpec } from '../../src/engine';
import { TunnelCatalogue, type WantedTunnel } from '../../src/catalogue';
import { freePort } from '../fixtures/sshd';
import { ScriptedElsewhere } from '../helpers/elsewhere';
import { bound, echoRoundTrip, waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';

describe('catalogue holds: tunnels lent to extensions and tasks, counted', function () {
  this.timeout(60_000);
  const env = sshdWithEcho();
  let manager: TunnelManager;
  let catalogue: TunnelCatalogue;
  let elsewhere: ScriptedElsewhere;
  let closed: TunnelInfo[];

  beforeEach(() => {
    manager = new TunnelManager({ servers: staticServers(env.sshd.server('test')), reconnect: { maxAttempts: 0 } });
    elsewhere = new ScriptedElsewhere();
    catalogue = new TunnelCatalogue({ manager, peers: elsewhere });
    closed = [];
    manager.onDidChangeTunnel((t) => t.state === 'closed' && closed.push(t));
  });
  afterEach(async () => {
    catalogue?.dispose();
    await manager?.dispose();
  });

  const echoSpec = (extra: Partial<TunnelSpec> = {}): TunnelSpec => ({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port, ...extra });
  const settingsEntry = (name: string, localPort: number, autoStart: boolean): WantedTunnel => {
    const spec = echoSpec({ localPort, name });
    return { key: `name:${name}`, source: 'settings', spec, fingerprint: JSON.stringify(spec), autoStart };
  };
  const hereId = (h: { at: { here?: string } }) => {
    assert.ok(h.at.here, `held at ${JSON.stringify(h.at)}`);
    return h.at.here;
  };

  it('a spec opens one tunnel as an extension\'s; a second request shares it; it closes (reason extension) with the last holder', async () => {
    const a = await catalogue.hold({ spec: echoSpec(), by: 'extension one.a' });
    const id = hereId(a);
    const info = a.current()!.info;
    assert.equal(info.state, 'active');
    assert.equal(info.openedBy, 'extension');
    assert.equal(catalogue.get(catalogue.keyOf(id)!)?.source, 'extension');
    await echoRoundTrip(info.localPort, 1000);

    const b = await catalogue.hold({ spec: echoSpec(), by: 'extension two.b' });
    assert.equal(hereId(b), id, 'shared, not opened twice');
    assert.equal(manager.listTunnels().length, 1);
    assert.deepEqual(catalogue.holders(id).sort(), ['extension one.a', 'extension two.b']);

    await a.release();
    await a.release(); // a second release changes nothing
    assert.equal(manager.getTunnel(id)?.state, 'active', 'still held by b');
    await b.release();
    assert.equal(manager.getTunnel(id), undefined);
    assert.equal(closed.find((t) => t.id === id)?.closeReason, 'extension');
    assert.equal(catalogue.keyOf(id), undefined);
    assert.equal(await bound(info.localPort), false);
    assert.equal(b.current(), undefined);
  });

  it('requests made at once open one tunnel', async () => {
    const holds = await Promise.all([1, 2, 3].map((n) => catalogue.hold({ spec: echoSpec(), by: `extension n.${n}` })));
    assert.equal(new Set(holds.map(hereId)).size, 1);
    assert.equal(manager.listTunnels().length, 1);
    await Promise.all(holds.map((h) => h.release()));
    assert.deepEqual(manager.listTunnels(), []);
  });

  it('a fixed port asked for is shared only by the tunnel listening there; another far end on it is refused with the engine\'s code', async () => {
    const port = await freePort();
    const person = (await catalogue.open(echoSpec({ localPort: port }), 'person')).here!;
    const other = await catalogue.hold({ spec: echoSpec({ localPort: await freePort() }), by: 'extension x.y' });
    assert.notEqual(hereId(other), person.id, 'another port: another tunnel');
    await assert.rejects(catalogue.hold({ spec: echoSpec({ localPort: port, remotePort: env.echo.port + 1 }), by: 'extension x.y' }), (err: unknown) => err instanceof TunnelError && err.code === 'PORT_IN_USE' && /is taken by the tunnel /.test(err.message));
    await other.release();
  });

  it('a person\'s tunnel that serves the request is shared and stays open when its holders let go', async () => {
    const person = (await catalogue.open(echoSpec({ name: 'mine' }), 'person')).here!;
    const held = await catalogue.hold({ spec: echoSpec(), by: 'extension x.y' });
    assert.equal(hereId(held), person.id);
    await held.release();
    assert.equal(manager.getTunnel(person.id)?.state, 'active');
    assert.equal(manager.getTunnel(person.id)?.openedBy, 'person');
  });

  it('a stopped tunnel of the settings starts for its holder and stops again after; one a person stopped stays stopped as theirs', async () => {
    const db = settingsEntry('db', await freePort(), false);
    await catalogue.setWanted('settings', [db]);
    assert.equal(catalogue.get(db.key)?.state.kind, 'stopped');
    const held = await catalogue.hold({ key: db.key, by: 'task "db"' });
    const id = hereId(held);
    assert.deepEqual(catalogue.get(db.key)?.state, { kind: 'running', tunnelId: id });
    assert.equal(held.current()?.info.openedBy, 'settings');
    await held.release();
    assert.deepEqual(catalogue.get(db.key)?.state, { kind: 'stopped', reason: 'extension' });
    assert.equal(catalogue.get(db.key)?.personStopped, false);

    // autoStart, stopped by a person: started for the holder, then stopped by the person again.
    const web = settingsEntry('web', await freePort(), true);
    await catalogue.setWanted('settings', [db, web]);
    await catalogue.stop(web.key, 'person');
    const again = await catalogue.hold({ key: web.key, by: 'task "web"' });
    assert.equal(catalogue.get(web.key)?.state.kind, 'running');
    await again.release();
    assert.equal(catalogue.get(web.key)?.state.kind, 'stopped');
    assert.equal(catalogue.get(web.key)?.personStopped, true);
    await catalogue.setWanted('settings', [db, web]);
    assert.equal(catalogue.get(web.key)?.state.kind, 'stopped', 'not reopened by the next reading of the settings');
  });

  it('a running tunnel of the settings is shared and keeps running after', async () => {
    const db = settingsEntry('db', await freePort(), true);
    await catalogue.setWanted('settings', [db]);
    const state = catalogue.get(db.key)?.state;
    assert.equal(state?.kind, 'running');
    const held = await catalogue.hold({ key: db.key, by: 'extension x.y' });
    assert.equal(hereId(held), state.tunnelId);
    await held.release();
    assert.deepEqual(catalogue.get(db.key)?.state, state);
  });

  it('a tunnel another process serves is shared, at that process; letting go asks nothing of it', async () => {
    const port = await freePort();
    const peer = ScriptedElsewhere.peer('peer-1', 'up');
    const served = elsewhere.serve(peer, { ...echoSpec(), localPort: port });
    const fixed = await catalogue.hold({ spec: echoSpec({ localPort: port }), by: 'extension x.y' });
    assert.deepEqual(fixed.at, { peer: 'peer-1', id: served.info.id });
    assert.equal(fixed.current()?.peer?.id, 'peer-1');
    const any = await catalogue.hold({ spec: echoSpec(), by: 'extension x.z' });
    assert.deepEqual(any.at, fixed.at, 'any port with the same far end: the same tunnel');
    assert.deepEqual(manager.listTunnels(), [], 'nothing opened here');
    await fixed.release();
    await any.release();
    assert.deepEqual(elsewhere.asked, []);
    elsewhere.unserve('peer-1', served.info.id);
    const after = await catalogue.hold({ spec: echoSpec(), by: 'extension x.y' });
    assert.ok(after.at.here, 'once the peer stopped serving it, one opens here');
    await after.release();
  });

  it('a provisional holder (a launch variable) gives way to the first firm one (the task), which closes it', async () => {
    const variable = await catalogue.hold({ spec: echoSpec(), by: 'launch variable', provisional: true });
    const id = hereId(variable);
    const task = await catalogue.hold({ spec: echoSpec(), by: 'task "inspect"' });
    assert.equal(hereId(task), id);
    assert.deepEqual(catalogue.holders(id), ['task "inspect"']);
    assert.equal(variable.released, true, 'given way');
    assert.equal(variable.opened.info.id, id, 'what it was given stays readable');
    await variable.release(); // its owner letting go later changes nothing
    assert.equal(manager.getTunnel(id)?.state, 'active');
    await task.release();
    assert.equal(manager.getTunnel(id), undefined, 'the task was its last holder');
  });

  it('a provisional holder keeps nothing open that someone else opened or holds', async () => {
    const person = (await catalogue.open(echoSpec(), 'person')).here!;
    const onPerson = await catalogue.hold({ spec: echoSpec(), by: 'launch variable', provisional: true });
    assert.equal(onPerson.opened.info.id, person.id);
    assert.equal(onPerson.released, true);
    assert.deepEqual(catalogue.holders(person.id), []);

    const task = await catalogue.hold({ spec: echoSpec({ remoteHost: 'localhost' }), by: 'task "t"' });
    const onTask = await catalogue.hold({ spec: echoSpec({ remoteHost: 'localhost' }), by: 'launch variable', provisional: true });
    assert.equal(onTask.opened.info.id, hereId(task));
    assert.equal(onTask.released, true);
    await task.release();
    assert.equal(manager.getTunnel(hereId(task)), undefined, 'closed with the task, the variable keeping nothing');
  });

  it('a restart moves the holders to the new tunnel; a tunnel kept in the settings meanwhile is not closed by them', async () => {
    const held = await catalogue.hold({ spec: echoSpec(), by: 'extension x.y' });
    const first = hereId(held);
    let whileRestarting: string | undefined;
    const watch = manager.onDidChangeTunnel((t) => t.id === first && t.state === 'closed' && (whileRestarting = held.current()?.info.state));
    const restarted = await catalogue.restart(first);
    watch.dispose();
    assert.equal(whileRestarting, 'connecting', 'between the old tunnel and the new one, the holder sees it connecting, not gone');
    assert.notEqual(restarted.id, first);
    assert.equal(held.at.here, restarted.id);
    assert.equal(held.current()?.info.openedBy, 'extension');

    const spec = echoSpec({ localPort: restarted.localPort, name: 'kept' });
    catalogue.adopt({ key: 'name:kept', source: 'settings', spec, fingerprint: JSON.stringify(spec), autoStart: true }, restarted.id);
    await held.release();
    assert.equal(manager.getTunnel(restarted.id)?.state, 'active', 'the settings want it now');
  });

  it('a held tunnel a person closes leaves its holders with nothing; their release changes nothing', async () => {
    const held = await catalogue.hold({ spec: echoSpec(), by: 'extension x.y' });
    await manager.closeTunnel(hereId(held), 'person');
    assert.equal(held.current(), undefined);
    await held.release();
    const again = await catalogue.hold({ spec: echoSpec(), by: 'extension x.y' });
    assert.notEqual(hereId(again), hereId(held), 'a new request opens a new one');
    await again.release();
  });

  it('releaseAll lets go of one holder\'s holds only', async () => {
    const a = await catalogue.hold({ spec: echoSpec(), by: 'extension a.a' });
    const b = await catalogue.hold({ spec: echoSpec({ name: 'b-only', localPort: await freePort() }), by: 'extension b.b' });
    const shared = await catalogue.hold({ spec: echoSpec(), by: 'extension b.b' });
    assert.equal(await catalogue.releaseAll('extension b.b'), 2);
    assert.equal(manager.getTunnel(hereId(b)), undefined);
    assert.equal(manager.getTunnel(hereId(a))?.state, 'active', 'a still holds the shared one');
    assert.equal(shared.released, true);
    assert.equal(await Promise.race([shared.whenReleased.then(() => 'told'), new Promise((r) => setTimeout(() => r('not told'), 1000))]), 'told');
    assert.equal(shared.current(), undefined, 'a released hold sees nothing');
    assert.equal(a.current()?.info.state, 'active');
    await a.release();
    await waitFor(() => manager.listTunnels().length === 0);
  });

  it('a request that cannot open rejects with the engine\'s code and holds nothing', async () => {
    await assert.rejects(catalogue.hold({ spec: { ...echoSpec(), server: 'nope' }, by: 'extension x.y' }), (err: unknown) => err instanceof TunnelError && err.code === 'UNKNOWN_SERVER');
    await assert.rejects(catalogue.hold({ key: 'name:nothing', by: 'extension x.y' }), (err: unknown) => err instanceof TunnelError && err.code === 'INVALID_SPEC');
    assert.deepEqual(manager.listTunnels(), []);
  });
});
