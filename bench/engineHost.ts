// A child process that hosts the engine (bundled like the extension) and obeys the bench
// over IPC, so the engine's CPU, event loop and RSS are its own, as the ssh client's are.
import './noNative';
import { installSsh2Adapter, nativeCryptoLoaded, TunnelManager, type ServerConfig, type TunnelSpec } from '../src/engine';

export type HostRequest =
  | { op: 'init'; servers: ServerConfig[] }
  | { op: 'configure'; maxChannelsPerConnection: number }
  | { op: 'create'; spec: TunnelSpec }
  | { op: 'close'; id: string }
  | { op: 'cold'; spec: TunnelSpec }
  | { op: 'rss' }
  | { op: 'cpu' }
  | { op: 'exit' };

installSsh2Adapter();

let servers: ServerConfig[] = [];
let manager: TunnelManager | undefined;

const source = {
  list: () => servers,
  get: (name: string) => servers.find((s) => s.alias === name),
};

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

async function handle(req: HostRequest): Promise<unknown> {
  switch (req.op) {
    case 'init':
      servers = req.servers;
      manager = new TunnelManager({ servers: source });
      return { nativeCrypto: nativeCryptoLoaded() };
    case 'configure':
      manager!.configure({ maxChannelsPerConnection: req.maxChannelsPerConnection });
      return {};
    case 'create':
      return manager!.createTunnel(req.spec);
    case 'close':
      await manager!.closeTunnel(req.id);
      return {};
    case 'cold': {
      // "Create tunnel" to listening, in a process that has loaded the engine but not yet used it.
      const start = process.hrtime.bigint();
      const cold = new TunnelManager({ servers: source });
      await cold.createTunnel(req.spec);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      await cold.dispose();
      return { ms };
    }
    case 'rss':
      collect();
      await new Promise((r) => setTimeout(r, 50));
      return { rss: process.memoryUsage().rss };
    case 'cpu':
      return process.cpuUsage();
    case 'exit':
      await manager?.dispose();
      setImmediate(() => process.exit(0));
      return {};
  }
}

process.on('message', (msg: { seq: number; req: HostRequest }) => {
  handle(msg.req).then(
    (result) => process.send!({ seq: msg.seq, result }),
    (err: Error) => process.send!({ seq: msg.seq, error: err.message }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
