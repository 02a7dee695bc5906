import * as assert from 'node:assert/strict';
import { TunnelError, TunnelManager } from '../../src/engine';
import { freePort } from '../fixtures/sshd';
import { bound, echoRoundTrip, waitFor } from '../helpers/net';
import { HeldHostKeyQuestion, unknownHostServer } from '../helpers/hostKeyQuestion';
import { rejection } from '../helpers/rejection';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';

/** The TunnelError a cancelled creation fails with, checked to say CANCELLED. */
async function cancellation(promise: Promise<unknown>): Promise<TunnelError> {
  const err = await rejection(promise, TunnelError);
  assert.equal(err.code, 'CANCELLED', String(err));
  return err;
}

describe('createTunnel with an AbortSignal', function () {
  this.timeout(60_000);
  const env = sshdWithEcho();
  let manager: TunnelManager;
  let question: HeldHostKeyQuestion;

  beforeEach(() => {
    // 'unknown' has no known_hosts entry: connecting waits on the host-key question until the test answers.
    question = new HeldHostKeyQuestion();
    const servers = staticServers(env.sshd.server('test'), unknownHostServer(env.sshd, 'unknown'));
    manager = new TunnelManager({ servers, reconnect: { maxAttempts: 0 }, prompts: question.prompts });
  });
  afterEach(async () => {
    question.reply('reject');
    await manager.dispose();
  });

  it('an already aborted signal opens nothing', async () => {
    const port = await freePort();
    const err = await cancellation(manager.createTunnel({ server: 'test', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: env.echo.port }, { signal: AbortSignal.abort() }));
    assert.match(err.message, /not opened/);
    assert.deepEqual(manager.listTunnels(), []);
    assert.equal(await bound(port), false);
    assert.equal(manager.serverStatus('test').state, 'disconnected');
  });

  it('aborting while the connection waits on a question rejects at once and leaves no listener, tunnel or session', async () => {
    const port = await freePort();
    const controller = new AbortController();
    const creating = manager.createTunnel({ server: 'unknown', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: env.echo.port }, { signal: controller.signal });
    await question.asked;
    assert.equal(await bound(port), true, 'the listener is bound while connecting');
    const t0 = Date.now();
    controller.abort();
    await cancellation(creating);
    assert.ok(Date.now() - t0 < 1000, 'rejected without waiting for the question');
    assert.deepEqual(manager.listTunnels(), []);
    // The port is free again at once, not only once the person answers.
    await waitFor(async () => !(await bound(port)), 1000, 'listener closed before the answer');
    // The person answers the stale question afterwards: still nothing opens.
    question.reply('trust-once');
    await waitFor(async () => !(await bound(port)), 5000, 'listener closed');
    assert.equal(manager.serverStatus('unknown').state, 'disconnected');
    assert.deepEqual(manager.listTunnels(), []);
  });

  it('a remote forward aborted while the server grants it (connection shared with another tunnel) is withdrawn from the server', async () => {
    const other = await manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port });
    const serverPort = await freePort();
    const controller = new AbortController();
    const creating = manager.createTunnel({ server: 'test', type: 'remote', localHost: '127.0.0.1', localPort: env.echo.port, remoteHost: '127.0.0.1', remotePort: serverPort }, { signal: controller.signal });
    controller.abort(); // createTunnel is now waiting for the server's answer to the forward request
    await cancellation(creating);
    assert.deepEqual(manager.listTunnels().map((t) => t.id), [other.id]);
    // sshd handles requests in order: once a connection through the other tunnel made its round
    // trip, it has answered the forward request too, so the port was bound and must be released.
    await echoRoundTrip(other.localPort, 1024);
    await waitFor(async () => !(await bound(serverPort)), 5000, 'server port released');
    assert.equal(manager.getTunnel(other.id)!.state, 'active', 'the other tunnel is untouched');
  });

  it('a signal that never aborts changes nothing', async () => {
    const info = await manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: env.echo.port }, { signal: new AbortController().signal });
    assert.equal(info.state, 'active');
    assert.equal(await bound(info.localPort), true);
  });
});
