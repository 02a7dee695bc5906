// Listening sockets as macOS and the BSDs print them: `netstat -an -p tcp` (the port after the
// address's last dot, `*.22`) and `lsof -nP -iTCP -sTCP:LISTEN -Fpcn` (field output: p pid,
// c command, n address), which Linux's lsof prints the same way. Pure.
import type { RawListener } from './listeners';
import { splitAddress } from './linuxOutput';

/** BSD netstat's `127.0.0.1.8080`, `*.22`, `::1.6379`, `fe80::1%lo0.5353`: the port after the last dot. */
function bsdAddress(text: string): { host: string; port: number; device?: string } | undefined {
  const dot = text.lastIndexOf('.');
  if (dot < 0) return undefined;
  return splitAddress(`${text.slice(0, dot)}:${text.slice(dot + 1)}`);
}

/** `netstat -an -p tcp` of macOS, FreeBSD, OpenBSD, NetBSD: tcp4/tcp6/tcp46 lines in LISTEN. No processes. */
export function parseBsdNetstat(text: string): RawListener[] {
  const out: RawListener[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^tcp(?:4|6|46)?\s+\d+\s+\d+\s+(\S+)\s+\S+\s+LISTEN\b/.exec(line.trim());
    const address = m && bsdAddress(m[1]);
    if (!address) continue;
    out.push({ ...address, processes: [] });
  }
  return out;
}

/** `lsof -nP -iTCP -sTCP:LISTEN -Fpcn`: a `p` line opens a process, `c` names it, each `n` is one address it listens on. */
export function parseLsofListen(text: string): RawListener[] {
  const out: RawListener[] = [];
  let pid: number | undefined;
  let name = '?';
  for (const line of text.split(/\r?\n/)) {
    const field = line[0];
    const value = line.slice(1);
    if (field === 'p') {
      pid = Number(value);
      name = '?';
    } else if (field === 'c') name = value;
    else if (field === 'n') {
      // `127.0.0.1:8080`, `*:9000`, `[::1]:3000`; a connection would read `a->b`.
      if (value.includes('->')) continue;
      const address = splitAddress(value);
      if (address) out.push({ ...address, processes: pid === undefined ? [] : [{ name, pid }] });
    }
  }
  return out;
}

/** Adds the processes lsof named to the listeners netstat listed (netstat names none on the BSDs). */
export function namedBy(listeners: readonly RawListener[], named: readonly RawListener[]): RawListener[] {
  return listeners.map((l) => {
    const same = named.filter((n) => n.port === l.port && (n.host === l.host || n.host === '*' || l.host === '*'));
    return same.length ? { ...l, processes: same.flatMap((n) => n.processes) } : l;
  });
}
