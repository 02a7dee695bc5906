// The live table of `ssh-tunnels up`: one row per tunnel with its state, address, traffic,
// connections and reconnects. Pure: rows in, lines of text out.
import { formatBytes, makeAddress, type TunnelInfo, type TunnelState } from '../engine';

export interface TableRow {
  name: string;
  server: string;
  type: string;
  /** The tunnel while it exists; undefined while opening or after it failed to open. */
  info?: TunnelInfo;
  /** 'opening' before the engine has the tunnel, 'failed' when it could not be opened. */
  pending?: 'opening' | 'failed';
  reconnects: number;
  error?: string;
  /** While its server is being retried: the attempt and when it is due (ms since the epoch). */
  retry?: { attempt: number; at: number };
}



/** Where to connect (local), the proxy URL (dynamic), or the server's port and where it leads (remote). */
export function address(info: TunnelInfo): string {
  const local = info.localPath ?? makeAddress(info.localHost, info.localPort);
  const remote = info.remotePath ?? makeAddress(info.remoteHost, info.remotePort);
  if (info.type === 'dynamic') return `socks5h://${local}`;
  if (info.type === 'local') return `${local} → ${remote}`;
  if (info.socks) return `socks5h://${remote} on ${info.server} → this machine`;
  return `${info.server}:${remote} → ${local}`;
}

const STATE_MARK: Record<TunnelState | 'opening', string> = {
  connecting: '…',
  opening: '…',
  active: '●',
  reconnecting: '↻',
  failed: '✗',
  closed: '○',
};

const HEADERS = ['NAME', 'SERVER', 'TYPE', 'STATE', 'ADDRESS', 'IN', 'OUT', 'CONNS', 'RECONNECTS', 'LAST ERROR'];

/** The table's lines, each cut to `width` columns so none wraps. */
export function renderTable(rows: readonly TableRow[], width = 200): string[] {
  const cells = rows.map((r) => {
    const info = r.info;
    const state = info?.state ?? r.pending ?? 'opening';
    const stats = info?.stats;
    return [
      r.name,
      r.server,
      r.type,
      `${STATE_MARK[state]} ${state}`,
      info ? address(info) : '',
      stats ? formatBytes(stats.bytesIn) : '',
      stats ? formatBytes(stats.bytesOut) : '',
      stats ? `${stats.connectionsActive}/${stats.connectionsTotal}` : '',
      String(r.reconnects),
      (info?.state !== 'active' ? (info?.lastError ?? r.error) : undefined) ?? '',
    ];
  });
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(HEADERS), ...cells.map(line)].map((l) => (l.length > width ? l.slice(0, Math.max(1, width - 1)) + '…' : l));
}

/** One line per tunnel state, as the summary below the table says it. */
export function summary(rows: readonly TableRow[], options: { running?: boolean } = {}): string {
  const count = (state: string) => rows.filter((r) => (r.info?.state ?? r.pending) === state).length;
  const parts = [`${count('active')} active`];
  for (const state of ['connecting', 'opening', 'reconnecting', 'failed']) if (count(state)) parts.push(`${count(state)} ${state}`);
  return `${rows.length} tunnel(s): ${parts.join(', ')}.${options.running === false ? '' : ' Ctrl-C closes them all.'}`;
}
