import * as assert from 'node:assert/strict';
import type { ServerSource, TunnelInfo, TunnelSpec } from '../../src/engine';
import { CONFIG_FORWARD_PREFIX, configForwards, stoppedConfigForwards } from '../../src/ui/configForwards';
import { staticServers } from '../helpers/servers';

/** A server source that also reads forwards from an ssh config, as ServerRegistry does. */
function withForwards(specs: TunnelSpec[]): ServerSource & { tunnels(server?: string): TunnelSpec[] } {
  return { ...staticServers(), tunnels: (server) => specs.filter((s) => server === undefined || s.server === server) };
}

function running(spec: Partial<TunnelInfo>): TunnelInfo {
  return {
    id: 't1', name: 'x', nameGiven: true, server: 'db', type: 'local', state: 'active', localHost: '127.0.0.1', localPort: 0,
    stats: { bytesIn: 0, bytesOut: 0, connectionsTotal: 0, connectionsActive: 0, connectionsWaiting: 0, errors: 0 },
    createdAt: 0, lastActivity: 0, openedBy: 'person', ...spec,
  };
}

describe('ssh config forwards for the tree', () => {
  const forwards: TunnelSpec[] = [
    { server: 'db', type: 'local', localPort: 5432, remoteHost: 'localhost', remotePort: 5432 },
    { server: 'db', type: 'dynamic', localPort: 1080 },
    { server: 'db', type: 'remote', localHost: 'localhost', localPort: 3000, remoteHost: '127.0.0.1', remotePort: 9000 },
    { server: 'web', type: 'local', localPort: 8080, remoteHost: 'localhost', remotePort: 80 },
  ];

  it('lists the forwards of one server, each with a stable key of its own', () => {
    const source = withForwards(forwards);
    const db = configForwards(source, 'db');
    assert.equal(db.length, 3);
    assert.ok(db.every((f) => f.key.startsWith(CONFIG_FORWARD_PREFIX)));
    assert.equal(new Set(db.map((f) => f.key)).size, 3);
    assert.deepEqual(configForwards(withForwards(forwards), 'db').map((f) => f.key), db.map((f) => f.key));
    assert.equal(configForwards(source).length, 4);
  });

  it('a forward already running (same server, type and listening port) is not listed as stopped', () => {
    const source = withForwards(forwards);
    const open = [
      running({ type: 'local', localPort: 5432, openedBy: 'sshConfig' }),
      running({ type: 'remote', localPort: 3000, remotePort: 9000 }),
      running({ type: 'dynamic', localPort: 1081 }),
      running({ server: 'web', type: 'dynamic', localPort: 8080 }),
    ];
    assert.deepEqual(stoppedConfigForwards(source, open, 'db').map((f) => f.spec.type), ['dynamic']);
    assert.deepEqual(stoppedConfigForwards(source, open, 'web').map((f) => f.spec.localPort), [8080], 'another type on that port is another tunnel');
  });

  it('forwards on socket files are told apart by their path, and found running by it', () => {
    const source = withForwards([
      { server: 'db', type: 'local', localPort: 0, localPath: '/tmp/a.sock', remoteHost: 'localhost', remotePort: 5432 },
      { server: 'db', type: 'local', localPort: 0, localPath: '/tmp/b.sock', remotePath: '/run/b.sock' },
      { server: 'db', type: 'remote', localPort: 3000, remotePort: 0, remotePath: '/tmp/app.sock' },
    ]);
    assert.equal(new Set(configForwards(source, 'db').map((f) => f.key)).size, 3);
    const open = [running({ type: 'local', localPath: '/tmp/a.sock' }), running({ type: 'remote', localPort: 3000, remotePort: 0, remotePath: '/tmp/app.sock' })];
    assert.deepEqual(stoppedConfigForwards(source, open, 'db').map((f) => f.spec.localPath), ['/tmp/b.sock']);
  });

  it('a source without an ssh config has no forwards', () => {
    assert.deepEqual(configForwards(staticServers(), 'db'), []);
  });
});
