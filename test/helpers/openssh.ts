import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { SshdFixture } from '../fixtures/sshd';

/** A forward as ssh's command line writes it, without the flag: `-L 127.0.0.1:P:127.0.0.1:S` is `{ flag: '-L', spec: '127.0.0.1:P:127.0.0.1:S' }`. */
export interface SshForward {
  flag: '-L' | '-R' | '-D';
  spec: string;
}

export interface SshOptions {
  /** Where ssh connects: the fixture's port unless given (a relay's in front of it). */
  port?: number;
  /** `-c`: the one cipher to offer. */
  cipher?: string;
}

/** Whether something listens on TCP `port` on this machine (IPv4), read from /proc without connecting. */
export function isListening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const table = fs.readFileSync('/proc/net/tcp', 'utf8');
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[3] === '0A' && f[1]?.endsWith(`:${hex}`)) return true;
  }
  return false;
}

/**
 * The arguments of `ssh -N` with the fixture's key and known_hosts and no config, agent or
 * other identity: OpenSSH as the reference a test or benchmark compares the engine with.
 */
export function sshArgs(sshd: SshdFixture, forwards: SshForward[], options: SshOptions = {}): string[] {
  const args = [
    '-N', '-F', '/dev/null',
    '-o', 'ExitOnForwardFailure=yes', '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`,
    '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'LogLevel=ERROR',
    '-i', sshd.clientKeyPath, '-p', String(options.port ?? sshd.port), '-l', sshd.user,
  ];
  if (options.cipher) args.push('-c', options.cipher);
  for (const f of forwards) args.push(f.flag, f.spec);
  args.push(sshd.host);
  return args;
}

/** OpenSSH's `ssh -F CONFIG ALIAS true` in batch mode: whether it logged in, and what it said. */
export function sshWithConfig(configFile: string, alias: string): { ok: boolean; stderr: string } {
  const run = spawnSync('ssh', ['-F', configFile, '-o', 'BatchMode=yes', alias, 'true'], { encoding: 'utf8', timeout: 20_000 });
  return { ok: run.status === 0, stderr: run.stderr ?? '' };
}

/** Spawns `ssh -N` carrying `forwards`, without waiting for it (a benchmark times that wait itself). */
export function spawnSsh(sshd: SshdFixture, forwards: SshForward[], options: SshOptions = {}): { proc: ChildProcess; stderr(): string } {
  const proc = spawn('ssh', sshArgs(sshd, forwards, options), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { proc, stderr: () => stderr };
}

/** One `ssh -N` process carrying `forwards`, started and waited for until every port in `listening` listens. */
export async function startSsh(sshd: SshdFixture, forwards: SshForward[], listening: number[], options: SshOptions = {}): Promise<{ proc: ChildProcess; stderr(): string; stop(): Promise<void> }> {
  const { proc, stderr } = spawnSsh(sshd, forwards, options);
  // Generous: ssh's handshake through a slow relay on a busy machine can take seconds.
  const deadline = Date.now() + 30_000;
  while (!listening.every(isListening)) {
    if (proc.exitCode !== null) throw new Error(`ssh exited with ${proc.exitCode}: ${stderr().trim()}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`ssh did not listen on ${listening.filter((p) => !isListening(p)).join(', ')} within 30 s: ${stderr().trim()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { proc, stderr, stop: () => stopProcess(proc) };
}

/** Ends a child process with SIGTERM and waits for it; one that ignores it for `graceMs` is killed (a stalled one must not hold up the caller). */
export async function stopProcess(proc: ChildProcess, graceMs = 5_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
