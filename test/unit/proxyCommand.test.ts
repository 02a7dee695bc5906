import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ServerRegistry } from '../../src/config/servers';
import { TunnelError, TunnelManager, type ReconnectPolicy, type ServerConfig } from '../../src/engine';
import { expandProxyCommand } from '../../src/engine/connection/proxyCommand';
import { SshdFixture } from '../fixtures/sshd';
import { echoRoundTrip, startEchoServer, waitFor } from '../helpers/net';
import { alive, childrenOfUs, clientsOf } from '../helpers/processes';
import { staticServers } from '../helpers/servers';

/** A tiny HTTP CONNECT proxy on loopback, as corporate networks put in front of ssh. */
async function startConnectProxy(): Promise<{ port: number; requests: string[]; dropAll(): void; close(): Promise<void> }> {
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    requests.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect({ host, port: Number(port) }, () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.once('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    dropAll: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise<void>((resolve) => {
      sockets.forEach((s) => s.destroy());
      server.close(() => resolve());
    }),
  };
}

describe('ProxyCommand: the SSH connection over a command’s stdin/stdout', function () {
  this.timeout(60_000);
  let sshd: SshdFixture;
  let jump: SshdFixture;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let proxy: Awaited<ReturnType<typeof startConnectProxy>>;
  let manager: TunnelManager | undefined;
  let logs: string[];

  before(async () => {
    [sshd, jump] = await Promise.all([SshdFixture.start(), SshdFixture.start()]);
    echo = await startEchoServer();
    proxy = await startConnectProxy();
  });
  after(async () => {
    await Promise.all([echo?.close(), proxy?.close(), sshd?.stop(), jump?.stop()]);
  });
  beforeEach(() => {
    logs = [];
    proxy.requests.length = 0;
  });
  afterEach(async () => {
    await manager?.dispose();
    manager = undefined;
  });

  const open = (proxyCommand: string, reconnect: Partial<ReconnectPolicy> = { maxAttempts: 0 }, extra: Partial<ServerConfig> = {}) => {
    manager = new TunnelManager({
      servers: staticServers(sshd.server('behind-proxy', { proxyCommand, ...extra })),
      reconnect,
      log: (m) => logs.push(m),
    });
    return manager.createTunnel({ server: 'behind-proxy', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
  };

  it('nc -X connect through an HTTP CONNECT proxy: %h %p expanded, data carried, the command gone after close', async () => {
    const info = await open(`nc -X connect -x 127.0.0.1:${proxy.port} %h %p`);
    assert.deepEqual(proxy.requests, [`127.0.0.1:${sshd.port}`], 'the one TCP path to sshd went through the proxy');
    const result = await echoRoundTrip(info.localPort, 1024 * 1024);
    assert.equal(result.received, result.sent);
    const nc = childrenOfUs().filter((c) => c.cmdline.startsWith('nc -X connect'));
    assert.equal(nc.length, 1, JSON.stringify(childrenOfUs()));
    assert.equal(nc[0].cmdline, `nc -X connect -x 127.0.0.1:${proxy.port} 127.0.0.1 ${sshd.port}`, 'run with exec: the shell does not linger as a parent');
    await manager!.closeTunnel(info.id);
    await waitFor(() => !alive(nc[0].pid), 5000, 'the ProxyCommand to exit after the connection closed');
  });

  it('ssh -W %h:%p through a second sshd', async () => {
    const command = `ssh -F none -i ${jump.clientKeyPath} -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes ` +
      `-o UserKnownHostsFile=${jump.knownHostsPath} -o StrictHostKeyChecking=yes -p ${jump.port} -W %h:%p ${jump.user}@127.0.0.1`;
    const info = await open(command);
    const result = await echoRoundTrip(info.localPort, 512 * 1024);
    assert.equal(result.received, result.sent);
    await waitFor(() => /Accepted publickey/.test(jump.output) && /Accepted publickey/.test(sshd.output), 5000, 'logins on both servers');
    const intoTarget = clientsOf(sshd.port);
    assert.deepEqual(intoTarget.map((c) => c.process), ['sshd'], 'the jump host’s sshd, not this process, connects to the target');
    assert.ok(clientsOf(jump.port).some((c) => c.process === 'ssh'), 'the ssh client of the ProxyCommand holds the connection to the jump host');
  });

  it('a command that fails: its exit code and stderr are the error, and reach the log', async () => {
    await assert.rejects(open(`sh -c 'echo "bastion.example: no route to host" >&2; exit 3' %h`), (err: TunnelError) => {
      assert.equal(err.code, 'CONNECT_FAILED');
      assert.match(err.message, /^ProxyCommand exited with code 3: bastion\.example: no route to host/);
      return true;
    });
    assert.ok(logs.some((l) => l === 'behind-proxy: ProxyCommand: bastion.example: no route to host'), logs.join('\n'));
  });

  it('a command that is not there says so', async () => {
    await assert.rejects(open('/nonexistent/connect-helper %h %p'), (err: TunnelError) => {
      assert.match(err.message, /ProxyCommand exited with code 127: .*nonexistent\/connect-helper/);
      return true;
    });
  });

  it('a reconnect runs the command again; the old one is gone', async () => {
    // nc does not exit when its TCP side closes, only when a write fails: the keepalive probe makes that write, as with ssh.
    const info = await open(`nc -X connect -x 127.0.0.1:${proxy.port} %h %p`, { baseDelayMs: 100, maxDelayMs: 500, maxAttempts: 20 }, { serverAliveInterval: 1 });
    const first = childrenOfUs().filter((c) => c.cmdline.startsWith('nc '));
    assert.equal(first.length, 1);
    proxy.dropAll();
    await waitFor(() => manager!.getTunnel(info.id)?.state === 'reconnecting', 10_000, 'the drop noticed');
    await waitFor(() => manager!.getTunnel(info.id)?.state === 'active', 15_000, 'back after the redial');
    assert.equal(proxy.requests.length, 2, 'a second CONNECT through the proxy');
    const second = childrenOfUs().filter((c) => c.cmdline.startsWith('nc '));
    assert.equal(second.length, 1);
    assert.notEqual(second[0].pid, first[0].pid);
    assert.ok(!alive(first[0].pid), 'the first command exited');
    const result = await echoRoundTrip(info.localPort, 256 * 1024);
    assert.equal(result.received, result.sent);
  });

  it('a command killed while connected: the drop says so, and the redial runs it again', async () => {
    const info = await open(`nc -X connect -x 127.0.0.1:${proxy.port} %h %p`, { baseDelayMs: 300, maxDelayMs: 500, maxAttempts: 20 });
    const seen: string[] = [];
    manager!.onDidChangeTunnel((t) => t.id === info.id && t.lastError && seen.push(t.lastError));
    const [nc] = childrenOfUs().filter((c) => c.cmdline.startsWith('nc '));
    process.kill(nc.pid, 'SIGKILL');
    await waitFor(() => manager!.getTunnel(info.id)?.state === 'reconnecting', 10_000, 'the drop noticed');
    assert.ok(seen.some((e) => /^ProxyCommand was killed by SIGKILL/.test(e)), seen.join('\n'));
    await waitFor(() => manager!.getTunnel(info.id)?.state === 'active', 15_000, 'back after the redial');
    assert.equal(proxy.requests.length, 2);
    const result = await echoRoundTrip(info.localPort, 64 * 1024);
    assert.equal(result.received, result.sent);
  });

  it('expands the tokens ssh documents, and refuses an unknown one', () => {
    const t = { host: 'db.internal', port: 2222, user: 'deploy', alias: 'db' };
    assert.equal(expandProxyCommand('connect %h:%p as %r for %n 100%%', t), 'connect db.internal:2222 as deploy for db 100%');
    assert.match(expandProxyCommand('%C', t), /^[0-9a-f]{40}$/);
    assert.throws(() => expandProxyCommand('nc %h %q', t), /unknown token "%q"/);
    assert.equal(expandProxyCommand('%k', t), 'db');
    assert.equal(expandProxyCommand('%k', { ...t, hostKeyAlias: 'db-key' }), 'db-key');
  });

  it('a jump host reached through its own ProxyCommand (the first hop dialled uses it)', async () => {
    manager = new TunnelManager({
      servers: staticServers(
        jump.server('jump', { proxyCommand: `nc -X connect -x 127.0.0.1:${proxy.port} %h %p` }),
        sshd.server('behind-jump', { proxyJump: 'jump' }),
      ),
      reconnect: { maxAttempts: 0 },
    });
    const info = await manager.createTunnel({ server: 'behind-jump', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    assert.deepEqual(proxy.requests, [`127.0.0.1:${jump.port}`], 'only the jump host is dialled through the proxy');
    const result = await echoRoundTrip(info.localPort, 64 * 1024);
    assert.equal(result.received, result.sent);
  });

  it('from ~/.ssh/config: ProxyCommand as written there, tokens expanded at dial time', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-proxycmd-'));
    try {
      const configPath = path.join(dir, 'config');
      fs.writeFileSync(configPath, [
        'Host via-proxy',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        `  User ${sshd.user}`,
        `  IdentityFile ${sshd.clientKeyPath}`,
        '  IdentityAgent none',
        `  UserKnownHostsFile ${sshd.knownHostsPath}`,
        `  ProxyCommand nc -X connect -x 127.0.0.1:${proxy.port} %h %p`,
        '',
      ].join('\n'));
      manager = new TunnelManager({ servers: new ServerRegistry({ configPath, settings: [] }), reconnect: { maxAttempts: 0 } });
      const info = await manager.createTunnel({ server: 'via-proxy', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
      assert.deepEqual(proxy.requests, [`127.0.0.1:${sshd.port}`]);
      const result = await echoRoundTrip(info.localPort, 64 * 1024);
      assert.equal(result.received, result.sent);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ProxyJump wins when a server has both', async () => {
    manager = new TunnelManager({
      servers: staticServers(jump.server('jump'), sshd.server('both', { proxyJump: 'jump', proxyCommand: 'sh -c "exit 9"', userKnownHostsFile: [sshd.knownHostsPath, jump.knownHostsPath] })),
      reconnect: { maxAttempts: 0 },
    });
    const info = await manager.createTunnel({ server: 'both', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
    const result = await echoRoundTrip(info.localPort, 64 * 1024);
    assert.equal(result.received, result.sent);
  });
});
