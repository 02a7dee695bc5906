// A real ssh-agent on a socket of the test's own, and ssh-add against it, as a person runs them.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitFor } from './net';

export interface SshAgent {
  socket: string;
  /** `ssh-add ARGS` against this agent; its output. */
  add(...args: string[]): string;
  stop(): void;
}

/** Starts `ssh-agent -D` on DIR/agent.sock and adds `keys` (with the -cert.pub beside each, as ssh-add does). */
export async function startSshAgent(dir: string, keys: string[] = []): Promise<SshAgent> {
  const socket = path.join(dir, 'agent.sock');
  const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  await waitFor(() => fs.existsSync(socket), 5000, 'ssh-agent socket');
  const add = (...args: string[]) => execFileSync('ssh-add', args, { env: { ...process.env, SSH_AUTH_SOCK: socket }, encoding: 'utf8', stdio: 'pipe' });
  for (const key of keys) add(key);
  return { socket, add, stop: () => agent.kill() };
}
