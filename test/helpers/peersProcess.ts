import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ServerConfig, TunnelInfo } from '../../src/engine';
import type { PeerIdentity, PeerKind } from '../../src/peers';
import type { PeersChildSetup } from './peersChild';
import { waitFor } from './net';

export interface LoseEvent {
  peer: PeerIdentity;
  tunnels: TunnelInfo[];
  at: number;
}

/** An engine and a Peers in a process of its own (test/helpers/peersChild.ts). */
export class PeersProcess {
  readonly logs: string[] = [];
  readonly losses: LoseEvent[] = [];
  /** What `takeOver` did on each loss: it became the owner, or another process serves the tunnel. */
  readonly takeovers: { owner?: TunnelInfo; servedBy?: string; error?: string; at: number }[] = [];
  self!: PeerIdentity;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    child.on('exit', () => {
      this.exited = true;
      for (const w of this.waiting.values()) w.reject(new Error('the peers process exited'));
      this.waiting.clear();
    });
    child.on('message', (m: { id?: number; result?: unknown; error?: { code?: string; message: string }; log?: string; lose?: LoseEvent; started?: PeerIdentity; takeover?: PeersProcess['takeovers'][number] }) => {
      if (m.takeover) this.takeovers.push(m.takeover);
      if (m.log !== undefined) this.logs.push(m.log);
      if (m.lose) this.losses.push(m.lose);
      if (m.started) this.self = m.started;
      if (m.id === undefined) return;
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error) w.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else w.resolve(m.result);
    });
  }

  /** Starts the process; resolves once it runs (its Peers started, not necessarily ready). */
  static async start(setup: PeersChildSetup): Promise<PeersProcess> {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'peersChild.ts'), JSON.stringify(setup)], {
      cwd: path.join(__dirname, '../..'),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const p = new PeersProcess(child);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the peers process exited with ${code} before it started`)));
      child.on('message', (m: { started?: unknown }) => {
        if (m.started) resolve();
      });
    });
    return p;
  }

  get pid(): number {
    return this.child.pid!;
  }

  call<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error('the peers process has exited'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd, ...args });
    });
  }

  waitLog(pattern: RegExp, timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.logs.some((l) => pattern.test(l)), timeoutMs, `a log line ${pattern} (got: ${this.logs.join(' | ')})`);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Ends it gracefully (its tunnels close, a bye goes out), or by SIGKILL if it hangs. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.call('exit').catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * A suite's processes (call it inside `describe`): a fresh runtime folder for each test; after
 * it, every process it started is stopped and the folder removed.
 */
export function peersProcesses(servers: () => ServerConfig[]): { readonly dir: string; start(kind: PeerKind, folder?: string): Promise<PeersProcess>; stopAll(): Promise<void> } {
  let dir = '';
  const running: PeersProcess[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-'));
  });
  const stopAll = async () => {
    await Promise.all(running.splice(0).map((p) => p.stop()));
  };
  afterEach(async () => {
    await stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    async start(kind, folder) {
      const p = await PeersProcess.start({ servers: servers(), dir, kind, folder });
      running.push(p);
      return p;
    },
    stopAll,
  };
}
