import * as assert from 'node:assert/strict';
import { parseTunnelSettings } from '../../src/config/tunnelSettings';
import { resolveSpec } from '../../src/engine';

describe('sshTunnels.tunnels entries with socket paths and SOCKS on the server', () => {
  it('reads localPath, remotePath and socks into the spec, keyed by where each listens', () => {
    const read = parseTunnelSettings([
      { server: 'db', type: 'local', localPath: '/tmp/db.sock', remoteHost: 'db.internal', remotePort: 5432 },
      { server: 'box', type: 'local', localPort: 2375, remotePath: '/var/run/docker.sock' },
      { server: 'box', type: 'remote', remotePath: '/tmp/app.sock', localPort: 3000 },
      { server: 'box', type: 'remote', remotePort: 1080, socks: true },
    ], false);
    assert.deepEqual(read.problems, []);
    const specs = read.tunnels.map((t) => t.spec);
    assert.deepEqual(specs[0], { server: 'db', type: 'local', name: undefined, localHost: undefined, localPort: 0, remoteHost: 'db.internal', remotePort: 5432, localPath: '/tmp/db.sock' });
    assert.deepEqual(specs[1], { server: 'box', type: 'local', name: undefined, localHost: undefined, localPort: 2375, remoteHost: undefined, remotePort: undefined, remotePath: '/var/run/docker.sock' });
    assert.equal(specs[2].remotePath, '/tmp/app.sock');
    assert.deepEqual([specs[3].socks, specs[3].remoteHost, specs[3].remotePort], [true, '127.0.0.1', 1080]);
    assert.deepEqual(read.tunnels.map((t) => t.key), ['db|local|/tmp/db.sock', 'box|local|127.0.0.1:2375', 'box|remote|/tmp/app.sock', 'box|remote|127.0.0.1:1080']);
    // Each is a spec the engine takes as it is.
    for (const spec of specs) assert.doesNotThrow(() => resolveSpec(spec), JSON.stringify(spec));
  });

  it('leaves the fingerprint of a port-only tunnel as it was (no restart after an update)', () => {
    const [t] = parseTunnelSettings([{ server: 'db', type: 'local', localPort: 5432, remotePort: 5432 }], false).tunnels;
    assert.equal(t.fingerprint, JSON.stringify({ server: 'db', type: 'local', localPort: 5432, remoteHost: 'localhost', remotePort: 5432 }));
  });
});
