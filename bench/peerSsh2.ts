// A Node peer of the engine: plain ssh2 (no engine adapter) used the way other Node tools use
// it for -L (SSH FS, tunnel-ssh, MCP servers): one SSH connection, and for each accepted
// socket `forwardOut` piped both ways. In its own process, so its CPU is its own. One line
// more than most of them: Nagle off on the SSH socket (ssh2 leaves it on), without which a new
// connection waits for a delayed ACK (about 40 ms, as the tunnel-ssh column shows).
import './blockNative';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Client } from 'ssh2';
import { connectConfig, type PeerConfig } from './peerConfig';

const config = JSON.parse(process.argv[2]) as PeerConfig;
const conn = new Client();
conn.on('error', (err) => {
  console.error(`ssh2 peer: ${err.message}`);
  process.exit(1);
});
conn.on('ready', () => {
  conn.setNoDelay(true);
  const server = net.createServer((socket) => {
    conn.forwardOut('127.0.0.1', socket.remotePort ?? 0, '127.0.0.1', config.targetPort, (err, stream) => {
      if (err) {
        socket.destroy();
        return;
      }
      // A client's reset must not end the process (tunnel-ssh leaves it unhandled: bench/peerTunnelSsh.ts).
      socket.on('error', () => stream.destroy());
      stream.on('error', () => socket.destroy());
      socket.pipe(stream).pipe(socket);
    });
  });
  server.listen(config.listenPort, '127.0.0.1', () => process.send!({ port: config.listenPort }));
});
conn.connect(connectConfig(config, fs.readFileSync(config.privateKeyPath)));
process.on('disconnect', () => process.exit(0));
