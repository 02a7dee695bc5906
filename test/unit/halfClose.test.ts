import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { SocksClient } from 'socks';
import { TunnelManager } from '../../src/engine';
import { freePort, SshdFixture } from '../fixtures/sshd';
import { connect } from '../helpers/net';
import { staticServers } from '../helpers/servers';

/** A service that reads until the client shuts down its sending side, then answers the byte count. */
async function startCounter(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let count = 0;
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => (count += c.length));
    s.on('end', () => s.end(`${count}\n`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

/** Sends `size` bytes, shuts down writing, and resolves with what comes back before close. */
function sendThenHalfClose(socket: net.Socket, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.once('error', reject);
    socket.once('close', () => resolve(text.trim()));
    socket.end(randomBytes(size));
  });
}

describe('half-close passes through every tunnel type', function () {
  this.timeout(60_000);
  let sshd: SshdFixture;
  let counter: Awaited<ReturnType<typeof startCounter>>;
  let manager: TunnelManager;
  const size = 3 * 1024 * 1024 + 7;

  before(async () => {
    sshd = await SshdFixture.start();
    counter = await startCounter();
    manager = new TunnelManager({ servers: staticServers(sshd.server('test')) });
  });
  after(async () => {
    await manager?.dispose();
    await counter?.close();
    await sshd?.stop();
  });

  it('-L: the reply sent after the client shut down writing arrives', async () => {
    const info = await manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: counter.port });
    assert.equal(await sendThenHalfClose(await connect(info.localPort), size), String(size));
  });

  it('-D: the reply sent after the client shut down writing arrives', async () => {
    const info = await manager.createTunnel({ server: 'test', type: 'dynamic', localPort: 0 });
    const { socket } = await SocksClient.createConnection({
      proxy: { host: '127.0.0.1', port: info.localPort, type: 5 },
      command: 'connect',
      destination: { host: '127.0.0.1', port: counter.port },
    });
    assert.equal(await sendThenHalfClose(socket, size), String(size));
  });

  it('-R: the reply sent after the client shut down writing arrives', async () => {
    const remotePort = await freePort();
    await manager.createTunnel({ server: 'test', type: 'remote', localPort: counter.port, remoteHost: '127.0.0.1', remotePort });
    assert.equal(await sendThenHalfClose(await connect(remotePort), size), String(size));
  });

  it('-R: a local service that shuts down writing first still receives everything', async () => {
    // The service greets, shuts down its sending side at once, and goes on reading.
    let counted: (n: number) => void = () => undefined;
    const received = new Promise<number>((resolve) => (counted = resolve));
    const greeter = net.createServer({ allowHalfOpen: true }, (s) => {
      let count = 0;
      s.on('data', (c: Buffer) => (count += c.length));
      s.on('end', () => {
        counted(count);
        s.destroy();
      });
      s.end('hello\n');
    });
    await new Promise<void>((resolve) => greeter.listen(0, '127.0.0.1', resolve));
    try {
      const remotePort = await freePort();
      await manager.createTunnel({ server: 'test', type: 'remote', localPort: (greeter.address() as net.AddressInfo).port, remoteHost: '127.0.0.1', remotePort });
      const socket = net.connect({ host: '127.0.0.1', port: remotePort, allowHalfOpen: true });
      socket.on('data', () => undefined);
      await new Promise((r) => socket.once('end', r));
      socket.end(randomBytes(size));
      assert.equal(await received, size);
    } finally {
      greeter.close();
    }
  });
});
