import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { ReconnectPolicy, ServerConfig, TunnelSpec } from '../../src/engine';
import { waitFor } from './net';

export interface ChildTunnel {
  id: string;
  state: string;
  localPort: number;
  lastError?: string;
}

/**
 * The engine in a child process (test/helpers/engineChild.ts) with the given servers and
 * tunnels. `wrapper` runs before node (e.g. `unshare -m sh -c …` for a private /etc/hosts);
 * it must exec node in the same process so `pid` is the engine's.
 */
export class EngineProcess {
  readonly tunnels = new Map<string, ChildTunnel>();
  /** Every state each tunnel went through, in order. */
  readonly history = new Map<string, { state: string; at: number; lastError?: string }[]>();
  private constructor(private readonly child: ChildProcess) {}

  static async start(setup: { servers: ServerConfig[]; tunnels: TunnelSpec[]; reconnect?: Partial<ReconnectPolicy> }, wrapper: string[] = []): Promise<EngineProcess> {
    const args = ['-r', 'tsx/cjs', path.join(__dirname, 'engineChild.ts'), JSON.stringify(setup)];
    const [command, ...rest] = wrapper.length ? [...wrapper, process.execPath, ...args] : [process.execPath, ...args];
    const child = spawn(command, rest, { cwd: path.join(__dirname, '../..'), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const engine = new EngineProcess(child);
    const ready = new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the engine process exited with ${code} before its tunnels were up`)));
      child.on('message', (msg: { ready?: ChildTunnel[]; tunnel?: ChildTunnel; error?: string }) => {
        if (msg.error) reject(new Error(msg.error));
        for (const t of msg.ready ?? []) engine.record(t);
        if (msg.tunnel) engine.record(msg.tunnel);
        if (msg.ready) resolve();
      });
    });
    await ready;
    return engine;
  }

  private record(t: ChildTunnel): void {
    const was = this.tunnels.get(t.id);
    this.tunnels.set(t.id, t);
    if (was?.state === t.state) return;
    const list = this.history.get(t.id) ?? [];
    list.push({ state: t.state, at: Date.now(), lastError: t.lastError });
    this.history.set(t.id, list);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get list(): ChildTunnel[] {
    return [...this.tunnels.values()];
  }

  allIn(state: string): boolean {
    return this.list.every((t) => t.state === state);
  }

  waitAll(state: string, timeoutMs: number, what = `every tunnel ${state}`): Promise<void> {
    return waitFor(() => this.allIn(state), timeoutMs, what);
  }

  signal(sig: NodeJS.Signals): void {
    process.kill(this.child.pid!, sig);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGCONT');
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
