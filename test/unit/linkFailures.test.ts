import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { TunnelError, type ServerConfig } from '../../src/engine';
import { linkFailureOf, NETWORK_FAILURES, socketFailure } from '../../src/engine/base/errors';
import { freePort } from '../fixtures/sshd';
import { connectError } from '../helpers/oneServer';

/** A server at `port` on loopback. */
const box = (port: number, connectTimeout?: number): ServerConfig => ({ alias: 'box', hostName: '127.0.0.1', port, user: 'nobody', identityAgent: false, connectTimeout });

describe('link failures: a dial says what broke by code, not in words', function () {
  this.timeout(30_000);

  it('a port nobody listens on is unreachable, a network failure', async () => {
    const err = await connectError(box(await freePort()));
    assert.equal(err.code, 'CONNECT_FAILED');
    assert.equal(err.failure, 'unreachable');
    assert.ok(NETWORK_FAILURES.includes(linkFailureOf(err)!));
  });

  it('a server that closes during the handshake is closed; one that never answers is timeout', async () => {
    const sockets = new Set<net.Socket>();
    const closing = net.createServer((s) => s.destroy());
    const silent = net.createServer((s) => sockets.add(s));
    await new Promise<void>((r) => closing.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const closed = await connectError(box((closing.address() as net.AddressInfo).port));
      assert.equal(linkFailureOf(closed), 'closed', closed.message);
      const timedOut = await connectError(box((silent.address() as net.AddressInfo).port, 1));
      assert.equal(timedOut.code, 'TIMEOUT');
      assert.equal(linkFailureOf(timedOut), 'timeout');
    } finally {
      for (const s of sockets) s.destroy();
      closing.close();
      silent.close();
    }
  });

  it('socket errors count as network by their errno, whatever their wording', () => {
    assert.equal(socketFailure(Object.assign(new Error('something odd'), { code: 'ECONNRESET' })), 'reset');
    assert.equal(socketFailure(new Error('read ECONNRESET but no code')), 'protocol');
    assert.equal(socketFailure(Object.assign(new Error('whatever'), { level: 'client-socket' })), 'reset');
    assert.equal(linkFailureOf(new TunnelError('AUTH_FAILED', 'Timed out, connection lost (words only)')), undefined);
    assert.equal(linkFailureOf(new TunnelError('TIMEOUT', 'no answer')), 'timeout');
  });
});
