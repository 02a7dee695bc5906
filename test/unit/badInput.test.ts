import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelError, TunnelManager, type TunnelSpec } from '../../src/engine';
import { canConnect, freePort, newKeyPair, SshdFixture } from '../fixtures/sshd';
import { connect, echoRoundTrip, readAll, startEchoServer, waitFor } from '../helpers/net';
import { rejection } from '../helpers/rejection';
import { staticServers } from '../helpers/servers';

/** Runs `fn`, expecting a TunnelError with this code, and returns its message. */
async function refusal(code: string, fn: () => Promise<unknown>): Promise<string> {
  const err = await rejection(fn, TunnelError);
  assert.equal(err.code, code, err.message);
  return err.message;
}

describe('bad input: each refusal says what to change, and disturbs nothing else', function () {
  this.timeout(60_000);
  let sshd: SshdFixture;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let manager: TunnelManager;

  before(async () => {
    echo = await startEchoServer();
    // Only the echo port may be opened through this server.
    sshd = await SshdFixture.start({ extraConfig: [`PermitOpen 127.0.0.1:${echo.port}`] });
  });
  after(async () => {
    await echo?.close();
    await sshd?.stop();
  });
  beforeEach(() => {
    manager = new TunnelManager({
      servers: staticServers(sshd.server('test'), sshd.server('staging')),
      reconnect: { maxAttempts: 0 },
    });
  });
  afterEach(async () => {
    await manager.dispose();
  });

  const local = (extra: Partial<TunnelSpec> = {}): TunnelSpec => ({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port, ...extra });
  /** Nothing was created and no SSH connection was opened. */
  const untouched = () => {
    assert.deepEqual(manager.listTunnels(), []);
    assert.equal(manager.serverStatus('test').state, 'disconnected');
  };

  describe('spec validation (before anything connects)', () => {
    it('an unknown type lists the valid types', async () => {
      const message = await refusal('INVALID_SPEC', () => manager.createTunnel(local({ type: 'sideways' as never })));
      assert.equal(message, 'Unknown tunnel type "sideways": use one of local, remote, dynamic.');
      untouched();
    });

    for (const [value, shown] of [
      [80.5, '80.5'],
      [-1, '-1'],
      [65536, '65536'],
      [Number.NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [null, 'null'],
      ['http', '"http"'],
    ] as const) {
      it(`port ${shown} is refused for localPort and remotePort`, async () => {
        const a = await refusal('INVALID_SPEC', () => manager.createTunnel(local({ localPort: value as number })));
        assert.equal(a, `localPort must be a whole number from 0 to 65535 (0 picks a free port); got ${shown}.`);
        const b = await refusal('INVALID_SPEC', () => manager.createTunnel(local({ remotePort: value as number })));
        assert.equal(b, `remotePort must be a whole number from 0 to 65535 (0 picks a free port); got ${shown}.`);
        untouched();
      });
    }

    it('local and remote tunnels need remoteHost and remotePort, and the refusal names only what is missing', async () => {
      for (const type of ['local', 'remote'] as const) {
        const noHost = await refusal('INVALID_SPEC', () => manager.createTunnel({ server: 'test', type, localPort: 8080, remotePort: 80 }));
        assert.equal(noHost, `A ${type} tunnel needs remoteHost (or remotePath, a Unix socket on the server); it is missing.`);
        const noPort = await refusal('INVALID_SPEC', () => manager.createTunnel({ server: 'test', type, localPort: 8080, remoteHost: 'db' }));
        assert.equal(noPort, `A ${type} tunnel needs remotePort (or remotePath, a Unix socket on the server); it is missing.`);
        const neither = await refusal('INVALID_SPEC', () => manager.createTunnel({ server: 'test', type, localPort: 8080 }));
        assert.equal(neither, `A ${type} tunnel needs remoteHost and remotePort (or remotePath, a Unix socket on the server); they are missing.`);
      }
      untouched();
    });

    it('a dynamic tunnel takes no remote fields', async () => {
      for (const extra of [{ remoteHost: 'db' }, { remotePort: 5432 }, { remoteHost: 'db', remotePort: 5432 }]) {
        const message = await refusal('INVALID_SPEC', () => manager.createTunnel({ server: 'test', type: 'dynamic', localPort: 0, ...extra }));
        assert.equal(message, 'A dynamic (SOCKS) tunnel takes no remoteHost, remotePort or remotePath: the SOCKS client names each target.');
      }
      untouched();
    });

    it('socket paths and socks: only where they mean something', async () => {
      const cases: [TunnelSpec, string][] = [
        [{ server: 'test', type: 'remote', remotePort: 0, socks: true, localPath: '/tmp/x.sock', localPort: 0 }, 'A reverse SOCKS tunnel (socks: true) listens on a server port; it takes no localPath or remotePath.'],
        [{ server: 'test', type: 'remote', socks: true, localPort: 0 }, 'A reverse SOCKS tunnel needs remotePort: the port the server listens on.'],
        [{ server: 'test', type: 'remote', remotePort: 1080, socks: true, localPort: 8080 }, 'localPort must be 0 (or left out) when socks is true; got 8080.'],
        [{ server: 'test', type: 'local', socks: true, localPort: 0, remoteHost: 'db', remotePort: 5432 }, 'socks is for remote tunnels; for a local SOCKS proxy use a dynamic tunnel.'],
        [{ server: 'test', type: 'dynamic', socks: true, localPort: 0 }, 'socks is for remote tunnels (a SOCKS proxy on the server); a dynamic tunnel is a SOCKS proxy already.'],
        [{ server: 'test', type: 'remote', localPort: 0, remoteHost: '127.0.0.1', remotePort: 0, socks: 'yes' as unknown as boolean }, 'socks must be true or false; got "yes".'],
        [{ server: 'test', type: 'local', localPath: '', localPort: 0, remoteHost: 'db', remotePort: 1 }, 'localPath must be the path of a Unix socket; got "".'],
        [{ server: 'test', type: 'dynamic', localPath: '/tmp/socks.sock', localPort: 0 }, 'A dynamic (SOCKS) tunnel listens on a port (localHost:localPort); localPath is not supported for it.'],
      ];
      for (const [spec, expected] of cases) assert.equal(await refusal('INVALID_SPEC', () => manager.createTunnel(spec)), expected);
      untouched();
    });

    it('an unknown server name lists the existing names, with no fuzzy matching', async () => {
      // "tset" is one transposition away from "test": it must not be picked, nor suggested as a guess.
      const message = await refusal('UNKNOWN_SERVER', () => manager.createTunnel(local({ server: 'tset' })));
      assert.equal(message, 'Unknown server "tset". Known servers: test, staging.');
      untouched();
      const empty = new TunnelManager({ servers: staticServers() });
      const none = await refusal('UNKNOWN_SERVER', () => empty.createTunnel(local({ server: 'x' })));
      assert.equal(none, 'Unknown server "x". No servers are configured yet.');
      await empty.dispose();
    });
  });

  describe('a busy local port', () => {
    it('names the port and a free one nearby; the other tunnels keep working', async () => {
      const other = await manager.createTunnel(local());
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const busy = (blocker.address() as net.AddressInfo).port;
      try {
        const message = await refusal('PORT_IN_USE', () => manager.createTunnel(local({ localPort: busy })));
        const m = new RegExp(`^Local port (\\d+) on 127\\.0\\.0\\.1 is held by this program \\(pid ${process.pid}\\)\\. Port (\\d+) is free\\.$`).exec(message);
        assert.ok(m, message);
        assert.equal(Number(m[1]), busy);
        const suggested = Number(m[2]);
        assert.ok(suggested > busy && suggested <= busy + 20, `suggestion ${suggested} is near ${busy}`);
        assert.equal(await canConnect('127.0.0.1', suggested), false, 'the suggested port is really free');
        // A port taken by another tunnel is refused the same way, naming that tunnel.
        const taken = await refusal('PORT_IN_USE', () => manager.createTunnel(local({ localPort: other.localPort })));
        assert.match(taken, new RegExp(`^Local port ${other.localPort} on 127\\.0\\.0\\.1 is held by the tunnel .* here\\.`));
        // Nothing else moved: one tunnel, still active, still carrying data.
        assert.deepEqual(manager.listTunnels().map((t) => [t.id, t.state]), [[other.id, 'active']]);
        const r = await echoRoundTrip(other.localPort, 200_000);
        assert.equal(r.received, r.sent);
        assert.equal(manager.getTunnel(other.id)!.stats.errors, 0);
      } finally {
        blocker.close();
      }
    });
  });

  describe('refusals from the server', () => {
    it('a channel the server refuses (PermitOpen) closes that connection, counts an error and keeps the tunnel up', async () => {
      const forbidden = await startEchoServer();
      try {
        const bad = await manager.createTunnel(local({ remotePort: forbidden.port }));
        const good = await manager.createTunnel(local());
        const socket = await connect(bad.localPort);
        socket.write('anyone there?');
        const got = await readAll(socket);
        assert.equal(got.length, 0);
        await waitFor(() => manager.getTunnel(bad.id)!.stats.connectionsActive === 0, 5000, 'released');
        const t = manager.getTunnel(bad.id)!;
        assert.equal(t.state, 'active');
        assert.equal(t.stats.errors, 1);
        assert.equal(t.stats.connectionsTotal, 1);
        assert.equal(
          t.lastError,
          `test could not open 127.0.0.1:${forbidden.port}: administratively prohibited (the server forbids this forward: AllowTcpForwarding or PermitOpen): open failed`,
        );
        assert.equal(forbidden.connections(), 0, 'the forbidden service was never reached');
        // Other connections on the same SSH connection work.
        const r = await echoRoundTrip(good.localPort, 100_000);
        assert.equal(r.received, r.sent);
        assert.equal(manager.serverStatus('test').state, 'connected');
      } finally {
        await forbidden.close();
      }
    });

    it('an unreachable sshd: connection refused, and the listener is not left behind', async () => {
      const closedPort = await freePort();
      const localPort = await freePort();
      const m = new TunnelManager({ servers: staticServers(sshd.server('gone', { port: closedPort })), reconnect: { maxAttempts: 0 } });
      try {
        const message = await refusal('CONNECT_FAILED', () => m.createTunnel(local({ server: 'gone', localPort })));
        assert.equal(message, `Cannot reach gone at 127.0.0.1:${closedPort}: connection refused (is sshd running on that port?).`);
        assert.deepEqual(m.listTunnels(), []);
        assert.equal(await canConnect('127.0.0.1', localPort), false, 'the local port was released');
      } finally {
        await m.dispose();
      }
    });

    it('a wrong key: authentication failure that says what was tried', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-wrongkey-'));
      const key = path.join(dir, 'id_ed25519');
      newKeyPair(key);
      const m = new TunnelManager({ servers: staticServers(sshd.server('test', { identityFile: key })), reconnect: { maxAttempts: 0 } });
      try {
        const message = await refusal('AUTH_FAILED', () => m.createTunnel(local()));
        assert.equal(message, `Authentication as ${sshd.user} on test failed. Tried: key ${key}.`);
        assert.deepEqual(m.listTunnels(), []);
      } finally {
        await m.dispose();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
