import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allowFolder, readFolderSettings } from '../../src/cli/folderAllow';
import { createCliHost } from '../../src/cli/host';
import { validateServerSettings } from '../../src/config/servers';
import { parseTunnelSettings } from '../../src/config/tunnelSettings';
import { address } from '../../src/cli/table';
import { resolveSpec, type TunnelInfo } from '../../src/engine';
import { tunnelLine, usage } from '../../src/tools/format';
import { contributedSettings } from '../helpers/settingsSchema';

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

describe('sshTunnels.tunnels entries get the field checks of server entries', () => {
  it('an unknown field is a warning with "did you mean", worded as for servers, and the entry is kept', () => {
    const read = parseTunnelSettings([
      { server: 'db', name: 'pg', localPort: 5432, remotePort: 5432, autostart: true, colour: 'red' },
    ], true);
    assert.deepEqual(read.problems, [
      'sshTunnels.tunnels[0] (pg): unknown field "autostart" (did you mean "autoStart"?); ignored, the entry is used without it.',
      'sshTunnels.tunnels[0] (pg): unknown field "colour"; ignored, the entry is used without it.',
    ]);
    assert.deepEqual(read.tunnels.map((t) => [t.spec.name, t.spec.remotePort, t.autoStart]), [['pg', 5432, false]]);
    // One wording for both lists: the server entry's warning differs only in where it points.
    const server = validateServerSettings([{ host: 'db', prot: 22 }]).warnings[0];
    assert.equal(server.replace('sshTunnels.servers[0] (db)', 'X').replace('"prot" (did you mean "port"?)', 'F'),
      read.problems[0].replace('sshTunnels.tunnels[0] (pg)', 'X').replace('"autostart" (did you mean "autoStart"?)', 'F'));
  });

  it('a missing field is named alone, with the misspelling that was probably meant for it', () => {
    const read = parseTunnelSettings([
      { server: 'db', name: 'web', localPort: 8080, remoteHost: 'app', remotPort: 80 },
      { server: 'db', type: 'remote', remotePort: 9000, locaPort: 3000 },
      { sever: 'db', remotePort: 80 },
      { server: 'db', type: 'remote' },
    ], true);
    assert.deepEqual(read.problems, [
      'sshTunnels.tunnels[0] (web): remotePort is missing ("remotPort" looks like a misspelling of it); the tunnel is left out until it is set.',
      'sshTunnels.tunnels[1]: localPort is missing ("locaPort" looks like a misspelling of it); the tunnel is left out until it is set.',
      'sshTunnels.tunnels[2]: server is missing ("sever" looks like a misspelling of it); the tunnel is left out until it is set.',
      'sshTunnels.tunnels[3]: remotePort is missing; localPort is missing; the tunnel is left out until they are set.',
    ]);
    assert.doesNotMatch(read.problems.join('\n'), /remoteHost/);
    assert.deepEqual(read.tunnels, []);
  });

  it('a value that is not an entry, or a type that does not exist, is refused in the words used for servers', () => {
    const read = parseTunnelSettings([{ server: 'db', type: 'locl', remotePort: 80 }, 'db:80', { server: 7, remotePort: 80 }], true);
    assert.deepEqual(read.problems, [
      'sshTunnels.tunnels[0]: type must be local, remote or dynamic; got "locl".',
      'sshTunnels.tunnels[1] must be an object like { "server": "db", "localPort": 5432, "remotePort": 5432 }; got "db:80".',
      'sshTunnels.tunnels[2]: server must be the name of a server; got 7.',
    ]);
    assert.deepEqual(read.tunnels, []);
  });

  it('leaves fields that are not needed alone: remotePath for remotePort, socks and localPath for localPort, dynamic for both', () => {
    const read = parseTunnelSettings([
      { server: 'db', localPort: 2375, remotePath: '/var/run/docker.sock' },
      { server: 'db', type: 'remote', remotePort: 1080, socks: true },
      { server: 'db', type: 'remote', remotePort: 8080, localPath: '/tmp/app.sock' },
      { server: 'db', type: 'dynamic' },
    ], true);
    assert.deepEqual(read.problems, []);
    assert.equal(read.tunnels.length, 4);
  });

  it('knows every field of the settings schema (no "unknown field" for a documented one)', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as {
      contributes: { configuration: unknown };
    };
    const schema = contributedSettings<{ items: { properties: Record<string, unknown> } }>(manifest)['sshTunnels.tunnels'].items.properties;
    assert.ok('remotePath' in schema && 'autoStart' in schema);
    const entry = { ...Object.fromEntries(Object.keys(schema).map((k) => [k, undefined])), server: 'db', remotePort: 80 };
    assert.deepEqual(parseTunnelSettings([entry], true).problems, []);
  });

  it('reaches `ssh-tunnels up` and `mcp`: the command\'s host lists the tunnel warnings with the servers\'', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-tunnel-fields-'));
    try {
      fs.mkdirSync(path.join(dir, '.vscode'));
      fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({
        'sshTunnels.servers': [{ host: 'db', hostName: '127.0.0.1', prot: 2222 }],
        'sshTunnels.tunnels': [
          { server: 'db', name: 'pg', localPort: 0, remotePort: 5432, autoStrat: true },
          { server: 'db', name: 'web', localPort: 0, remoteHost: 'app', remotPort: 80 },
        ],
      }));
      fs.writeFileSync(path.join(dir, 'ssh_config'), '');
      // The folder is allowed first, in a store of the test's own, as `ssh-tunnels allow DIR` does.
      const dataHome = process.env.XDG_DATA_HOME;
      process.env.XDG_DATA_HOME = path.join(dir, 'data');
      allowFolder(readFolderSettings(dir));
      const host = await createCliHost({ workspace: dir, sshConfig: path.join(dir, 'ssh_config'), log: () => undefined }).finally(() => {
        if (dataHome === undefined) delete process.env.XDG_DATA_HOME;
        else process.env.XDG_DATA_HOME = dataHome;
      });
      try {
        assert.deepEqual(host.configured.map((t) => t.spec.name), ['pg']);
        assert.deepEqual(host.problems(), [
          'sshTunnels.tunnels[0] (pg): unknown field "autoStrat" (did you mean "autoStart"?); ignored, the entry is used without it.',
          'sshTunnels.tunnels[1] (web): remotePort is missing ("remotPort" looks like a misspelling of it); the tunnel is left out until it is set.',
          'sshTunnels.servers[0] (db): unknown field "prot" (did you mean "port"?); ignored, the entry is used without it.',
        ]);
      } finally {
        await host.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
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
