// Whether another process of the person still runs, as each platform can tell: a signal 0
// (Windows: libuv asks the process's exit code), and on Linux /proc for zombies and exiting threads.
import * as fs from 'node:fs';

/** How long a process whose connection closed may take to be gone. */
const EXIT_WAIT_MS = 1000;

/**
 * Whether every thread of `pid` has ended, so its sockets are closed. Its main thread shows as a
 * zombie while the others (libuv's, V8's) still exit holding the process's sockets: that is not yet it.
 */
function ended(pid: number): boolean {
  if (process.platform !== 'linux') return !alive(pid);
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // Reaped already.
    return !alive(pid);
  }
  const state = /^State:\s+(\S)/m.exec(status)?.[1];
  const threads = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
  return state === 'Z' && threads <= 1;
}

/** Resolves once `pid` has ended, or after EXIT_WAIT_MS (its pid reused, or a connection closed by a live process). */
export async function whenGone(pid: number): Promise<void> {
  const deadline = Date.now() + EXIT_WAIT_MS;
  while (!ended(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  // A killed process not yet reaped by its parent (a zombie) still answers kill 0 on Linux.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true;
  }
}
