import * as assert from 'node:assert/strict';
import { parseTunnelSettings } from '../../src/config/tunnelSettings';
import { address } from '../../src/cli/table';
import { resolveSpec, type TunnelInfo } from '../../src/engine';
import { tunnelLine, usage } from '../../src/tools/format';

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

describe('socket and reverse-SOCKS tunnels in the words of the command and the agent tools', () => {
  const info = (extra: Partial<TunnelInfo>): TunnelInfo => ({
    id: 't1', name: 'x', nameGiven: true, server: 'box', type: 'local', state: 'active', localHost: '127.0.0.1', localPort: 0,
    stats: { bytesIn: 0, bytesOut: 0, connectionsTotal: 0, connectionsActive: 0, connectionsWaiting: 0, errors: 0 },
    createdAt: 0, lastActivity: 0, openedBy: 'person', ...extra,
  });

  it('names the socket files and the SOCKS proxy, never a port 0', () => {
    const docker = info({ localPort: 2375, remotePath: '/var/run/docker.sock' });
    assert.equal(address(docker), '127.0.0.1:2375 → /var/run/docker.sock');
    assert.equal(usage(docker), 'Connect to 127.0.0.1:2375 to reach the socket /var/run/docker.sock as box sees it.');
    const sock = info({ localPath: '/tmp/db.sock', remoteHost: 'db', remotePort: 5432 });
    assert.equal(usage(sock), 'Connect to the socket /tmp/db.sock to reach db:5432 as box sees it.');
    assert.equal(tunnelLine(sock), 't1 "x" (local, /tmp/db.sock → db:5432, server box)');
    const reverse = info({ type: 'remote', remoteHost: '127.0.0.1', remotePort: 1080, socks: true });
    assert.equal(address(reverse), 'socks5h://127.0.0.1:1080 on box → this machine');
    assert.equal(usage(reverse), 'On box, use the SOCKS5 proxy socks5h://127.0.0.1:1080; it reaches any address this machine can.');
    const app = info({ type: 'remote', remotePath: '/tmp/app.sock', localPort: 3000 });
    assert.equal(usage(app), 'On box, connect to the socket /tmp/app.sock to reach 127.0.0.1:3000 on this machine.');
  });
});
