// Real listening processes for tests of what a server listens on: each an echo service (TCP or a
// Unix socket) in a process of its own, optionally run as another user, ended with `stop()`.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const ECHO = `const net = require('net'); const [host, port] = process.argv.slice(1);
const server = net.createServer((s) => s.pipe(s));
server.listen(port.startsWith('/') ? { path: port } : { host, port: Number(port) }, () => console.log('listening'));`;

export interface ListenerProcess {
  pid: number;
  stop(): Promise<void>;
}

/** An echo service listening on host:port (or, with a path for `port`, on that Unix socket), in its own node process; `user` runs it as that user (runuser). */
export async function startListener(host: string, port: number | string, user?: string): Promise<ListenerProcess> {
  const argv = [process.execPath, '-e', ECHO, host, String(port)];
  const child: ChildProcess = user ? spawn('runuser', ['-u', user, '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const up = new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`listener on ${host}:${port} exited with ${code}: ${err}`)));
  });
  await Promise.race([up, new Promise((_, reject) => setTimeout(() => reject(new Error(`listener on ${host}:${port} did not start within 10s: ${err}`)), 10_000))]);
  return {
    // runuser forks the program: its pid is the listener's parent's.
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
