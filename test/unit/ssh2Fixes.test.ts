import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Client, type ClientChannel } from 'ssh2';
import { ssh2Fixes } from '../../src/engine/ssh2Fixes';
import { SshdFixture } from '../fixtures/sshd';
import { startEchoServer } from '../helpers/net';

describe('corrections to ssh2 (src/engine/ssh2Fixes.ts)', function () {
  this.timeout(30_000);
  let sshd: SshdFixture;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let client: Client;

  before(async () => {
    sshd = await SshdFixture.start();
    echo = await startEchoServer();
    client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({ host: '127.0.0.1', port: sshd.port, username: sshd.user, privateKey: fs.readFileSync(sshd.clientKeyPath), hostVerifier: () => true });
    });
  });
  after(async () => {
    client?.end();
    await echo?.close();
    await sshd?.stop();
  });

  it('are in place with the ssh2 version the engine is pinned to', () => {
    assert.deepEqual(ssh2Fixes, { skipRepeatedEnd: true });
  });

  it('destroying a channel whose writable side has finished does not end it again (no error built), and still closes it', async () => {
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      client.forwardOut('127.0.0.1', 0, '127.0.0.1', echo.port, (err, ch) => (err ? reject(err) : resolve(ch))),
    );
    channel.resume();
    await new Promise<void>((resolve) => channel.end(resolve));
    assert.equal(channel.writableFinished, true);
    const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
    // A second end() is what made Node build an ERR_STREAM_ALREADY_FINISHED error.
    const end = channel.end;
    let ends = 0;
    channel.end = function (this: ClientChannel, ...args: unknown[]) {
      ends++;
      return (end as (...a: unknown[]) => ClientChannel).apply(this, args);
    } as ClientChannel['end'];
    channel.destroy();
    assert.equal(ends, 0, 'end() was not called again');
    await closed;
  });
});
