// sshTunnels.servers entries take proxyCommand and streamLocalBindUnlink as ~/.ssh/config does:
// checked, merged over a config host (ProxyCommand and ProxyJump replace each other), and acted on.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ServerRegistry, validateServerSettings } from '../../src/config/servers';
import { TunnelManager } from '../../src/engine';
import { echoRoundTrip } from '../helpers/net';
import { clientsOf } from '../helpers/processes';
import { contributedSettings } from '../helpers/settingsSchema';
import { sshdWithEcho } from '../helpers/suite';

const env = { home: '/home/tester', localUser: 'tester' };
const packageJson = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as {
  contributes: { configuration: unknown };
};

describe('sshTunnels.servers: proxyCommand and streamLocalBindUnlink', function () {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-proxy-settings-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('are accepted and kept as given', () => {
    const v = validateServerSettings([{ host: 'ssm', proxyCommand: 'aws ssm start-session --target %h', streamLocalBindUnlink: true }]);
    assert.deepEqual(v.errors, []);
    assert.deepEqual(v.warnings, []);
    assert.deepEqual(v.servers, [{ alias: 'ssm', proxyCommand: 'aws ssm start-session --target %h', streamLocalBindUnlink: true }]);
  });

  it('a bad value drops that entry with what the field must be', () => {
    const v = validateServerSettings([
      { host: 'a', proxyCommand: 5 },
      { host: 'b', proxyCommand: '  ' },
      { host: 'c', streamLocalBindUnlink: 'yes' },
    ]);
    assert.deepEqual(v.servers, []);
    assert.deepEqual(v.errors, [
      'sshTunnels.servers[0] (a): proxyCommand must be a command line whose stdin/stdout carry the connection, e.g. "nc %h %p"; got 5.',
      'sshTunnels.servers[1] (b): proxyCommand must be a command line whose stdin/stdout carry the connection, e.g. "nc %h %p"; got "  ".',
      'sshTunnels.servers[2] (c): streamLocalBindUnlink must be true or false; got "yes".',
    ]);
  });

  it('an entry with both proxyJump and proxyCommand works and warns which one is used', () => {
    const v = validateServerSettings([{ host: 'x', proxyJump: 'bastion', proxyCommand: 'nc %h %p' }]);
    assert.equal(v.servers.length, 1);
    assert.deepEqual(v.warnings, [
      'sshTunnels.servers[0] (x): sets both proxyJump and proxyCommand; the connection goes through proxyJump and proxyCommand is ignored. Remove one of them.',
    ]);
  });

  it("a proxyCommand in settings replaces the config's ProxyJump, and a proxyJump its ProxyCommand", () => {
    const configFile = path.join(dir, 'config');
    fs.writeFileSync(configFile, 'Host viaJump\n  ProxyJump bastion\n  User me\nHost viaCommand\n  ProxyCommand nc %h %p\n  User me\nHost keep\n  ProxyJump bastion\n');
    const reg = new ServerRegistry({
      configPath: configFile,
      env,
      settings: [
        { host: 'viaJump', proxyCommand: 'aws ssm start-session --target %h' },
        { host: 'viaCommand', proxyJump: 'bastion' },
        { host: 'keep', port: 2200 },
      ],
    });
    assert.deepEqual(reg.get('viaJump'), { alias: 'viaJump', user: 'me', proxyCommand: 'aws ssm start-session --target %h' });
    assert.deepEqual(reg.get('viaCommand'), { alias: 'viaCommand', user: 'me', proxyJump: 'bastion' });
    assert.deepEqual(reg.get('keep'), { alias: 'keep', proxyJump: 'bastion', port: 2200 }, 'an entry setting neither keeps the file\'s');
  });

  it('every field of the settings schema is one the checks know (no "unknown field" for a documented one)', () => {
    const schema = contributedSettings<{ items: { properties: Record<string, unknown> } }>(packageJson)['sshTunnels.servers'].items.properties;
    assert.ok('proxyCommand' in schema && 'streamLocalBindUnlink' in schema);
    const v = validateServerSettings([Object.fromEntries(Object.keys(schema).map((k) => [k, undefined]))]);
    // An undefined value is absent to the checks, but its key is still looked up as a field.
    assert.deepEqual(v.warnings.filter((w) => w.includes('unknown field')), []);
  });
});

describe('a server from settings with proxyCommand, through a real sshd', function () {
  this.timeout(60_000);
  const suite = sshdWithEcho();
  let manager: TunnelManager | undefined;
  afterEach(async () => {
    await manager?.dispose();
    manager = undefined;
  });

  it('"nc %h %p" carries the connection: %h and %p expanded, data through', async () => {
    const logs: string[] = [];
    const settings = [suite.sshd.settingsEntry('viaNc', { proxyCommand: 'nc %h %p' })];
    assert.deepEqual(validateServerSettings(settings).errors, []);
    manager = new TunnelManager({
      servers: new ServerRegistry({ configPath: null, settings }),
      reconnect: { maxAttempts: 0 },
      log: (m) => logs.push(m),
    });
    const info = await manager.createTunnel({ server: 'viaNc', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port });
    assert.ok(logs.includes(`viaNc: running ProxyCommand nc 127.0.0.1 ${suite.sshd.port}`), logs.join('\n'));
    const result = await echoRoundTrip(info.localPort, 256 * 1024);
    assert.equal(result.received, result.sent);
    assert.deepEqual(clientsOf(suite.sshd.port).map((c) => c.process), ['nc'], 'nc, not this process, holds the TCP connection to sshd');
  });
});
