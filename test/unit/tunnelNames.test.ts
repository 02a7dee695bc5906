// Default tunnel names: short as ssh's notation, with the ports really bound (port 0 asks for
// any), distinct within a manager; a given name is kept as given and says so (nameGiven).
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { defaultName, describeForward, type TunnelInfo } from '../../src/engine';
import { sshdSuite } from '../helpers/suite';

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('default tunnel names', function () {
  this.timeout(60_000);
  const env = sshdSuite();

  it('are short: the loopback bind address is left out, as ssh\'s -L/-R/-D notation does; others are kept', () => {
    assert.equal(defaultName('local', '127.0.0.1', 5432, 'db', 5432), 'L 5432 → db:5432');
    assert.equal(defaultName('local', 'localhost', 5432, 'db', 5432), 'L 5432 → db:5432');
    assert.equal(defaultName('local', '0.0.0.0', 5432, '::1', 5432), 'L 0.0.0.0:5432 → [::1]:5432');
    assert.equal(defaultName('dynamic', '127.0.0.1', 1080), 'D 1080');
    assert.equal(defaultName('dynamic', '::1', 1080), 'D [::1]:1080');
    assert.equal(defaultName('remote', '127.0.0.1', 3000, '127.0.0.1', 8080), 'R 8080 → 127.0.0.1:3000');
    assert.equal(defaultName('remote', '127.0.0.1', 0, '0.0.0.0', 1080, { socks: true }), 'R SOCKS 0.0.0.0:1080');
    assert.equal(defaultName('local', '127.0.0.1', 0, undefined, 0, { localPath: '/tmp/db.sock', remotePath: '/run/db.sock' }), 'L /tmp/db.sock → /run/db.sock');
    // The tree's description keeps every address.
    assert.equal(describeForward('local', '127.0.0.1', 5432, 'db', 5432), 'L 127.0.0.1:5432 → db:5432');
  });

  it('use the bound port of -L 0: two forwards to the same target get distinct names, each with its own port', async () => {
    const seen: TunnelInfo[] = [];
    env.manager.onDidChangeTunnel((info) => seen.push(info));
    const spec = { server: 'test', type: 'local' as const, localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port };
    const [a, b] = await Promise.all([env.manager.createTunnel(spec), env.manager.createTunnel(spec)]);
    assert.notEqual(a.localPort, b.localPort);
    assert.equal(a.name, `L ${a.localPort} → 127.0.0.1:${env.echo.port}`);
    assert.equal(b.name, `L ${b.localPort} → 127.0.0.1:${env.echo.port}`);
    assert.equal(a.nameGiven, false);
    // Every event from the bind on (the tree, the command) carries the bound port, never 0.
    const active = seen.filter((i) => i.state === 'active');
    assert.equal(active.length, 2);
    for (const info of active) assert.equal(info.name, `L ${info.localPort} → 127.0.0.1:${env.echo.port}`);
    assert.deepEqual(env.manager.listTunnels().map((t) => t.name).sort(), [a.name, b.name].sort());
  });

  it('use the port the server bound for -R 0 and -R SOCKS 0', async () => {
    const r = await env.manager.createTunnel({ server: 'test', type: 'remote', remoteHost: '127.0.0.1', remotePort: 0, localHost: '127.0.0.1', localPort: env.echo.port });
    assert.ok(r.remotePort! > 0);
    assert.equal(r.name, `R ${r.remotePort} → 127.0.0.1:${env.echo.port}`);
    const socks = await env.manager.createTunnel({ server: 'test', type: 'remote', remoteHost: '127.0.0.1', remotePort: 0, localPort: 0, socks: true });
    assert.equal(socks.name, `R SOCKS ${socks.remotePort}`);
  });

  it('identical default names are made distinct with (2); a given name is kept as given', async () => {
    const port = await freePort();
    // A person named one tunnel exactly as another's default name would be.
    const named = await env.manager.createTunnel({ server: 'test', type: 'dynamic', localPort: 0, name: `D ${port}` });
    assert.equal(named.name, `D ${port}`);
    assert.equal(named.nameGiven, true);
    const unnamed = await env.manager.createTunnel({ server: 'test', type: 'dynamic', localPort: port });
    assert.equal(unnamed.name, `D ${port} (2)`);
    assert.equal(unnamed.nameGiven, false);
    // A third with a given name that is taken keeps it: only default names are changed.
    const again = await env.manager.createTunnel({ server: 'test', type: 'dynamic', localPort: 0, name: `D ${port}` });
    assert.equal(again.name, `D ${port}`);
    assert.equal(env.manager.getTunnel(unnamed.id)!.name, `D ${port} (2)`, 'a name, once distinct, stays');
  });

  it('a rename keeps the tunnel and its connections; no name gives back the default one', async () => {
    const t = await env.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port });
    const socket = net.connect(t.localPort, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('before');
    await new Promise((r) => socket.once('data', r));
    const events: TunnelInfo[] = [];
    env.manager.onDidChangeTunnel((info) => info.id === t.id && events.push(info));
    const renamed = env.manager.renameTunnel(t.id, 'web');
    assert.deepEqual([renamed.name, renamed.nameGiven, renamed.id, renamed.localPort], ['web', true, t.id, t.localPort]);
    assert.ok(events.some((e) => e.name === 'web'), 'the rename was not told');
    // The same connection still carries data.
    socket.write('after');
    const echoed = await new Promise<string>((r) => socket.once('data', (d: Buffer) => r(d.toString())));
    assert.equal(echoed, 'after');
    const back = env.manager.renameTunnel(t.id, '  ');
    assert.deepEqual([back.name, back.nameGiven], [`L ${t.localPort} → 127.0.0.1:${env.echo.port}`, false]);
    socket.destroy();
    assert.throws(() => env.manager.renameTunnel('t999', 'x'), /No open tunnel has id "t999"/);
  });
});
