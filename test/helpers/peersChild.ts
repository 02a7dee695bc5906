// A process of its own with an engine and a Peers, as a window, `up` or `mcp` would run them, so a
// test can start several together and kill one for real. Setup as JSON in argv[2]; the test
// drives it over IPC ({ id, cmd, ... } → { id, result } or { id, error }) and hears its
// onDidLose events and log lines.
import { TunnelError, TunnelManager, type ServerConfig, type TunnelInfo, type TunnelSpec } from '../../src/engine';
import { Peers } from '../../src/peers';
import type { PeerKind } from '../../src/peers';
import { staticServers } from './servers';

export interface PeersChildSetup {
  servers: ServerConfig[];
  dir: string;
  kind: PeerKind;
  folder?: string;
}

function send(message: object): void {
  if (process.connected) process.send!(message, undefined, undefined, () => undefined);
}

const setup = JSON.parse(process.argv[2]) as PeersChildSetup;
const manager = new TunnelManager({ servers: staticServers(...setup.servers) });
const specs = new Map<string, TunnelSpec>();

async function create(spec: TunnelSpec): Promise<TunnelInfo> {
  const info = await manager.createTunnel(spec);
  specs.set(info.id, spec);
  return info;
}

const peers = Peers.start({
  kind: setup.kind,
  folder: setup.folder,
  dir: setup.dir,
  manager,
  actions: {
    close: (id) => manager.closeTunnel(id),
    restart: async (id) => {
      const spec = specs.get(id);
      if (!spec) throw new TunnelError('INVALID_SPEC', `No open tunnel has id ${id}.`);
      await manager.closeTunnel(id);
      return create(spec);
    },
    settingsKey: (id) => (specs.get(id)?.name ? `settings:${specs.get(id)!.name}` : undefined),
  },
  log: (line) => send({ log: line }),
});
/** Set by `takeOver`: a lost tunnel is wanted again here, as a window wants its autoStart tunnels. */
let takeOver = false;
peers.onDidLose((e) => {
  send({ lose: { peer: e.peer, tunnels: e.tunnels.map((t) => t.info), at: Date.now() } });
  if (!takeOver) return;
  for (const { info } of e.tunnels) {
    const spec: TunnelSpec = { server: info.server, type: info.type, localHost: info.localHost, localPort: info.localPort, remoteHost: info.remoteHost, remotePort: info.remotePort };
    want(spec, 5000).then(
      (result) => send({ takeover: { ...result, at: Date.now() } }),
      (err: Error) => send({ takeover: { error: err.message, at: Date.now() } }),
    );
  }
});

/** What a window does for a settings tunnel it wants: open it, unless another process serves it (or wins the port). */
async function want(spec: TunnelSpec, waitMs: number): Promise<{ owner?: TunnelInfo; servedBy?: string }> {
  const served = peers.serving(spec);
  if (served) return { servedBy: served.peer.id };
  try {
    return { owner: await create(spec) };
  } catch (err) {
    if (!(err instanceof TunnelError) || err.code !== 'PORT_IN_USE') throw err;
    const later = await peers.whenServed(spec, waitMs);
    if (!later) throw err;
    return { servedBy: later.peer.id };
  }
}

type Command = { id: number; cmd: string; spec?: TunnelSpec; waitMs?: number; tunnelId?: string; peerId?: string };

const commands: Record<string, (c: Command) => Promise<unknown> | unknown> = {
  self: () => peers.self,
  ready: () => peers.ready(),
  create: (c) => create(c.spec!),
  want: (c) => want(c.spec!, c.waitMs ?? 5000),
  close: (c) => manager.closeTunnel(c.tunnelId!),
  mine: () => manager.listTunnels(),
  list: () => peers.list().map((t) => ({ peer: t.peer.id, info: t.info, settingsKey: t.settingsKey })),
  peers: () => peers.peers().map((p) => p.id),
  serving: (c) => peers.serving(c.spec!)?.peer.id ?? null,
  askClose: (c) => peers.close(c.peerId!, c.tunnelId!),
  askRestart: (c) => peers.restart(c.peerId!, c.tunnelId!),
  socket: () => peers.socketPath ?? null,
  takeOver: () => {
    takeOver = true;
  },
  /** Ends the process at once, without disposing anything (as an uncaught error would). */
  hardExit: () => {
    setImmediate(() => process.exit(3));
  },
  exit: async () => {
    await peers.dispose(() => manager.dispose());
    setImmediate(() => process.exit(0));
  },
};

process.on('message', (c: Command) => {
  void (async () => {
    try {
      send({ id: c.id, result: (await commands[c.cmd](c)) ?? null });
    } catch (err) {
      send({ id: c.id, error: { code: (err as TunnelError).code, message: (err as Error).message } });
    }
  })();
});

process.on('disconnect', () => {
  void peers.dispose(() => manager.dispose()).finally(() => process.exit(0));
});
send({ started: peers.self });
