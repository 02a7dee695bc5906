// ConnectTimeout bounds the server, not the person: while a host-key or password question is
// open the clock stops (a person comparing a fingerprint takes longer than 1 s), and it still
// ends a handshake with a server that says nothing.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { TunnelError, TunnelManager, type HostKeyQuestion } from '../../src/engine';
import { SshdFixture } from '../fixtures/sshd';
import { waitFor } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { startStalledListener } from '../helpers/stalled';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('connect timeout and the person\'s time', function () {
  this.timeout(60_000);
  let sshd: SshdFixture;

  before(async () => {
    sshd = await SshdFixture.start();
  });
  after(async () => {
    await sshd?.stop();
  });

  it('a host-key question answered after three times the timeout still connects', async () => {
    const knownHosts = path.join(sshd.dir, 'slow_known_hosts');
    const server = sshd.server('slow', { connectTimeout: 1, strictHostKeyChecking: undefined, userKnownHostsFile: knownHosts, globalKnownHostsFile: [] });
    const asked: HostKeyQuestion[] = [];
    const manager = new TunnelManager({
      servers: staticServers(server),
      prompts: {
        hostKey: async (q) => {
          asked.push(q);
          await sleep(3000);
          return 'trust-remember';
        },
      },
      reconnect: { maxAttempts: 0 },
    });
    try {
      const status = await manager.connectServer('slow');
      assert.equal(status.state, 'connected');
      assert.equal(asked.length, 1);
      assert.match(fs.readFileSync(knownHosts, 'utf8'), /ssh-ed25519/);
    } finally {
      await manager.dispose();
    }
  });

  it('a server that never speaks still times out after connectTimeout', async () => {
    const sockets: net.Socket[] = [];
    let closed = 0;
    const silent = net
      .createServer((s) => {
        sockets.push(s);
        s.on('error', () => undefined);
        s.on('close', () => closed++);
        s.resume();
      })
      .listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const port = (silent.address() as net.AddressInfo).port;
    const manager = new TunnelManager({ servers: staticServers(sshd.server('silent', { port, connectTimeout: 1 })), reconnect: { maxAttempts: 0 } });
    const started = Date.now();
    try {
      await assert.rejects(manager.connectServer('silent'), (err: TunnelError) => err.code === 'TIMEOUT' && /Timed out after 1s/.test(err.message));
      const took = Date.now() - started;
      assert.ok(took >= 900 && took < 5000, `timed out after ${took} ms`);
      // The socket is torn down, not left half-open on our side.
      await sleep(300);
      assert.equal(sockets.length, 1);
      assert.equal(closed, 1, 'the silent server saw the connection end');
    } finally {
      await manager.dispose();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('a TCP connect still pending at connectTimeout is abandoned, not left to connect (and log in) later', async () => {
    // Its accept queue is full: our SYNs go unanswered, as with a firewall that drops them.
    const stalled = await startStalledListener();
    const pending = () => execFileSync('ss', ['-tnH', 'state', 'syn-sent', `( dport = :${stalled.port} )`], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
    const manager = new TunnelManager({ servers: staticServers(sshd.server('dropped', { port: stalled.port, connectTimeout: 1 })), reconnect: { maxAttempts: 0 } });
    try {
      const before = pending(); // the helper's own last filler waits too
      await assert.rejects(manager.connectServer('dropped'), (err: TunnelError) => err.code === 'TIMEOUT');
      await waitFor(() => pending() === before, 3000, 'the timed-out connect withdrawn');
    } finally {
      await manager.dispose();
      stalled.close();
    }
  });
});
