import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';

/** A child process that listens with the smallest backlog and then never runs its event loop again. */
const STALLED_LISTENER = `
const s = require('net').createServer();
s.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  process.stdout.write(s.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000));
});`;

/**
 * A loopback port where a TCP connect stays pending: its listener's accept queue is full and
 * never drained, so the kernel drops further SYNs. Real sshd's direct-tcpip channels to it
 * wait for the connect, i.e. the channel open hangs.
 */
export async function startStalledListener(): Promise<{ port: number; close(): void }> {
  const child = spawn(process.execPath, ['-e', STALLED_LISTENER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const fillers: net.Socket[] = [];
  for (;;) {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    fillers.push(s);
    const connected = await Promise.race([once(s, 'connect').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
    if (!connected) break;
    if (fillers.length > 20) {
      child.kill('SIGKILL');
      throw new Error('the accept queue of the stalled listener never filled');
    }
  }
  return {
    port,
    close: () => {
      for (const f of fillers) f.destroy();
      child.kill('SIGKILL');
    },
  };
}
