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
