import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { once } from 'node:events';
import { TunnelManager } from '../../src/engine';
import { Client } from 'ssh2';
import { consumesChunks, gcmFastPathCounters } from '../../src/engine/ssh2';
import { connect, pipeThrough, readAll, readBytes, waitFor } from '../helpers/net';
import { Relay } from '../helpers/relay';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';

/** A service that sends `size` bytes of a fixed pseudo-random stream to whoever connects, then closes. */
async function startSource(data: Buffer): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.end(data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('AES-GCM data path without extra copies (src/engine/ssh2/gcmFastPath.ts)', function () {
  this.timeout(120_000);
  // sshd rekeys every 1 MiB, so the transfers below cross many key changes in both directions.
  const suite = sshdWithEcho({ extraConfig: ['RekeyLimit 1M'] });

  // The SSH socket hands ssh2 views of one reused read buffer only while this holds.
  for (const [cipher, expected] of [['aes128-gcm@openssh.com', true], ['aes128-ctr', false]] as const) {
    it(`${cipher}: ssh2 gets views of the shared read buffer ${expected ? 'once the new keys are in use' : 'never'}, copies during the handshake`, async () => {
      const client = new Client();
      const seen: boolean[] = [];
      try {
        await new Promise<void>((resolve, reject) => {
          client.once('handshake', () => seen.push(consumesChunks(client)));
          client.once('ready', () => resolve());
          client.once('error', reject);
          seen.push(consumesChunks(client));
          client.connect({
            host: '127.0.0.1',
            port: suite.sshd.port,
            username: suite.sshd.user,
            privateKey: fs.readFileSync(suite.sshd.clientKeyPath),
            algorithms: { cipher: [cipher] as never },
            hostVerifier: () => true,
          });
        });
        seen.push(consumesChunks(client));
        assert.deepEqual(seen, [false, expected, expected]);
      } finally {
        client.end();
      }
    });
  }

  for (const cipher of ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']) {
    it(`${cipher}: 24 MiB each way in writes of random sizes, identical SHA-256, across rekeys`, async () => {
      const manager = new TunnelManager({ servers: staticServers(suite.sshd.server('gcm', { ciphers: [cipher] })), log: process.env.DBG_LOG ? (m) => console.log(m) : undefined });
      try {
        const before = { ...gcmFastPathCounters };
        const info = await manager.createTunnel({ server: 'gcm', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port });
        const size = 24 * 1024 * 1024;
        // Writes of random sizes, 1 byte to 100 KB.
        const result = await pipeThrough(await connect(info.localPort), size, () => 1 + Math.floor(Math.random() * 100_000));
        assert.equal(result.bytes, size);
        assert.equal(result.received, result.sent);
        // Both paths did the work: most packets went out through the fast path (those sent while a
        // rekey is under way take ssh2's own path),
        // and packets split across socket reads were delivered in pieces.
        assert.ok(gcmFastPathCounters.sent - before.sent >= size / 32768 / 2, `fast path sent ${gcmFastPathCounters.sent - before.sent} packets`);
        assert.ok(gcmFastPathCounters.deliveredInPieces - before.deliveredInPieces > 0, 'some split packets were delivered in pieces');
      } finally {
        await manager.dispose();
      }
    });
  }

  it("the small-packet state of a key (its AES context's keystream and H) is wiped when ssh2 frees the key", async () => {
    const client = new Client();
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve());
        client.once('error', reject);
        client.connect({
          host: '127.0.0.1',
          port: suite.sshd.port,
          username: suite.sshd.user,
          privateKey: fs.readFileSync(suite.sshd.clientKeyPath),
          algorithms: { cipher: ['aes128-gcm@openssh.com'] as never },
          hostVerifier: () => true,
        });
      });
      const protocol = (client as unknown as { _protocol: { _cipher: { _small?: { wipe(): void } }; _decipher: { _small?: { wipe(): void } } } })._protocol;
      const { _cipher: cipher, _decipher: decipher } = protocol;
      // The login itself went through small packets both ways.
      assert.ok(cipher._small && decipher._small, 'both directions have small-packet state after the login');
      const wiped: string[] = [];
      for (const [name, state] of [['cipher', cipher._small], ['decipher', decipher._small]] as const) {
        const wipe = state.wipe.bind(state);
        state.wipe = () => {
          wiped.push(name);
          wipe();
        };
      }
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.end();
      await closed;
      assert.deepEqual(wiped.sort(), ['cipher', 'decipher']);
      assert.equal(cipher._small, undefined);
      assert.equal(decipher._small, undefined);
    } finally {
      client.end();
    }
  });

  for (const cipher of ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']) {
    it(`${cipher}: 300 short connections each way of a few bytes go through the small-packet path, every echo exact`, async () => {
      const manager = new TunnelManager({ servers: staticServers(suite.sshd.server('small', { ciphers: [cipher] })) });
      try {
        const info = await manager.createTunnel({ server: 'small', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port });
        const before = { ...gcmFastPathCounters };
        for (let i = 0; i < 300; i++) {
          const message = randomBytes(1 + (i % 80));
          const socket = await connect(info.localPort);
          socket.write(message);
          assert.deepEqual(await readBytes(socket, message.length), message, `connection ${i}`);
          socket.end();
          await once(socket, 'close');
        }
        // Each connection: open, data, EOF, close out; confirmation, data, EOF, close in, all small.
        const sealed = gcmFastPathCounters.smallSealed - before.smallSealed;
        const opened = gcmFastPathCounters.smallOpened - before.smallOpened;
        assert.ok(sealed >= 300 * 3, `small packets sealed: ${sealed}`);
        assert.ok(opened >= 300 * 3, `small packets opened: ${opened}`);
        assert.equal(manager.getTunnel(info.id)!.state, 'active');
      } finally {
        await manager.dispose();
      }
    });
  }

  it('a small packet whose tag does not verify is not acted on; the session drops with the reason and comes back, the waiting connection goes through the new one', async () => {
    const relay = await Relay.inFrontOf(suite.sshd);
    const logs: string[] = [];
    const manager = new TunnelManager({ servers: staticServers(suite.sshd.server('s', { port: relay.port })), log: (m) => logs.push(m) });
    try {
      const info = await manager.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port });
      const before = { ...gcmFastPathCounters };
      // One bit flipped in the ciphertext of the next packet sshd sends: the confirmation of the channel opened below.
      relay.corruptFromServer(relay.bytesFromServer + 6);
      const socket = await connect(info.localPort);
      socket.end('hello');
      // The channel whose confirmation was damaged never opened: the connection waited for the new session and went through it, once.
      assert.equal((await readAll(socket)).toString(), 'hello');
      assert.equal(gcmFastPathCounters.smallRejected - before.smallRejected, 1, 'the small-packet path found the damaged packet');
      await waitFor(() => manager.getTunnel(info.id)!.state === 'active' && logs.some((m) => /reconnecting/.test(m)), 20_000, 'the session to drop and come back');
      assert.ok(logs.some((m) => /failed its integrity check .*something on the network path altered the SSH stream/.test(m)), `the log says why: ${logs.join(' | ')}`);
      // And the tunnel works again.
      const again = await connect(info.localPort);
      again.end('again');
      assert.equal((await readAll(again)).toString(), 'again');
    } finally {
      await manager.dispose();
      await relay.close();
    }
  });

  it('a packet whose tag does not verify delivers none of its data; the session drops and comes back', async () => {
    const data = randomBytes(16 * 1024 * 1024);
    const source = await startSource(data);
    const relay = await Relay.inFrontOf(suite.sshd);
    const logs: string[] = [];
    const manager = new TunnelManager({
      servers: staticServers(suite.sshd.server('s', { port: relay.port })),
      log: (m) => logs.push(m),
    });
    try {
      const info = await manager.createTunnel({ server: 's', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: source.port });
      // One bit flipped about 4 MiB into what sshd sends: inside some packet of the transfer.
      relay.corruptFromServer(4 * 1024 * 1024 + 12_345);
      const got = await readAll(await connect(info.localPort));
      assert.ok(got.length < data.length, `the transfer was cut short (${got.length} of ${data.length} bytes)`);
      assert.ok(got.length > 1024 * 1024, `what came before the bad packet arrived (${got.length} bytes)`);
      assert.ok(got.equals(data.subarray(0, got.length)), 'every byte delivered is a byte that was sent');
      await waitFor(() => manager.getTunnel(info.id)!.state === 'active' && logs.some((m) => /reconnecting/.test(m)), 20_000, 'the session to drop and come back');
      assert.ok(
        logs.some((m) => /failed its integrity check .*something on the network path altered the SSH stream/.test(m)),
        `the log says why: ${logs.join(' | ')}`,
      );
    } finally {
      await manager.dispose();
      await relay.close();
      await source.close();
    }
  });
});
