// The line between two processes: one connection per pair even when both connect at once, and
// nothing said while idle (traffic at most once a second). A raw client speaks the protocol here.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelManager, type TunnelInfo } from '../../src/engine';
import { managerActions } from '../../src/catalogue';
import { Peers } from '../../src/peers';
import { encode, LineReader, PROTOCOL_VERSION, type Message } from '../../src/peers/protocol';
import type { PeerIdentity, PeerTunnel } from '../../src/peers/types';
import { echoRoundTrip, waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';

describe('peers: the protocol between two processes', function () {
  this.timeout(30_000);
  const env = sshdWithEcho();
  let dir: string;
  let logs: string[];
  const open: { peers: Peers; manager: TunnelManager }[] = [];

  const side = (kind: 'window' | 'up', folder?: string) => {
    const manager = new TunnelManager({ servers: staticServers(env.sshd.server('test')) });
    const peers = Peers.start({ kind, folder, dir, manager, actions: managerActions(manager), log: (l) => logs.push(l) });
    open.push({ peers, manager });
    return { manager, peers };
  };

  beforeEach(() => {
    logs = [];
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-'));
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.peers.dispose(() => s.manager.dispose());
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A raw peer's end of one connection: the messages it got, and whether it closed. */
  const rawLink = (socket: net.Socket) => {
    const link = { socket, got: [] as Message[], closed: false };
    const reader = new LineReader((m) => link.got.push(m), (why) => assert.fail(why));
    socket.on('data', (d: Buffer) => reader.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => (link.closed = true));
    return link;
  };
  const fakeTunnel = (id: string): TunnelInfo => ({
    id, name: 'D 1080', nameGiven: false, server: 'test', type: 'dynamic', state: 'active', localHost: '127.0.0.1', localPort: 1080,
    stats: { bytesIn: 0, bytesOut: 0, connectionsTotal: 0, connectionsActive: 0, connectionsWaiting: 0, errors: 0 }, createdAt: 0, lastActivity: 0, openedBy: 'agent',
  });

  for (const [order, rawId] of [['lower', '0-raw'], ['higher', 'z-raw']] as const) {
    it(`two processes connected to each other at once (the other's id ${order}) keep the connection the lower id opened; the duplicate's end is no loss`, async () => {
      // The raw peer listens first, so the process connects to it; then it connects to the process too.
      const accepted: ReturnType<typeof rawLink>[] = [];
      const server = net.createServer((s) => accepted.push(rawLink(s)));
      const rawPath = path.join(dir, `${process.pid}-99.sock`);
      await new Promise<void>((r) => server.listen(rawPath, r));
      try {
        const a = side('window', 'api');
        const lost: { peer: PeerIdentity; tunnels: PeerTunnel[] }[] = [];
        a.peers.onDidLose((e) => lost.push(e));
        const me: PeerIdentity = { id: rawId, pid: process.pid, kind: 'mcp', startedAt: Date.now() };
        const hello = encode({ t: 'hello', v: PROTOCOL_VERSION, peer: me, tunnels: [] });
        await waitFor(() => accepted.length === 1 && accepted[0].got.length === 1, 2000, 'the process to connect and say hello');
        const incoming = accepted[0]; // opened by the process
        const outgoing = rawLink(net.connect(a.peers.socketPath!)); // opened by the raw peer
        await new Promise((r) => outgoing.socket.once('connect', r));
        incoming.socket.write(hello);
        outgoing.socket.write(hello);
        // Both sides keep the connection the lower id opened; the other gets `dup` and closes.
        const [kept, dropped] = rawId < a.peers.self.id ? [outgoing, incoming] : [incoming, outgoing];
        await waitFor(() => dropped.closed, 2000, 'the duplicate closed');
        assert.ok(dropped.got.some((m) => m.t === 'dup'), JSON.stringify(dropped.got));
        assert.ok(!kept.closed);
        assert.ok(!kept.got.some((m) => m.t === 'dup'));
        assert.deepEqual(a.peers.peers().map((p) => p.id), [rawId]);
        assert.equal(lost.length, 0, 'dropping the duplicate is no loss');
        // The kept connection carries the rest.
        kept.socket.write(encode({ t: 'tunnel', tunnel: { info: fakeTunnel('t7') } }));
        await waitFor(() => a.peers.list().some((t) => t.info.id === 't7' && t.peer.id === rawId), 2000, 'the tunnel told over the kept connection');
        // Its end without a bye is the raw peer's end: one loss, with its tunnel.
        kept.socket.destroy();
        await waitFor(() => lost.length === 1, 2000, 'the loss');
        assert.deepEqual(lost[0].tunnels.map((t) => t.info.id), ['t7']);
        assert.deepEqual(a.peers.list(), []);
      } finally {
        server.close();
      }
    });
  }

  it('says nothing while idle; traffic is told at most once a second, state changes at once', async () => {
    const owner = side('up');
    await owner.peers.ready();
    const info = await owner.manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port });
    // A raw client, as another process: it says hello and records every message with its time.
    const got: { at: number; m: Message }[] = [];
    const socket = net.connect(owner.peers.socketPath!);
    const reader = new LineReader((m) => got.push({ at: Date.now(), m }), (why) => assert.fail(why));
    socket.on('data', (d: Buffer) => reader.push(d));
    const self: PeerIdentity = { id: '1-raw', pid: 1, kind: 'mcp', startedAt: Date.now() };
    await new Promise((r) => socket.once('connect', r));
    socket.write(encode({ t: 'hello', v: PROTOCOL_VERSION, peer: self, tunnels: [] }));
    await waitFor(() => got.length === 1, 2000, 'its hello');
    const hello = got[0].m as Extract<Message, { t: 'hello' }>;
    assert.equal(hello.t, 'hello');
    assert.deepEqual(hello.tunnels.map((t) => t.info.id), [info.id]);

    // Idle: not a byte for 2.5 s.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(got.length, 1, JSON.stringify(got.slice(1)));

    // Traffic for about 2.5 s: a few updates, never two within a second of each other.
    const until = Date.now() + 2500;
    while (Date.now() < until) {
      await echoRoundTrip(info.localPort, 16 * 1024);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1200));
    const updates = got.slice(1).filter((g) => g.m.t === 'tunnel');
    assert.ok(updates.length >= 2 && updates.length <= 5, `${updates.length} updates`);
    for (let i = 1; i < updates.length; i++) assert.ok(updates[i].at - updates[i - 1].at >= 900, `two updates ${updates[i].at - updates[i - 1].at} ms apart`);
    const last = (updates.at(-1)!.m as Extract<Message, { t: 'tunnel' }>).tunnel.info;
    assert.equal(last.stats.bytesIn, owner.manager.getTunnel(info.id)!.stats.bytesIn, 'the last update has the final numbers');

    // Quiet again; then a close is told at once.
    const before = got.length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(got.length, before, 'nothing once the traffic stopped');
    const t0 = Date.now();
    await owner.manager.closeTunnel(info.id);
    await waitFor(() => got.some((g) => g.m.t === 'tunnel' && (g.m.tunnel.info as TunnelInfo).state === 'closed'), 500, 'the close');
    assert.ok(Date.now() - t0 < 200);
    socket.destroy();
  });
});
