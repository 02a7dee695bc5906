// The live table of `ssh-tunnels up`: one row per tunnel with its state, address, traffic,
// connections, errors and reconnects, fitted to the terminal's width. Pure: rows in, lines out.
import { formatBytes, localEnd, plural, remoteEnd, type TunnelInfo, type TunnelState } from '../engine';

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
  /** Another process serves it ("window of folder api"): `info` is that process's, as it last told it. */
  servedBy?: string;
}

/** Where to connect (local), the proxy URL (dynamic), or the server's port and where it leads (remote). */
export function address(info: TunnelInfo): string {
  const local = localEnd(info);
  const remote = remoteEnd(info);
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

/** Cuts `text` to `width` columns with an ellipsis in the middle (names, addresses: both ends tell) or at the end (errors). */
export function shorten(text: string, width: number, where: 'middle' | 'end'): string {
  if (text.length <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  if (where === 'end') return text.slice(0, width - 1) + '…';
  const head = Math.ceil((width - 1) / 2);
  return text.slice(0, head) + '…' + text.slice(text.length - (width - 1 - head));
}

/** `host:port` cut to `width`, the port kept whole as long as it can be (`…:5432` at the least). */
function shortenEnd(text: string, width: number): string {
  const colon = text.lastIndexOf(':');
  const port = colon > 0 ? text.slice(colon) : '';
  if (text.length <= width || !/^:\d+$/.test(port) || port.length + 1 > width) return shorten(text, width, 'middle');
  return shorten(text.slice(0, colon), width - port.length, 'end') + port;
}

/** The narrowest `shortenEnd` keeps the port in. */
function endMin(text: string): number {
  const port = /:\d+$/.exec(text)?.[0];
  return Math.min(text.length, port ? port.length + 1 : 4);
}

/** An address shortened keeps where to connect (before the arrow) whole as long as it can, and ports whole. */
function shortenAddress(text: string, width: number): string {
  const arrow = text.indexOf(' → ');
  if (text.length <= width) return text;
  if (arrow < 0) return shortenEnd(text, width);
  const left = text.slice(0, arrow);
  const right = text.slice(arrow + 3);
  const room = width - 3;
  const leftWidth = Math.min(left.length, Math.max(endMin(left), room - endMin(right)));
  if (room - leftWidth < 1) return shortenEnd(left, width);
  return shortenEnd(left, leftWidth) + ' → ' + shortenEnd(right, room - leftWidth);
}

type Key = 'name' | 'server' | 'type' | 'state' | 'address' | 'in' | 'out' | 'conns' | 'errors' | 'reconnects' | 'error';

interface Column {
  key: Key;
  header: string;
  /** The header once the table no longer fits at full width. */
  short?: string;
  /** Narrowest it may be shortened to; absent: never shortened (numbers are never cut). */
  min?: number;
  /** Narrowest that still reads well: cut to this before the gaps narrow further or anything else gives. */
  comfortable?: number;
  cut?: 'middle' | 'end' | 'address';
  /** When even the narrowest widths do not fit, the lowest goes first. */
  priority: number;
}

const COLUMNS: Column[] = [
  { key: 'name', header: 'NAME', min: 6, comfortable: 12, cut: 'middle', priority: 3 },
  { key: 'server', header: 'SERVER', min: 4, comfortable: 8, cut: 'middle', priority: 1 },
  { key: 'type', header: 'TYPE', priority: 0 },
  { key: 'state', header: 'STATE', min: 8, comfortable: 14, cut: 'end', priority: 10 },
  { key: 'address', header: 'ADDRESS', min: 12, comfortable: 28, cut: 'address', priority: 9 },
  { key: 'in', header: 'IN', priority: 7 },
  { key: 'out', header: 'OUT', priority: 6 },
  { key: 'conns', header: 'CONNS', priority: 8 },
  { key: 'errors', header: 'ERRORS', short: 'ERR', priority: 4 },
  { key: 'reconnects', header: 'RECONNECTS', short: 'RECONN', priority: 2 },
  { key: 'error', header: 'LAST ERROR', min: 10, comfortable: 14, cut: 'end', priority: 5 },
];

type Cells = Record<Key, string>;

function cellsOf(r: TableRow): Cells {
  const info = r.info;
  const state = info?.state ?? r.pending ?? 'opening';
  const stats = info?.stats;
  // Failed connections of an active tunnel (the server could not reach the target) show their reason too.
  const showError = !info || info.state !== 'active' || info.stats.errors > 0;
  return {
    name: info?.name ?? r.name,
    server: r.server,
    type: r.type,
    // The state first: when the column is cut, "● active" stays.
    state: `${STATE_MARK[state]} ${state}${r.servedBy ? `, served by ${r.servedBy}` : ''}`,
    address: info ? address(info) : '',
    in: stats ? formatBytes(stats.bytesIn) : '',
    out: stats ? formatBytes(stats.bytesOut) : '',
    conns: stats ? `${stats.connectionsActive}/${stats.connectionsTotal}` : '',
    errors: stats ? String(stats.errors) : '',
    reconnects: String(r.reconnects),
    error: (showError ? (info?.lastError ?? r.error) : undefined) ?? '',
  };
}

interface Layout {
  columns: Column[];
  gap: number;
  /** Cells shortened down to `min` (or only to `comfortable`); `error` shortens only LAST ERROR. */
  shorten?: 'min' | 'comfortable' | 'error';
  /** ERR and RECONN instead of ERRORS and RECONNECTS. */
  shortHeaders?: boolean;
  /** The errors count written in CONNS (`1/3 ✗2`) instead of a column of its own. */
  errorsInConns?: boolean;
  /** Names written in ADDRESS (`pg: 127.0.0.1:5432 → db:5432`) instead of a column of their own. */
  nameInAddress?: boolean;
}

function fitted(text: string, width: number, cut: Column['cut']): string {
  if (text.length <= width) return text;
  return cut === 'address' ? shortenAddress(text, width) : shorten(text, width, cut ?? 'end');
}

/** The lines of one layout, or undefined when its narrowest widths do not fit. */
function tryLayout(cellRows: Cells[], layout: Layout, width: number): string[] | undefined {
  const { columns, gap } = layout;
  const headers = columns.map((c) => (layout.shortHeaders ? (c.short ?? c.header) : c.header));
  const value = (c: Column, cells: Cells) => {
    if (c.key === 'conns' && layout.errorsInConns && cells.errors !== '' && cells.errors !== '0') return `${cells.conns} ✗${cells.errors}`;
    if (c.key === 'address' && layout.nameInAddress && cells.name) return cells.address ? `${cells.name}: ${cells.address}` : cells.name;
    return cells[c.key];
  };
  const values = columns.map((c) => cellRows.map((cells) => value(c, cells)));
  if (layout.nameInAddress && cellRows.some((cells) => cells.name)) headers[columns.findIndex((c) => c.key === 'address')] = 'NAME/ADDRESS';
  const natural = columns.map((_, i) => Math.max(headers[i].length, ...values[i].map((v) => v.length)));
  const room = width - gap * (columns.length - 1);
  let widths = natural;
  if (natural.reduce((a, b) => a + b, 0) > room) {
    if (!layout.shorten) return undefined;
    // Each shortenable column starts at its floor (its header always fits); the room left is
    // shared out a column at a time, narrowest first, up to each one's natural width.
    const floor = (c: Column) => (layout.shorten === 'min' ? c.min : layout.shorten === 'comfortable' || c.key === 'error' ? c.comfortable : undefined);
    widths = columns.map((c, i) => (floor(c) === undefined ? natural[i] : Math.min(natural[i], Math.max(floor(c)!, headers[i].length))));
    let left = room - widths.reduce((a, b) => a + b, 0);
    if (left < 0) return undefined;
    while (left > 0) {
      let pick = -1;
      for (let i = 0; i < columns.length; i++) {
        if (widths[i] >= natural[i]) continue;
        if (pick < 0 || widths[i] < widths[pick] || (widths[i] === widths[pick] && columns[i].priority > columns[pick].priority)) pick = i;
      }
      if (pick < 0) break;
      widths[pick]++;
      left--;
    }
  }
  const fit = (i: number, text: string, cells?: Cells) => {
    const w = widths[i];
    if (text.length <= w) return text;
    // A name in front of an address: each part shortened, so that both still show.
    if (cells && columns[i].key === 'address' && layout.nameInAddress && cells.name && cells.address) {
      const nameWidth = Math.min(cells.name.length, Math.max(4, Math.floor((w - 2) / 3)));
      return `${shorten(cells.name, nameWidth, 'end')}: ${shortenAddress(cells.address, w - nameWidth - 2)}`;
    }
    return fitted(text, w, columns[i].cut);
  };
  const line = (texts: string[], cells?: Cells) =>
    texts
      .map((v, i) => {
        const text = fit(i, v, cells);
        return i === texts.length - 1 ? text : text.padEnd(widths[i]);
      })
      .join(' '.repeat(gap))
      .trimEnd();
  return [line(headers), ...cellRows.map((cells, r) => line(values.map((v) => v[r]), cells))];
}

/**
 * The table's lines, none longer than `width`. A wide terminal shows every column in full. A
 * narrower one folds what other cells already say: TYPE (the address tells it), SERVER when
 * there is one (the summary names it), default names (the address says what they say; NAME then
 * shows given names and tunnels still opening); then it shortens names, addresses and errors
 * with an ellipsis, writes the errors count in CONNS, narrows the gaps, and writes given names in
 * front of the address; only below that are columns left out, lowest priority first. Numbers are
 * never cut.
 */
export function renderTable(rows: readonly TableRow[], width = 200): string[] {
  const cellRows = rows.map(cellsOf);
  // Everything in full but a long error, which is cut at its end.
  const full = tryLayout(cellRows, { columns: COLUMNS, gap: 2, shorten: 'error' }, width);
  if (full) return full;
  const servers = new Set(rows.map((r) => r.server));
  const folded = rows.map((r, i) => ({ ...cellRows[i], name: r.info?.nameGiven === false ? '' : cellRows[i].name }));
  let columns = COLUMNS.filter((c) => c.key !== 'type' && (c.key !== 'server' || servers.size > 1) && (c.key !== 'name' || folded.some((f) => f.name)));
  // Narrower gaps and the errors count in CONNS before any cell is cut; then cells cut to widths that still read well.
  const attempts: Omit<Layout, 'columns'>[] = [
    { gap: 2 },
    { gap: 2, errorsInConns: true },
    { gap: 1 },
    { gap: 1, errorsInConns: true },
  ];
  for (const shortening of ['error', 'comfortable'] as const) {
    for (const attempt of attempts) {
      const cols = attempt.errorsInConns ? columns.filter((c) => c.key !== 'errors') : columns;
      const lines = tryLayout(folded, { ...attempt, shortHeaders: true, shorten: shortening, columns: cols }, width);
      if (lines) return lines;
    }
  }
  // Below comfortable widths, the tightest arrangement leaves the most room to the cells.
  const tight: Omit<Layout, 'columns'> = { gap: 1, errorsInConns: true, shorten: 'min', shortHeaders: true };
  columns = columns.filter((c) => c.key !== 'errors');
  const tightLines = tryLayout(folded, { ...tight, columns }, width);
  if (tightLines) return tightLines;
  // Then given names join the address, and at last columns are left out.
  const last = { ...tight, nameInAddress: true };
  columns = columns.filter((c) => c.key !== 'name');
  for (;;) {
    const lines = tryLayout(folded, { ...last, columns }, width);
    if (lines) return lines;
    if (columns.length === 1) break;
    const lowest = columns.reduce((a, b) => (b.priority < a.priority ? b : a));
    columns = columns.filter((c) => c !== lowest);
  }
  return tryLayout(folded, { ...last, columns }, Infinity)!.map((l) => shorten(l, Math.max(1, width), 'end'));
}

/** Errors the table had to cut, each whole on a line of its own (`✗ NAME: reason`) for under it. */
export function cutErrors(rows: readonly TableRow[], table: readonly string[]): string[] {
  return rows.flatMap((r) => {
    const { name, error } = cellsOf(r);
    return error && !table.some((line) => line.includes(error)) ? [`✗ ${name}: ${error}`] : [];
  });
}

/**
 * One line under the table: how many tunnels, through which server, in which states. While `up`
 * runs it says how to close them; the last one, left on screen at exit (`running: false`), says
 * that these were the states at exit (the closing is told below it).
 */
export function summary(all: readonly TableRow[], options: { running?: boolean } = {}): string {
  const running = options.running ?? true;
  // Tunnels the peers serve are theirs to close: counted apart.
  const rows = all.filter((r) => !r.servedBy);
  const atPeers = all.length - rows.length;
  const count = (state: string) => rows.filter((r) => (r.info?.state ?? r.pending) === state).length;
  const parts = [`${count('active')} active`];
  for (const state of ['connecting', 'opening', 'reconnecting', 'failed', 'closed']) if (count(state)) parts.push(`${count(state)} ${state}`);
  const servers = [...new Set(rows.map((r) => r.server))];
  const through = servers.length === 1 ? ` through ${servers[0]}` : servers.length > 1 ? ` through ${plural(servers.length, 'server')}` : '';
  const errors = rows.reduce((n, r) => n + (r.info?.stats.errors ?? 0), 0);
  const failedConnections = errors ? `; ${plural(errors, 'failed connection')}` : '';
  const others = atPeers ? `; ${atPeers} more served by other processes` : '';
  return running
    ? `${plural(rows.length, 'tunnel')}${through}: ${parts.join(', ')}${failedConnections}${others}. Ctrl-C closes ${atPeers ? 'this command\'s' : 'them all'}.`
    : `${plural(rows.length, 'tunnel')}${through} at exit: ${parts.join(', ')}${failedConnections}${others}.`;
}
