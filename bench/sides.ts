// The clients under test, behind one interface: the engine (in its own process, via
// TunnelManager), OpenSSH's ssh (one `ssh -N` process per tunnel), a plain Node TCP proxy and
// the Node peers (one process per forward each).
import { fork, type ChildProcess } from 'node:child_process';
import type { ServerConfig, TunnelInfo, TunnelSpec } from '../src/engine';
import { freePort, type SshdFixture } from '../test/fixtures/sshd';
import { startSsh, stopProcess, type SshForward, type SshOptions } from '../test/helpers/openssh';
import type { HostRequest } from './engineHost';
import type { SideName } from './figures';
import type { PeerConfig } from './peerConfig';
import { within } from './watchdog';

export const PINNED_CIPHER = 'aes128-gcm@openssh.com';

/** What to forward. `cipher: 'default'` leaves the cipher to negotiation on both sides. */
export type Forward =
  | { type: 'local'; targetPort: number; cipher?: 'default' }
  | { type: 'remote'; targetPort: number; cipher?: 'default' }
  | { type: 'dynamic'; cipher?: 'default' };

export interface Open {
  /** Where clients connect: the local listener (-L, -D) or the server's (-R). */
  port: number;
  /** The process doing the client's work (engine host or ssh). */
  pid: number;
  close(): Promise<void>;
}

export interface Side {
  readonly name: SideName;
  /** Whether this side can carry the forward (the plain proxy and the Node peers do -L with the pinned cipher only). */
  carries(forward: Forward): boolean;
  /**
   * Opens the forward. `fresh`: in a process that has served nothing yet (every side but the
   * engine starts a process per forward anyway; the engine otherwise uses its kept host).
   */
  open(forward: Forward, fresh?: boolean): Promise<Open>;
}

const localPinned = (forward: Forward) => forward.type === 'local' && forward.cipher !== 'default';

/** How long the engine host has to answer each request: creating a tunnel includes the SSH login; the rest is quick. */
const CALL_BOUND_MS: Record<HostRequest['op'], number> = { init: 30_000, configure: 10_000, create: 60_000, close: 30_000, cold: 60_000, rss: 30_000, cpu: 10_000, exit: 10_000 };
/** How long a forked process (the engine host, a peer, the plain proxy) has to say it is ready. */
const READY_BOUND_MS = 30_000;

/** Waits for `proc`'s first IPC message: rejects if it exits first, or after READY_BOUND_MS naming `what`. */
export function firstMessage<T>(proc: ChildProcess, what: string): Promise<T> {
  return within(new Promise<T>((resolve, reject) => {
    proc.once('message', (m: T) => resolve(m));
    proc.once('exit', (code) => reject(new Error(`${what} exited with ${code} before it was ready`)));
  }), READY_BOUND_MS, `${what} was not ready`, () => proc.kill('SIGKILL'));
}

