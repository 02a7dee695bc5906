// A process of its own that runs the engine (a TunnelManager from src), so a test can stop it
// (SIGSTOP, as a sleeping machine does) or run it with its own view of /etc/hosts. It gets its
// servers and tunnels as JSON in argv[2], reports each tunnel's state over IPC.
import { TunnelManager, type ReconnectPolicy, type ServerConfig, type TunnelSpec } from '../../src/engine';
import { staticServers } from './servers';

interface Setup {
  servers: ServerConfig[];
  tunnels: TunnelSpec[];
  reconnect?: Partial<ReconnectPolicy>;
}

/** To the test, while it listens: after it disconnects (disposing) there is no one to tell. */
function send(message: object): void {
  if (process.connected) process.send!(message, undefined, undefined, () => undefined);
}

const setup = JSON.parse(process.argv[2]) as Setup;
const manager = new TunnelManager({ servers: staticServers(...setup.servers), reconnect: setup.reconnect, ...(process.env.ENGINE_LOG ? { log: (m: string) => console.error(`[engine ${Date.now() % 100000}] ${m}`) } : {}) });
manager.onDidChangeTunnel((t) => send({ tunnel: { id: t.id, state: t.state, localPort: t.localPort, lastError: t.lastError } }));

void (async () => {
  const created = [];
  for (const spec of setup.tunnels) created.push(await manager.createTunnel(spec));
  send({ ready: created.map((t) => ({ id: t.id, state: t.state, localPort: t.localPort })) });
})().catch((err: Error) => send({ error: err.message }));

process.on('disconnect', () => {
  void manager.dispose().finally(() => process.exit(0));
});
