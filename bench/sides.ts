// The two clients under test, behind one interface: the engine (in its own process, via
// TunnelManager) and OpenSSH's ssh (one `ssh -N` process per tunnel).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import type { ServerConfig, TunnelInfo, TunnelSpec } from '../src/engine';
import type { SshdFixture } from '../test/fixtures/sshd';
import type { HostRequest } from './engineHost';
import { isListening } from './load';

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
  readonly name: 'engine' | 'openssh';
  open(forward: Forward): Promise<Open>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function until(what: string, ready: () => boolean, timeoutMs = 10_000, failed?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    const why = failed?.();
    if (why) throw new Error(why);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The engine's child process, spoken to over IPC. */
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
    proc.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`engine host exited with ${code}`));
      this.pending.clear();
    });
  }

  static async start(script: string, servers: ServerConfig[], execArgv: string[] = []): Promise<EngineHost> {
    const proc = fork(script, [], { execArgv: ['--expose-gc', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      proc.once('message', () => resolve());
      proc.once('exit', (code) => reject(new Error(`engine host exited with ${code} before it was ready`)));
    });
    const host = new EngineHost(proc);
    host.nativeCrypto = (await host.call<{ nativeCrypto: boolean }>({ op: 'init', servers })).nativeCrypto;
    return host;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  call<T = unknown>(req: HostRequest): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ seq, req });
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    await this.call({ op: 'exit' }).catch(() => undefined);
    await exited;
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
  constructor(private readonly host: EngineHost) {}

  async open(forward: Forward): Promise<Open> {
    const remotePort = forward.type === 'remote' ? await freePort() : undefined;
    const info = await this.host.call<TunnelInfo>({ op: 'create', spec: engineSpec(forward, remotePort) });
    return {
      port: forward.type === 'remote' ? info.remotePort! : info.localPort,
      pid: this.host.pid,
      close: () => this.host.call({ op: 'close', id: info.id }).then(() => undefined),
    };
  }
}

export function sshArgs(sshd: SshdFixture, forward: Forward, port: number): string[] {
  const args = [
    '-N', '-F', '/dev/null',
    '-o', 'ExitOnForwardFailure=yes', '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
    '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'LogLevel=ERROR',
    '-i', sshd.clientKeyPath, '-p', String(sshd.port), '-l', sshd.user,
  ];
  if (forward.cipher !== 'default') args.push('-c', PINNED_CIPHER);
  if (forward.type === 'local') args.push('-L', `127.0.0.1:${port}:127.0.0.1:${forward.targetPort}`);
  else if (forward.type === 'remote') args.push('-R', `127.0.0.1:${port}:127.0.0.1:${forward.targetPort}`);
  else args.push('-D', `127.0.0.1:${port}`);
  args.push(sshd.host);
  return args;
}

/** Starts `ssh -N` for one forward; `proc` exits on close. */
export function spawnSsh(sshd: SshdFixture, forward: Forward, port: number): { proc: ChildProcess; stderr: () => string } {
  const proc = spawn('ssh', sshArgs(sshd, forward, port), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { proc, stderr: () => stderr };
}

export async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

/** A plain Node TCP proxy to the target: a reference, recorded in the engine's column. */
export class PlainProxySide implements Side {
  readonly name = 'engine' as const;
  constructor(private readonly script: string) {}

  async open(forward: Forward): Promise<Open> {
    if (forward.type === 'dynamic') throw new Error('the plain proxy has a fixed target');
    const proc = fork(this.script, [String(forward.targetPort)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      proc.once('message', (m: { port: number }) => resolve(m));
      proc.once('exit', (code) => reject(new Error(`plain proxy exited with ${code}`)));
    });
    return { port, pid: proc.pid!, close: () => stopProcess(proc) };
  }
}

export class OpenSshSide implements Side {
  readonly name = 'openssh' as const;
  constructor(private readonly sshd: SshdFixture) {}

  async open(forward: Forward): Promise<Open> {
    const port = await freePort();
    const { proc, stderr } = spawnSsh(this.sshd, forward, port);
    const exited = () => (proc.exitCode !== null ? `ssh exited with ${proc.exitCode}: ${stderr().trim()}` : undefined);
    try {
      await until(`ssh to listen on ${port}`, () => isListening(port), 10_000, exited);
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
    return { port, pid: proc.pid!, close: () => stopProcess(proc) };
  }
}