/** The engine's child process, spoken to over IPC; a request it does not answer in time is an error naming it. */
export class EngineHost {
  /** Whether ssh2 loaded its native crypto add-on in the host (only under --native). */
  nativeCrypto = false;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private constructor(readonly proc: ChildProcess) {
    proc.on('message', (msg: { seq?: number; result?: unknown; error?: string }) => {
      if (msg.seq === undefined) return;
      const p = this.pending.get(msg.seq);
      this.pending.delete(msg.seq);
      if (msg.error !== undefined) p?.reject(new Error(`engine: ${msg.error}`));
      else p?.resolve(msg.result);
    });
    proc.on('exit', (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`the engine host exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  static async start(script: string, servers: ServerConfig[], execArgv: string[] = []): Promise<EngineHost> {
    const proc = fork(script, [], { execArgv: ['--expose-gc', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await firstMessage(proc, 'the engine host');
    const host = new EngineHost(proc);
    try {
      // An engine from before ServerConfig.host became alias (a --base side of steadyProbe) reads `host`.
      const named = servers.map((s) => ({ ...s, host: s.alias }));
      host.nativeCrypto = (await host.call<{ nativeCrypto: boolean }>({ op: 'init', servers: named })).nativeCrypto;
    } catch (err) {
      await host.stop();
      throw err;
    }
    return host;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Sends `req`; rejects if the host gives no answer within `boundMs` (by the request's kind unless given). */
  call<T = unknown>(req: HostRequest, boundMs = CALL_BOUND_MS[req.op]): Promise<T> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.reject(new Error(`the engine host has exited (${this.proc.signalCode ?? this.proc.exitCode}), before '${req.op}'`));
    const seq = ++this.seq;
    const answer = new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ seq, req });
    });
    return within(answer, boundMs, `the engine host gave no answer to '${req.op}'`, () => this.pending.delete(seq));
  }

  /** Asks the host to exit; one that does not within the grace (stalled) is killed. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    const asked = await this.call({ op: 'exit' }, 5_000).then(() => true, () => false);
    if (!asked) this.proc.kill('SIGKILL');
    await within(exited, 10_000, 'the engine host did not exit', () => this.proc.kill('SIGKILL'));
  }
}

/** Server names the engine host is given: pinned cipher, and default negotiation. */
export function engineServers(sshd: SshdFixture): ServerConfig[] {
  return [sshd.server('bench', { ciphers: [PINNED_CIPHER] }), sshd.server('bench-default')];
}

export function engineSpec(forward: Forward, remotePort?: number): TunnelSpec {
  const server = forward.cipher === 'default' ? 'bench-default' : 'bench';
  if (forward.type === 'local') return { server, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: forward.targetPort };
  if (forward.type === 'remote') return { server, type: 'remote', localPort: forward.targetPort, remoteHost: '127.0.0.1', remotePort };
  return { server, type: 'dynamic', localPort: 0 };
}

export class EngineSide implements Side {
  readonly name = 'engine' as const;
  /** `host`: the kept engine process; `startFresh`: a new one, for figures of a process that has served nothing. */
  constructor(private readonly host: EngineHost, private readonly startFresh: () => Promise<EngineHost>) {}

  carries(): boolean {
    return true;
  }

  async open(forward: Forward, fresh = false): Promise<Open> {
    const host = fresh ? await this.startFresh() : this.host;
    const remotePort = forward.type === 'remote' ? await freePort() : undefined;
    let info: TunnelInfo;
    try {
      info = await host.call<TunnelInfo>({ op: 'create', spec: engineSpec(forward, remotePort) });
    } catch (err) {
      if (fresh) await host.stop();
      throw err;
    }
    return {
      port: forward.type === 'remote' ? info.remotePort! : info.localPort,
      pid: host.pid,
      close: async () => {
        await host.call({ op: 'close', id: info.id });
        if (fresh) await host.stop();
      },
    };
  }
}

/** The forward as ssh's command line writes it, listening on (or, for -R, at the server on) `port`. */
export function sshForward(forward: Forward, port: number): SshForward {
  if (forward.type === 'local') return { flag: '-L', spec: `127.0.0.1:${port}:127.0.0.1:${forward.targetPort}` };
  if (forward.type === 'remote') return { flag: '-R', spec: `127.0.0.1:${port}:127.0.0.1:${forward.targetPort}` };
  return { flag: '-D', spec: `127.0.0.1:${port}` };
}

/** ssh's options for `forward`: the pinned cipher unless it asks for the default. */
export function sshOptions(forward: Forward): SshOptions {
  return forward.cipher === 'default' ? {} : { cipher: PINNED_CIPHER };
}

/** Forks a bench script that answers `{ port }` over IPC once it listens. */
async function forkListening(what: string, script: string, args: string[]): Promise<Open> {
  const proc = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await firstMessage<{ port: number }>(proc, what);
  return { port, pid: proc.pid!, close: () => stopProcess(proc) };
}

/** A plain Node TCP proxy to the target (no SSH): what Node alone costs, which no Node tunnel can undercut. */
export class PlainProxySide implements Side {
  readonly name = 'proxy' as const;
  constructor(private readonly script: string) {}

  carries(forward: Forward): boolean {
    return localPinned(forward);
  }

  async open(forward: Forward): Promise<Open> {
    if (forward.type !== 'local') throw new Error('the plain proxy does -L only');
    return forkListening('the plain proxy', this.script, [String(forward.targetPort)]);
  }
}

/** A Node tunnel other tools use (bench/peerSsh2.ts, bench/peerTunnelSsh.ts): -L only, pinned cipher. */
export class NodePeerSide implements Side {
  constructor(readonly name: 'ssh2' | 'tunnelSsh', private readonly script: string, private readonly sshd: SshdFixture) {}

  carries(forward: Forward): boolean {
    return localPinned(forward);
  }

  async open(forward: Forward): Promise<Open> {
    if (forward.type !== 'local') throw new Error(`the ${this.name} peer does -L only`);
    const config: PeerConfig = {
      host: this.sshd.host, port: this.sshd.port, username: this.sshd.user, privateKeyPath: this.sshd.clientKeyPath,
      cipher: PINNED_CIPHER, listenPort: await freePort(), targetPort: forward.targetPort,
    };
    return forkListening(`the ${this.name} peer`, this.script, [JSON.stringify(config)]);
  }
}

export class OpenSshSide implements Side {
  readonly name = 'openssh' as const;
  constructor(private readonly sshd: SshdFixture) {}

  carries(): boolean {
    return true;
  }

  async open(forward: Forward): Promise<Open> {
    const port = await freePort();
    // -R listens at the server, which is this machine too.
    const ssh = await startSsh(this.sshd, [sshForward(forward, port)], [port], sshOptions(forward));
    return { port, pid: ssh.proc.pid!, close: ssh.stop };
  }
}
