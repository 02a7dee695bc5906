import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

/** The processes holding established TCP connections to `port` on loopback, from `ss -tnp`. */
export function clientsOf(port: number): { process: string; pid: number; localPort: number }[] {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const local = /^\S+\s+\S+\s+(\S+):(\d+)\s/.exec(line);
      const proc = /users:\(\("([^"]+)",pid=(\d+)/.exec(line);
      return { process: proc?.[1] ?? '?', pid: Number(proc?.[2] ?? 0), localPort: Number(local?.[2] ?? 0) };
    });
}

/** Processes started by this test process, with their command lines (from /proc). */
export function childrenOfUs(): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      out.push({ pid: Number(entry), cmdline: fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
