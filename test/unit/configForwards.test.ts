import * as assert from 'node:assert/strict';
import type { ServerSource, TunnelSpec } from '../../src/engine';
import { CONFIG_FORWARD_PREFIX, configForwards, stoppedConfigForwards } from '../../src/ui/configForwards';
import { staticServers } from '../helpers/servers';

/** A server source that also reads forwards from an ssh config, as ServerRegistry does. */
function withForwards(specs: TunnelSpec[]): ServerSource & { tunnels(server?: string): TunnelSpec[] } {
  return { ...staticServers(), tunnels: (server) => specs.filter((s) => server === undefined || s.server === server) };
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

  it('a forward whose entry runs (found by its key, not by a port) is not listed as stopped', () => {
    const source = withForwards(forwards);
    const [l5432, d1080] = configForwards(source, 'db');
    const running = new Set([l5432.key]);
    assert.deepEqual(stoppedConfigForwards(source, (key) => running.has(key), 'db').map((f) => f.spec.type), ['dynamic', 'remote']);
    running.add(d1080.key);
    assert.deepEqual(stoppedConfigForwards(source, (key) => running.has(key), 'db').map((f) => f.spec.type), ['remote']);
    assert.deepEqual(stoppedConfigForwards(source, (key) => running.has(key), 'web').map((f) => f.spec.localPort), [8080], 'a key of another server is not this one');
  });

  it('forwards on socket files are told apart by their path', () => {
    const source = withForwards([
      { server: 'db', type: 'local', localPort: 0, localPath: '/tmp/a.sock', remoteHost: 'localhost', remotePort: 5432 },
      { server: 'db', type: 'local', localPort: 0, localPath: '/tmp/b.sock', remotePath: '/run/b.sock' },
      { server: 'db', type: 'remote', localPort: 3000, remotePort: 0, remotePath: '/tmp/app.sock' },
    ]);
    const keys = configForwards(source, 'db').map((f) => f.key);
    assert.equal(new Set(keys).size, 3);
    const running = new Set([keys[0], keys[2]]);
    assert.deepEqual(stoppedConfigForwards(source, (key) => running.has(key), 'db').map((f) => f.spec.localPath), ['/tmp/b.sock']);
  });

  it('a source without an ssh config has no forwards', () => {
    assert.deepEqual(configForwards(staticServers(), 'db'), []);
  });
});
