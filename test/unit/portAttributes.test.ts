// The per-tunnel attributes of sshTunnels.tunnels, named as VS Code's remote.portsAttributes
// names them (label, protocol, onForward, requireLocalPort) with watchRemotePort, read with clear
// warnings; and requireLocalPort false through the front door: a busy port opens the next one.
import * as assert from 'node:assert/strict';
import { FrontDoor, TunnelCatalogue, type MovedPort } from '../../src/catalogue';
import { parseTunnelSettings } from '../../src/config/tunnelSettings';
import { TunnelError, TunnelManager } from '../../src/engine';
import { freePort } from '../fixtures/sshd';
import { startListener } from '../helpers/listeners';
import { echoRoundTrip, waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';

describe('settings: a tunnel\'s attributes (VS Code\'s remote.portsAttributes names)', () => {
  const base = { server: 'db', localPort: 8080, remotePort: 8080 };

  it('protocol, onForward, requireLocalPort and watchRemotePort are read; label names the tunnel as name does', () => {
    const read = parseTunnelSettings([{ ...base, label: 'App', protocol: 'https', onForward: 'openBrowserOnce', requireLocalPort: false, watchRemotePort: true }], false);
    assert.deepEqual(read.problems, []);
    const [t] = read.tunnels;
    assert.equal(t.spec.name, 'App');
    assert.equal(t.key, 'name:App');
    assert.deepEqual(t.attributes, { protocol: 'https', onForward: 'openBrowserOnce', requireLocalPort: false });
    assert.equal(t.spec.watchRemotePort, true, 'watching is the engine\'s: it is in the spec (a change restarts)');
    // Without them the fingerprint is what it was: entries people already have do not restart.
    const plain = parseTunnelSettings([base], false).tunnels[0];
    assert.equal(plain.fingerprint, JSON.stringify({ server: 'db', type: 'local', localPort: 8080, remoteHost: 'localhost', remotePort: 8080 }));
    assert.deepEqual(plain.attributes, {});
  });

  it('a wrong value is a warning naming the one it probably meant; the tunnel is kept without it', () => {
    const read = parseTunnelSettings([{ ...base, name: 'web', protocol: 'htps', onForward: 'openBrowseronce', requireLocalPort: 'no', onForwrd: 'notify' }], false);
    assert.equal(read.tunnels.length, 1);
    assert.deepEqual(read.tunnels[0].attributes, {});
    assert.deepEqual(read.problems, [
      'sshTunnels.tunnels[0] (web): unknown field "onForwrd" (did you mean "onForward"?); ignored, the entry is used without it.',
      'sshTunnels.tunnels[0] (web): protocol must be one of http, https; got "htps" (did you mean "https"?); ignored.',
      'sshTunnels.tunnels[0] (web): onForward must be one of notify, openBrowser, openBrowserOnce, openPreview, silent; got "openBrowseronce" (did you mean "openBrowserOnce"?); ignored.',
      'sshTunnels.tunnels[0] (web): requireLocalPort must be true or false; got "no"; ignored.',
    ]);
  });

  it('what only a -L tunnel has (a page here, a target there) is refused elsewhere with why; name and label both: the name wins, said', () => {
    const read = parseTunnelSettings([
      { server: 'db', type: 'dynamic', localPort: 1080, protocol: 'http', watchRemotePort: true, name: 'socks' },
      { ...base, name: 'a', label: 'b' },
    ], false);
    assert.deepEqual(read.tunnels.map((t) => [t.spec.name, t.attributes, t.spec.watchRemotePort]), [['socks', {}, undefined], ['a', {}, undefined]]);
    assert.deepEqual(read.problems, [
      'sshTunnels.tunnels[0] (socks): watchRemotePort is for local (-L) tunnels, whose target is on the server\'s side; ignored.',
      'sshTunnels.tunnels[0] (socks): protocol opens a web page on this machine\'s end, which only a local (-L) tunnel has; ignored.',
      'sshTunnels.tunnels[1] (a): name and label are two words for one thing (label is VS Code\'s); the name "a" is used.',
    ]);
  });
});

describe('requireLocalPort false: a busy local port opens the next free one, and says who held it', function () {
  this.timeout(60_000);
  const suite = sshdWithEcho();
  let manager: TunnelManager;
  beforeEach(() => {
    manager = new TunnelManager({ servers: staticServers(suite.sshd.server('test')) });
  });
  afterEach(() => manager.dispose());

  it('through the front door: the tunnel listens on the next port, carries data, and `busy` names the holder', async () => {
    const port = await freePort();
    const holder = await startListener('127.0.0.1', port);
    try {
      const spec = { server: 'test', type: 'local' as const, localPort: port, remoteHost: '127.0.0.1', remotePort: suite.echo.port };
      const door = new FrontDoor(manager);
      await assert.rejects(door.open(spec, 'person'), (err: TunnelError) => err.code === 'PORT_IN_USE', 'by default a busy port is an error');
      const opened = await door.open(spec, 'person', { requireLocalPort: false });
      assert.ok(opened.here && opened.here.localPort > port && opened.here.localPort <= port + 20, `opened on ${opened.here?.localPort}`);
      assert.match(opened.busy!.message, new RegExp(`^Local port ${port} on 127\\.0\\.0\\.1 is held by node \\(pid \\d+\\)`));
      const trip = await echoRoundTrip(opened.here.localPort, 4096);
      assert.equal(trip.received, trip.sent);
    } finally {
      await holder.stop();
    }
  });

  it('a settings entry with requireLocalPort false opens on the next port, and the catalogue tells (onDidMovePort)', async () => {
    const port = await freePort();
    const holder = await startListener('127.0.0.1', port);
    const catalogue = new TunnelCatalogue({ manager });
    const moved: MovedPort[] = [];
    catalogue.onDidMovePort((m) => moved.push(m));
    try {
      const [t] = parseTunnelSettings([{ server: 'test', name: 'web', localPort: port, remoteHost: '127.0.0.1', remotePort: suite.echo.port, autoStart: true, requireLocalPort: false }], false).tunnels;
      await catalogue.setWanted('settings', [{ key: t.key, source: 'settings', spec: t.spec, fingerprint: t.fingerprint, autoStart: true, requireLocalPort: false }]);
      await waitFor(() => moved.length === 1, 10_000, 'the move told');
      assert.equal(moved[0].entry.key, 'name:web');
      assert.ok(moved[0].info.localPort > port);
      assert.match(moved[0].busy.message, /is held by node \(pid \d+\)/);
      assert.equal(catalogue.get('name:web')!.state.kind, 'running');
    } finally {
      catalogue.dispose();
      await holder.stop();
    }
  });
});
