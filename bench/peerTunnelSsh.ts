// A Node peer of the engine: the `tunnel-ssh` package as its README uses it (createTunnel with
// the server, listen and forward options), in its own process. Bundled only when tunnel-ssh
// can be resolved (a devDependency; NODE_PATH may point at another install).
import './blockNative';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import type { ConnectConfig } from 'ssh2';
import { connectConfig, type PeerConfig } from './peerConfig';

interface TunnelSsh {
  createTunnel(
    tunnelOptions: { autoClose: boolean; reconnectOnError: boolean },
    serverOptions: net.ListenOptions,
    sshOptions: ConnectConfig,
    forwardOptions: { srcAddr?: string; srcPort?: number; dstAddr: string; dstPort: number },
  ): Promise<[net.Server, unknown]>;
}
// Required, so the type check does not need the package installed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createTunnel } = require('tunnel-ssh') as TunnelSsh;

// tunnel-ssh pipes each client socket with no error listener, so a client that resets its
// connection (iperf3 at the end of a run) ends the whole process with ECONNRESET. That is a
// robustness flaw, not the speed measured here: noted once, and the process goes on.
let noted = false;
process.on('uncaughtException', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') throw err;
  if (!noted) console.error(`tunnel-ssh peer: an unhandled ${err.code} on a client socket (it would end a process of tunnel-ssh's own)`);
  noted = true;
});

const config = JSON.parse(process.argv[2]) as PeerConfig;
createTunnel(
  { autoClose: false, reconnectOnError: false },
  // An explicit loopback port: with port 0, tunnel-ssh listens on every interface.
  { host: '127.0.0.1', port: config.listenPort },
  connectConfig(config, fs.readFileSync(config.privateKeyPath)),
  { dstAddr: '127.0.0.1', dstPort: config.targetPort },
).then(
  () => process.send!({ port: config.listenPort }),
  (err: Error) => {
    console.error(`tunnel-ssh peer: ${err.message}`);
    process.exit(1);
  },
);
process.on('disconnect', () => process.exit(0));
