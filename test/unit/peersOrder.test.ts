// When the others hear what: a tunnel that opens while a connection's hello is still on its way is
// told on it all the same, and an owner whose connection closes before its tunnels' ports do is
// lost only once it has ended (so a taker finds its port free). Both were seen in the two-window
// suite (test/windows) under load; here a fake process on a raw socket puts the events in that order.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Disposable, TunnelInfo } from '../../src/engine';
import { Peers } from '../../src/peers';
import { encode, LineReader, PROTOCOL_VERSION, type Message } from '../../src/peers/protocol';
import type { PeerIdentity } from '../../src/peers/types';
import { freePort } from '../fixtures/sshd';
import { waitFor } from '../helpers/net';

function tunnel(localPort: number): TunnelInfo {
  const now = Date.now();
  return {
    id: 't1', name: 'db', nameGiven: true, server: 'test', type: 'local', state: 'active', localHost: '127.0.0.1', localPort, remoteHost: '127.0.0.1', remotePort: 5432,
    stats: { bytesIn: 0, bytesOut: 0, connectionsTotal: 0, connectionsActive: 0, connectionsWaiting: 0, errors: 0 },
    createdAt: now, lastActivity: now, openedBy: 'person',
  } as TunnelInfo;
}

/** An engine as the announcer reads it, whose tunnels the test sets and announces itself. */
class FakeManager {
  tunnels: TunnelInfo[] = [];
  private listeners: ((info: TunnelInfo) => void)[] = [];
  listTunnels(): TunnelInfo[] {
    return this.tunnels;
  }
  getTunnel(id: string): TunnelInfo | undefined {
    return this.tunnels.find((t) => t.id === id);
  }
  onDidChangeTunnel(listener: (info: TunnelInfo) => void): Disposable {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  }
  open(info: TunnelInfo): void {
    this.tunnels.push(info);
    for (const l of this.listeners) l(info);
  }
}

/** A process of the folder played by the test: a socket named for `pid`, speaking the protocol by hand. */
function fakePeer(dir: string, pid: number, name = `${pid}.sock`) {
  const received: Message[] = [];
  let socket: net.Socket | undefined;
  let onMessage: (m: Message) => void = () => undefined;
  const server = net.createServer((s) => {
    socket = s;
    const reader = new LineReader((m) => {
      received.push(m);
      onMessage(m);
    }, () => s.destroy());
    s.on('data', (d: Buffer) => reader.push(d));
    s.on('error', () => undefined);
  });
  const listening = new Promise<void>((resolve) => server.listen(path.join(dir, name), () => resolve()));
  const identity = (kind: PeerIdentity['kind'] = 'window'): PeerIdentity => ({ id: `${pid}-fake`, pid, kind, folder: 'fake', startedAt: Date.now() });
  return {
    listening,
    received,
    identity,
    /** Resolves with the first message that matches, from those received and to come. */
    next(match: (m: Message) => boolean): Promise<Message> {
      const had = received.find(match);
      if (had) return Promise.resolve(had);
      return new Promise((resolve) => {
        const before = onMessage;
        onMessage = (m) => {
          before(m);
          if (match(m)) resolve(m);
        };
      });
    },
    hello(tunnels: TunnelInfo[] = []): void {
      socket!.write(encode({ t: 'hello', v: PROTOCOL_VERSION, peer: identity(), tunnels: tunnels.map((info) => ({ info })) }));
    },
    /** The connection ends without a bye, as when the process is killed. */
    drop(): void {
      socket?.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('peers: when the others hear what', function () {
  this.timeout(20_000);
  let dir: string;
  const cleanups: (() => unknown)[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-peers-order-'));
    fs.chmodSync(dir, 0o700);
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = (manager: FakeManager) => {
    const peers = Peers.start({ kind: 'up', dir, manager, actions: { close: async () => undefined, restart: () => Promise.reject(new Error('not here')) }, log: () => undefined });
    cleanups.push(() => peers.dispose());
    return peers;
  };

  it('a tunnel that opens after this process said hello, before the other answered, is told to it', async () => {
    // A live pid of this user that no Peers of this process uses as its socket name.
    const fake = fakePeer(dir, process.pid, `${process.pid}-99.sock`);
    cleanups.push(fake.close);
    await fake.listening;
    const manager = new FakeManager();
    start(manager);
    const hello = await fake.next((m) => m.t === 'hello');
    assert.deepEqual((hello as { tunnels: unknown[] }).tunnels, [], 'nothing open yet when it said hello');
    // The tunnel opens now, while the other's hello is still to come.
    const port = await freePort();
    manager.open(tunnel(port));
    fake.hello();
    const told = await Promise.race([
      fake.next((m) => m.t === 'tunnel'),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000)),
    ]);
    assert.ok(told, `never told of the tunnel; it received: ${JSON.stringify(fake.received.map((m) => m.t))}`);
    assert.equal((told as { tunnel: { info: TunnelInfo } }).tunnel.info.localPort, port);
  });

  it('an owner whose connection closes while it still holds its port is lost once it has ended, and its port is then free', async () => {
    const port = await freePort();
    // The owner: a process that holds the port a moment after its connection to the others closed (an exit in progress).
    const owner: ChildProcess = spawn(process.execPath, ['-e', `
      const s = require('node:net').createServer().listen(${port}, '127.0.0.1', () => process.send('listening'));
      process.on('message', () => setTimeout(() => process.exit(0), 300));`], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    cleanups.push(() => owner.kill('SIGKILL'));
    await new Promise((r) => owner.once('message', r));

    const fake = fakePeer(dir, owner.pid!);
    cleanups.push(fake.close);
    await fake.listening;
    const peers = start(new FakeManager());
    await fake.next((m) => m.t === 'hello');
    fake.hello([tunnel(port)]);
    await peers.ready();
    await waitFor(() => peers.list().length === 1, 2000, 'the owner\'s tunnel');

    const lost: { portFree: Promise<boolean> }[] = [];
    peers.onDidLose(() => {
      // A taker listens right away, as a window's takeover does.
      const probe = net.createServer();
      lost.push({
        portFree: new Promise((resolve) => {
          probe.once('error', () => resolve(false));
          probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
        }),
      });
    });
    owner.send('exit soon');
    fake.drop();
    await waitFor(() => lost.length === 1, 3000, 'the owner lost');
    assert.equal(await lost[0].portFree, true, 'its port is free when the others hear it has ended');
  });
});
