import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { TunnelManager, type ServerConfig } from '../../src/engine';
import { isLoopback, LIST_LIMIT, refusalLog, ToolError, TunnelTools, TOOL_DEFINITIONS, type ToolHost, type ToolResult } from '../../src/tools';
import { tunnelData } from '../../src/tools/format';
import { freePort } from '../fixtures/sshd';
import { bound, connect, echoRoundTrip, readAll, waitFor } from '../helpers/net';
import { HeldHostKeyQuestion, unknownHostServer } from '../helpers/hostKeyQuestion';
import { rejection } from '../helpers/rejection';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';
import { socksConnect } from '../helpers/socks';
import { assertMatchesOutputSchema, outputSchemaErrors } from '../helpers/outputSchema';

type Data = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A GET over a TCP port or a Unix socket; resolves with the body. */
function httpGet(where: { port: number } | { socketPath: string }, urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ ...where, host: '127.0.0.1', path: urlPath, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

/** The tools, with every result checked against its tool's outputSchema (what MCP clients check). */
class CheckedTools extends TunnelTools {
  override async invoke(name: string, input: unknown, signal?: AbortSignal): Promise<ToolResult> {
    const result = await super.invoke(name, input, signal);
    assertMatchesOutputSchema(name, result.data);
    return result;
  }
}

describe('agent tools (src/tools) against a real sshd', function () {
  this.timeout(60_000);
  const env = sshdWithEcho();
  let manager: TunnelManager;
  let tools: TunnelTools;
  let allowNonLoopback: boolean;
  let question: HeldHostKeyQuestion;

  beforeEach(() => {
    allowNonLoopback = false;
    const list: ServerConfig[] = [env.sshd.server('db'), env.sshd.server('web'), unknownHostServer(env.sshd, 'fresh')];
    const servers: ToolHost['servers'] = { ...staticServers(...list), origin: (name) => (name === 'db' ? 'settings' : name === 'web' ? 'both' : 'sshConfig') };
    question = new HeldHostKeyQuestion();
    manager = new TunnelManager({ servers, reconnect: { maxAttempts: 0 }, prompts: question.prompts });
    tools = new CheckedTools({ manager, servers, allowNonLoopback: () => allowNonLoopback });
  });
  afterEach(async () => {
    question.reply('reject');
    await manager.dispose();
  });

  const create = (input: Record<string, unknown>, signal?: AbortSignal) => tools.invoke('ssh_tunnel_create', input, signal);
  const localTo = (port: number, extra: Record<string, unknown> = {}) => ({ server: 'db', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: port, ...extra });

  describe('ssh_connection_status', () => {
    it('lists every server with alias, user@host:port, where defined and connection state', async () => {
      const before = await tools.invoke('ssh_connection_status', {});
      const target = `${env.sshd.user}@127.0.0.1:${env.sshd.port}`;
      assert.match(before.text, /^3 servers/);
      assert.ok(before.text.includes(`- db: ${target}, defined in settings; disconnected, 0 tunnels`), before.text);
      assert.ok(before.text.includes(`- web: ${target}, defined in settings and ~/.ssh/config; disconnected`), before.text);
      assert.ok(before.text.includes(`- fresh: ${target}, defined in ~/.ssh/config; disconnected`), before.text);
      await create(localTo(env.echo.port));
      const after = await tools.invoke('ssh_connection_status', { server: 'db' });
      assert.deepEqual((after.data as Data).servers, [{ server: 'db', target, definedIn: 'settings', state: 'connected', tunnels: 1, lastError: undefined }]);
      assert.match(after.text, /- db: .*; connected, 1 tunnel$/m);
    });

    it('an unknown server is answered with the names that exist', async () => {
      const err = await rejection(tools.invoke('ssh_connection_status', { server: 'prod' }), ToolError);
      assert.match(err.message, /Unknown server "prod"\. Known servers: db, web, fresh\./);
    });
  });

  describe('ssh_tunnel_create', () => {
    it('opens a local forward as the agent\'s: real port, how to use it, and it carries data', async () => {
      const result = await create(localTo(env.echo.port, { name: 'echo' }));
      const t = (result.data as Data).tunnel;
      assert.equal(t.state, 'active');
      assert.equal(t.openedBy, 'agent');
      assert.equal(t.local.host, '127.0.0.1');
      assert.ok(t.local.port > 0);
      assert.deepEqual(t.remote, { host: '127.0.0.1', port: env.echo.port });
      assert.equal(manager.getTunnel(t.id)!.openedBy, 'agent');
      assert.ok(result.text.includes(`Opened tunnel ${t.id} "echo" through db (${env.sshd.user}@127.0.0.1:${env.sshd.port})`), result.text);
      assert.ok(result.text.includes(`Connect to 127.0.0.1:${t.local.port} to reach 127.0.0.1:${env.echo.port} as db sees it.`), result.text);
      assert.ok(result.text.includes(`ssh_tunnel_close { "tunnelId": "${t.id}" }`));
      const r = await echoRoundTrip(t.local.port, 256 * 1024);
      assert.equal(r.received, r.sent);
    });

    it('opens a SOCKS proxy and says socks5h://127.0.0.1:PORT', async () => {
      const result = await create({ server: 'db', type: 'dynamic', localPort: 0 });
      const t = (result.data as Data).tunnel;
      assert.equal(t.remote, undefined);
      assert.ok(result.text.includes(`socks5h://127.0.0.1:${t.local.port}`), result.text);
      const socket = await socksConnect(t.local.port, '127.0.0.1', env.echo.port);
      socket.write('through socks');
      const got = await new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString())));
      socket.destroy();
      assert.equal(got, 'through socks');
    });

    it('opens a remote forward and gives the server-side address', async () => {
      const serverPort = await freePort();
      const result = await create({ server: 'db', type: 'remote', remotePort: serverPort, localPort: env.echo.port });
      const t = (result.data as Data).tunnel;
      assert.deepEqual(t.remote, { host: '127.0.0.1', port: serverPort });
      assert.ok(result.text.includes(`On db, connect to 127.0.0.1:${serverPort} to reach 127.0.0.1:${env.echo.port} on this machine.`), result.text);
      const r = await echoRoundTrip(serverPort, 64 * 1024); // sshd runs here, so its side is reachable
      assert.equal(r.received, r.sent);
    });

    it('gives a local port to a Unix socket on the server (remotePath, as for /var/run/docker.sock)', async () => {
      // A stand-in for dockerd: an HTTP API on a Unix socket, which sshd (on this machine) can open.
      const socketPath = path.join(env.sshd.dir, 'docker.sock');
      const api = http.createServer((req, res) => res.end(`api ${req.method} ${req.url}`));
      await new Promise<void>((resolve) => api.listen(socketPath, resolve));
      try {
        const input = { server: 'db', type: 'local', localPort: 0, remotePath: socketPath };
        const ask = tools.confirmation('ssh_tunnel_create', input)!;
        assert.equal(
          ask.message,
          `An agent asks to open a local forward (-L) through db (${env.sshd.user}@127.0.0.1:${env.sshd.port}): listen on 127.0.0.1, on a free port on this machine and forward each connection through db to the socket ${socketPath} on db.`,
        );
        const result = await create(input);
        const t = (result.data as Data).tunnel;
        assert.deepEqual(t.remote, { path: socketPath });
        assert.ok(t.local.port > 0);
        assert.ok(result.text.includes(`Connect to 127.0.0.1:${t.local.port} to reach the socket ${socketPath} as db sees it.`), result.text);
        assert.equal(await httpGet({ port: t.local.port }, '/v1.43/version'), 'api GET /v1.43/version');
      } finally {
        api.closeAllConnections();
        await new Promise<void>((resolve) => api.close(() => resolve()));
      }
    });

    it('opens a reverse SOCKS proxy on the server (remote, socks: true), saying first that the server reaches what this machine can', async () => {
      const serverPort = await freePort();
      const input = { server: 'db', type: 'remote', remotePort: serverPort, socks: true };
      const ask = tools.confirmation('ssh_tunnel_create', input)!;
      assert.equal(
        ask.message,
        `An agent asks to open a reverse SOCKS proxy (-R) through db (${env.sshd.user}@127.0.0.1:${env.sshd.port}): make db listen on 127.0.0.1:${serverPort} as a SOCKS proxy whose connections this machine makes, to any address it names. ` +
          `This lets db, and whoever can connect to 127.0.0.1:${serverPort} on it, reach whatever this machine can reach: its own services and every network it is on.`,
      );
      const result = await create(input);
      const t = (result.data as Data).tunnel;
      assert.equal(t.socks, true);
      assert.equal(t.local, undefined);
      assert.deepEqual(t.remote, { host: '127.0.0.1', port: serverPort });
      assert.ok(result.text.includes(`On db, use the SOCKS5 proxy socks5h://127.0.0.1:${serverPort}`), result.text);
      // sshd runs here, so the server's side of the proxy is reachable: through it to this machine's echo server.
      const socket = await socksConnect(serverPort, '127.0.0.1', env.echo.port);
      socket.write('from the server');
      const got = await new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString())));
      socket.destroy();
      assert.equal(got, 'from the server');
    });

    it('asks in plain words first: server, user@host:port, direction, addresses; a remote forward says what it exposes', () => {
      const local = tools.confirmation('ssh_tunnel_create', localTo(5432, { remoteHost: 'localhost' }))!;
      assert.equal(local.title, 'Open an SSH tunnel through db?');
      assert.equal(
        local.message,
        `An agent asks to open a local forward (-L) through db (${env.sshd.user}@127.0.0.1:${env.sshd.port}): listen on 127.0.0.1, on a free port on this machine and forward each connection through db to localhost:5432 (as db sees it).`,
      );
      const remote = tools.confirmation('ssh_tunnel_create', { server: 'db', type: 'remote', remotePort: 9000, localPort: 3000 })!;
      assert.match(remote.message, /a remote forward \(-R\) through db .*make db listen on 127\.0\.0\.1:9000 and forward each connection to 127\.0\.0\.1:3000 on this machine\. This exposes a service of this machine on the server/);
      const socks = tools.confirmation('ssh_tunnel_create', { server: 'db', type: 'dynamic', localPort: 1080 })!;
      assert.match(socks.message, /a SOCKS proxy \(-D\) .*open a SOCKS5 proxy on 127\.0\.0\.1:1080 on this machine; programs that use it reach any address db can reach/);
      assert.equal(tools.confirmation('ssh_tunnel_list', {}), undefined);
      assert.equal(tools.confirmation('ssh_connection_status', {}), undefined);
      assert.deepEqual(manager.listTunnels(), [], 'asking opens nothing');
    });

    it('refuses bad input with a message that says what to do, in confirmation() and invoke() alike, and opens nothing', async () => {
      const cases: [Record<string, unknown> | unknown, RegExp][] = [
        [{ server: 'prod', type: 'local', remotePort: 80 }, /Unknown server "prod"\. Known servers: db, web, fresh\. Call ssh_connection_status/],
        [{ server: 'DB', type: 'local', remotePort: 80 }, /Unknown server "DB" \(did you mean "db"\?\)/],
        [{ type: 'local', remotePort: 80 }, /needs server: the alias of a configured server \(ssh_connection_status lists them\)/],
        [{ server: 'db', type: 'forward', remotePort: 80 }, /type "forward" is not a tunnel type\. Use one of: local \(ssh -L.*remote \(ssh -R.*dynamic \(ssh -D/],
        [{ server: 'db' }, /type is missing\. Use one of: local/],
        [{ server: 'db', type: 'local', localPort: 0 }, /a local tunnel needs remotePort.*e\.g\. \{ "server": "db", "type": "local", "localPort": 0, "remoteHost": "localhost", "remotePort": 5432 \}/],
        [{ server: 'db', type: 'remote', localPort: 3000 }, /a remote tunnel needs remotePort.*e\.g\. \{ "server": "db", "type": "remote", "remotePort": 9000/],
        [{ server: 'db', type: 'remote', remotePort: 9000 }, /a remote tunnel needs localPort, the port of the service on this machine/],
        [{ server: 'db', type: 'dynamic', remotePort: 80 }, /a dynamic \(SOCKS\) tunnel takes no remoteHost or remotePort/],
        [{ server: 'db', type: 'local', localPort: 70000, remotePort: 80 }, /localPort must be a whole number from 0 to 65535/],
        [{ server: 'db', type: 'local', remotePort: 80, local_port: 8080 }, /has no field "local_port"\. Its fields are: server, type, localHost, localPort, remoteHost, remotePort, localPath, remotePath, socks, name/],
        [{ server: 'db', type: 'local', localPort: 0, remotePath: '/var/run/docker.sock', remotePort: 2375 }, /remotePath replaces remoteHost and remotePort; give one or the other, e\.g\. \{ "server": "db", "type": "local", "localPort": 0, "remotePath": "\/var\/run\/docker\.sock" \}/],
        [{ server: 'db', type: 'local', localPath: '/tmp/db.sock', localPort: 5432, remotePort: 5432 }, /localPath replaces localHost and localPort; give one or the other/],
        [{ server: 'db', type: 'local', remotePort: 80, socks: true }, /socks is for a remote tunnel .*for a SOCKS proxy on this machine use type "dynamic"/],
        [{ server: 'db', type: 'remote', remotePort: 1080, socks: true, localPort: 3000 }, /a reverse SOCKS tunnel \(socks: true\) .* takes no localHost, localPort, localPath or remotePath/],
        [{ server: 'db', type: 'remote', socks: true }, /a reverse SOCKS tunnel needs remotePort.*"remotePort": 1080, "socks": true/],
        [{ server: 'db', type: 'remote', remotePort: 1080, socks: 'yes' }, /socks must be true or false; got "yes"/],
        [{ server: 'db', type: 'dynamic', localPath: '/tmp/socks.sock' }, /a dynamic \(SOCKS\) tunnel listens on a port, not a socket file/],
        ['db', /takes an object with the fields server, type/],
      ];
      for (const [input, expected] of cases) {
        const viaConfirm = await rejection(() => tools.confirmation('ssh_tunnel_create', input), ToolError);
        assert.match(viaConfirm.message, expected);
        const viaInvoke = await rejection(create(input as Record<string, unknown>), ToolError);
        assert.equal(viaInvoke.message, viaConfirm.message);
      }
      assert.deepEqual(manager.listTunnels(), []);
      assert.equal(manager.serverStatus('db').state, 'disconnected', 'refusals do not even connect');
    });

    it('a busy port is answered with a free one, and the tunnel opens there', async () => {
      const blocker = net.createServer();
      await new Promise<void>((r) => blocker.listen({ host: '127.0.0.1', port: 0, exclusive: true }, r));
      const busy = (blocker.address() as net.AddressInfo).port;
      try {
        const err = await rejection(create(localTo(env.echo.port, { localPort: busy })), ToolError);
        const suggested = Number(/Call ssh_tunnel_create again with localPort (\d+) \(free now\), or 0 for any free port\./.exec(err.message)?.[1]);
        assert.ok(suggested > busy, err.message);
        assert.match(err.message, new RegExp(`Local port ${busy} on 127\\.0\\.0\\.1 is held by this program \\(pid ${process.pid}\\)`));
        assert.equal(err.code, 'PORT_IN_USE');
        const again = await create(localTo(env.echo.port, { localPort: suggested }));
        assert.equal((again.data as Data).tunnel.local.port, suggested);
      } finally {
        blocker.close();
      }
    });
  });

  describe('the loopback rule', () => {
    it('refuses a non-loopback localHost and a remote forward on a non-loopback server address, naming the setting', async () => {
      for (const host of ['0.0.0.0', '*', '::', '192.168.1.10', 'example.com']) {
        const err = await rejection(create(localTo(env.echo.port, { localHost: host })), ToolError);
        assert.match(err.message, /is not a loopback address, and agents may only use loopback addresses .* Use 127\.0\.0\.1 instead; only the user can allow other addresses, with the setting sshTunnels\.agentTools\.allowNonLoopback\./);
        assert.equal(err.code, 'NOT_ALLOWED');
        await rejection(create({ server: 'db', type: 'dynamic', localHost: host }), ToolError);
      }
      const remote = await rejection(create({ server: 'db', type: 'remote', remoteHost: '0.0.0.0', remotePort: 9000, localPort: 3000 }), ToolError);
      assert.match(remote.message, /remoteHost \(the address the server would listen on\) "0\.0\.0\.0" is not a loopback address.*sshTunnels\.agentTools\.allowNonLoopback/);
      assert.deepEqual(manager.listTunnels(), []);
    });

    it('a socket file on this machine is local by nature: localPath is allowed; a reverse SOCKS proxy still listens on loopback only', async () => {
      const socketPath = path.join(env.sshd.dir, `agent-${Date.now()}.sock`);
      const result = await create({ server: 'db', type: 'local', localPath: socketPath, remoteHost: '127.0.0.1', remotePort: env.echo.port });
      const t = (result.data as Data).tunnel;
      assert.deepEqual(t.local, { path: socketPath });
      assert.ok(result.text.includes(`Connect to the socket ${socketPath} to reach 127.0.0.1:${env.echo.port} as db sees it.`), result.text);
      const socket = net.connect(socketPath);
      socket.write('through a socket file');
      const got = await new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString())));
      socket.destroy();
      assert.equal(got, 'through a socket file');
      const socks = await rejection(create({ server: 'db', type: 'remote', remoteHost: '0.0.0.0', remotePort: 1080, socks: true }), ToolError);
      assert.equal(socks.code, 'NOT_ALLOWED');
      assert.match(socks.message, /remoteHost \(the address the server would listen on\) "0\.0\.0\.0" is not a loopback address/);
    });

    it('names the switch the host gives (a command-line flag, called a flag) instead of the setting', async () => {
      const cli = new CheckedTools({ manager, servers: staticServers(env.sshd.server('db')), nonLoopbackSwitch: 'the flag --allow-non-loopback of ssh-tunnels mcp' });
      const err = await rejection(cli.invoke('ssh_tunnel_create', localTo(env.echo.port, { localHost: '0.0.0.0' })), ToolError);
      assert.match(err.message, /only the user can allow other addresses, with the flag --allow-non-loopback of ssh-tunnels mcp\.$/);
      assert.doesNotMatch(err.message, /setting/);
    });

    it('accepts every loopback spelling, and anything once the setting allows it', async () => {
      for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.ok(isLoopback(host), host);
      for (const host of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', 'localhost.example.com', '']) assert.ok(!isLoopback(host), host);
      allowNonLoopback = true;
      const result = await create(localTo(env.echo.port, { localHost: '0.0.0.0' }));
      const t = (result.data as Data).tunnel;
      assert.equal(t.local.host, '0.0.0.0');
      const r = await echoRoundTrip(t.local.port, 1024);
      assert.equal(r.received, r.sent);
    });
  });

  describe('ssh_tunnel_list', () => {
    it('shows every tunnel whoever opened it, with state, endpoints, bytes, connections, times and origin', async () => {
      const mine = (await create(localTo(env.echo.port))).data as Data;
      const person = await manager.createTunnel({ server: 'web', type: 'dynamic', localPort: 0 });
      await echoRoundTrip(mine.tunnel.local.port, 1000);
      await waitFor(() => manager.getTunnel(mine.tunnel.id)!.stats.connectionsActive === 0);
      const result = await tools.invoke('ssh_tunnel_list', {});
      assert.match(result.text, /^2 tunnels:/);
      const line = result.text.split('\n').find((l) => l.startsWith(`- ${mine.tunnel.id} `))!;
      assert.match(line, /\(local, 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+, server db\): active, opened by an agent at \d{4}-.*Z; 1000 bytes in, 1000 bytes out; connections 0 active, 1 total; 0 errors; last activity/);
      assert.ok(result.text.includes(`- ${person.id} "${person.name}" (dynamic, SOCKS 127.0.0.1:${person.localPort}, server web): active, opened by the user`), result.text);
      const data = result.data as Data;
      assert.equal(data.total, 2);
      assert.equal(data.omitted, 0);
      assert.deepEqual(data.tunnels.map((t: Data) => [t.id, t.openedBy, t.bytesIn, t.connectionsTotal]), [[mine.tunnel.id, 'agent', 1000, 1], [person.id, 'person', 0, 0]]);
      const onlyWeb = await tools.invoke('ssh_tunnel_list', { server: 'web' });
      assert.deepEqual((onlyWeb.data as Data).tunnels.map((t: Data) => t.id), [person.id]);
      assert.match((await rejection(tools.invoke('ssh_tunnel_list', { server: 'nope' }), ToolError)).message, /Unknown server "nope"\. Known servers: db, web, fresh/);
      assert.match((await tools.invoke('ssh_tunnel_list', { server: 'fresh' })).text, /^No tunnels are open on fresh\. Open one with ssh_tunnel_create\.$/);
    });

    it(`stays bounded: at most ${LIST_LIMIT} tunnels, with a count of what was left out`, async () => {
      const count = LIST_LIMIT + 5;
      for (let i = 0; i < count; i++) await manager.createTunnel({ server: 'db', type: 'dynamic', localPort: 0 });
      const result = await tools.invoke('ssh_tunnel_list', {});
      const data = result.data as Data;
      assert.equal(data.total, count);
      assert.equal(data.tunnels.length, LIST_LIMIT);
      assert.equal(data.omitted, 5);
      assert.equal(result.text.split('\n').filter((l) => l.startsWith('- ')).length, LIST_LIMIT);
      assert.match(result.text, /…and 5 more not shown \(at most 50 are listed; give server to narrow the list\)\.$/);
    });
  });

  describe('ssh_tunnel_close', () => {
    it('says what it closes and how many live connections it cuts, asks first, and a second close changes nothing', async () => {
      const keep = (await create(localTo(env.echo.port, { name: 'keep' }))).data as Data;
      const t = ((await create(localTo(env.echo.port, { name: 'gone' }))).data as Data).tunnel;
      const sockets = await Promise.all([connect(t.local.port), connect(t.local.port)]);
      const ended = sockets.map((s) => readAll(s));
      for (const s of sockets) s.write('x');
      await waitFor(() => manager.getTunnel(t.id)!.stats.connectionsActive === 2);

      const ask = tools.confirmation('ssh_tunnel_close', { tunnelId: t.id })!;
      assert.equal(ask.title, `Close SSH tunnel ${t.id}?`);
      assert.match(ask.message, new RegExp(`An agent asks to close ${t.id} "gone" \\(local, .* server db\\), opened by an agent\\. 2 live connections will be cut\\.`));

      const result = await tools.invoke('ssh_tunnel_close', { tunnelId: t.id });
      assert.match(result.text, new RegExp(`^Closed ${t.id} "gone" .*\\. 2 live connections were cut\\.$`));
      assert.deepEqual(result.data, { closed: [t.id], connectionsCut: 2, failures: [], open: [keep.tunnel.id] });
      await Promise.all(ended);
      assert.equal(await bound(t.local.port), false, 'its port is free');

      const again = await tools.invoke('ssh_tunnel_close', { tunnelId: t.id });
      assert.equal(again.text, `No open tunnel has id "${t.id}" (it may have been closed already): nothing was closed. Open tunnels: ${keep.tunnel.id} "keep" (db).`);
      assert.deepEqual(again.data, { closed: [], connectionsCut: 0, failures: [], open: [keep.tunnel.id] });
      assert.equal(tools.confirmation('ssh_tunnel_close', { tunnelId: t.id }), undefined, 'nothing to ask about');
      const unknown = await tools.invoke('ssh_tunnel_close', { tunnelId: 't999' });
      assert.match(unknown.text, /^No open tunnel has id "t999".*Open tunnels: t\d+ "keep" \(db\)\.$/);
      assert.equal(manager.getTunnel(keep.tunnel.id)!.state, 'active', 'the other tunnel is untouched');
    });

    it('closes all of a server\'s tunnels and only those, telling the host of each first', async () => {
      const told: string[] = [];
      tools = new CheckedTools({ manager, servers: staticServers(env.sshd.server('db'), env.sshd.server('web')), willClose: (t) => told.push(t.id) });
      const a = ((await create(localTo(env.echo.port))).data as Data).tunnel;
      const b = ((await create({ server: 'db', type: 'dynamic' })).data as Data).tunnel;
      const other = ((await create({ ...localTo(env.echo.port), server: 'web' })).data as Data).tunnel;
      const ask = tools.confirmation('ssh_tunnel_close', { server: 'db' })!;
      assert.equal(ask.title, 'Close 2 SSH tunnels of db?');
      assert.match(ask.message, /close all 2 tunnels of db: .*No live connections will be cut\./);
      const result = await tools.invoke('ssh_tunnel_close', { server: 'db' });
      assert.deepEqual((result.data as Data).closed, [a.id, b.id]);
      assert.deepEqual(told, [a.id, b.id]);
      assert.deepEqual(manager.listTunnels().map((t) => t.id), [other.id]);
      assert.match((await tools.invoke('ssh_tunnel_close', { server: 'db' })).text, /^No tunnels are open on db: nothing was closed\. Open tunnels: /);
    });

    it('refuses a call without tunnelId or server, a mismatched pair, and an unknown server', async () => {
      const t = ((await create(localTo(env.echo.port))).data as Data).tunnel;
      assert.match((await rejection(tools.invoke('ssh_tunnel_close', {}), ToolError)).message, new RegExp(`needs tunnelId \\(one tunnel\\) or server .*Open tunnels: ${t.id} `));
      assert.match((await rejection(tools.invoke('ssh_tunnel_close', { tunnelId: t.id, server: 'web' }), ToolError)).message, /belongs to db, not web/);
      assert.match((await rejection(tools.invoke('ssh_tunnel_close', { server: 'nope' }), ToolError)).message, /Unknown server "nope"\. Known servers/);
      assert.equal(manager.getTunnel(t.id)!.state, 'active');
    });
  });

  describe('cancellation', () => {
    it('a call cancelled while connecting (waiting on the host-key question) leaves nothing open', async () => {
      const port = await freePort();
      const controller = new AbortController();
      const creating = create({ server: 'fresh', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: env.echo.port }, controller.signal);
      await waitFor(() => question.wasAsked, 10_000, 'host-key question');
      controller.abort();
      const err = await rejection(creating, ToolError);
      assert.equal(err.code, 'CANCELLED');
      assert.match(err.message, /Cancelled: the tunnel was not opened, and nothing of it is left open\./);
      question.reply('trust-once');
      await waitFor(async () => !(await bound(port)), 5000, 'listener closed');
      assert.deepEqual(manager.listTunnels(), []);
      assert.equal(manager.serverStatus('fresh').state, 'disconnected');
    });

    it('a call cancelled before it starts opens nothing', async () => {
      const err = await rejection(create(localTo(env.echo.port), AbortSignal.abort()), ToolError);
      assert.equal(err.code, 'CANCELLED');
      assert.deepEqual(manager.listTunnels(), []);
    });
  });

  describe('outputSchema (what MCP clients validate structuredContent against)', () => {
    it('every tool declares one, and every result in this suite fitted it (CheckedTools); a drifted result does not', async () => {
      for (const d of TOOL_DEFINITIONS) assert.equal((d.outputSchema as { type: string }).type, 'object', d.name);
      const created = await create(localTo(env.echo.port));
      const tunnel = manager.getTunnel((created.data as Data).tunnel.id)!;
      assert.equal(outputSchemaErrors('ssh_tunnel_create', { tunnel: tunnelData(tunnel) }), '');
      const drifted: [string, Data][] = [
        ['a port as a string', { ...tunnelData(tunnel), local: { host: '127.0.0.1', port: String(tunnel.localPort) } }],
        ['a field the schema does not name', { ...tunnelData(tunnel), pid: 1 }],
        ['a missing field', { ...tunnelData(tunnel), usage: undefined }],
        ['a state the engine does not have', { ...tunnelData(tunnel), state: 'sleeping' }],
        ['a time that is not ISO 8601', { ...tunnelData(tunnel), createdAt: 'yesterday' }],
        ['both a host and a path on one end', { ...tunnelData(tunnel), remote: { host: 'h', port: 1, path: '/p' } }],
      ];
      for (const [what, data] of drifted) assert.notEqual(outputSchemaErrors('ssh_tunnel_create', { tunnel: data }), '', what);
      assert.notEqual(outputSchemaErrors('ssh_tunnel_close', { closed: [], connectionsCut: 0, open: [] }), '', 'close without failures');
      assert.notEqual(outputSchemaErrors('ssh_connection_status', { total: 1, omitted: 0, servers: [{ server: 'db' }] }), '', 'a server without target or state');
    });
  });

  it('a refusal is logged once with the tool\'s name, not twice', () => {
    assert.equal(refusalLog('ssh_tunnel_create', 'ssh_tunnel_create: localPort must be a whole number'), 'ssh_tunnel_create refused: localPort must be a whole number');
    assert.equal(refusalLog('ssh_tunnel_list', 'Unknown server "x".'), 'ssh_tunnel_list refused: Unknown server "x".');
  });

  it('an unknown tool name lists the tools', async () => {
    const err = await rejection(tools.invoke('ssh_exec', {}), ToolError);
    assert.equal(err.message, `There is no tool "ssh_exec". The tools are: ${TOOL_DEFINITIONS.map((d) => d.name).join(', ')}.`);
  });
});
