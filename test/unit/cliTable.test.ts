// The live table of `ssh-tunnels up` at the widths people's terminals have: every column that
// matters at 80 and 60 columns (names, addresses and errors shortened, numbers whole), failed
// connections shown, a clean redraw after the terminal is resized; in tmux against a real sshd.
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { LiveDisplay } from '../../src/cli/display';
import { cutErrors, renderTable, summary, type TableRow } from '../../src/cli/table';
import { closingSignals, interrupt, plainMarks, terminalLook } from '../../src/cli/terminal';
import type { TunnelInfo } from '../../src/engine';
import { shellLine } from '../helpers/cli';
import { cliSuite } from '../helpers/suite';
import { TmuxPane } from '../helpers/tmux';

function info(extra: Partial<TunnelInfo> & Pick<TunnelInfo, 'name' | 'localPort'>): TunnelInfo {
  return {
    id: 't1', nameGiven: false, server: 'production-bastion', type: 'local', state: 'active', localHost: '127.0.0.1',
    remoteHost: 'database-primary.internal.example.com', remotePort: 5432,
    stats: { bytesIn: 2048, bytesOut: 100, connectionsTotal: 3, connectionsActive: 1, connectionsWaiting: 0, errors: 0 },
    createdAt: 0, lastActivity: 0, openedBy: 'person', ...extra,
  };
}

function row(i: TunnelInfo, reconnects = 0): TableRow {
  return { name: i.name, server: i.server, type: i.type, info: i, reconnects };
}

const LONG_ERROR = 'Channel open failed: database-primary.internal.example.com:5432 could not be reached (Connection refused)';

const ROWS: TableRow[] = [
  row(info({ name: 'postgres-primary-replica-for-the-reporting-jobs', nameGiven: true, localPort: 45123, state: 'reconnecting', lastError: 'connect ECONNREFUSED 10.20.30.40:22 (the server did not answer)' }), 3),
  row(info({ name: 'L 45124 → database-primary.internal.example.com:5432', localPort: 45124, lastError: LONG_ERROR, stats: { bytesIn: 0, bytesOut: 0, connectionsTotal: 1, connectionsActive: 0, connectionsWaiting: 0, errors: 7 } })),
  { name: 'L 0 → 127.0.0.1:18080', server: 'production-bastion', type: 'local', pending: 'opening', reconnects: 0 },
];

/** The table's header cells, split where two or more spaces (or one at narrow widths) separate them. */
function headers(line: string): string[] {
  return line.replace('LAST ERROR', 'LAST_ERROR').trim().split(/\s+/).map((h) => h.replace('_', ' '));
}

describe('ssh-tunnels up: the table at the widths of real terminals', () => {
  it('shows every column in full on a wide terminal, failed connections of an active tunnel with their reason', () => {
    const lines = renderTable(ROWS, 400);
    assert.deepEqual(headers(lines[0]), ['NAME', 'SERVER', 'TYPE', 'STATE', 'ADDRESS', 'IN', 'OUT', 'CONNS', 'ERRORS', 'RECONNECTS', 'LAST ERROR']);
    assert.ok(lines[1].includes('postgres-primary-replica-for-the-reporting-jobs'));
    assert.ok(lines[2].includes('127.0.0.1:45124 → database-primary.internal.example.com:5432'));
    // Active, yet 7 connections failed: the reason shows (it stayed empty while the tunnel was active).
    assert.match(lines[2], /● active .*0\/1\s+7\s+0\s+Channel open failed: .*\(Connection refused\)$/);
    // Active without errors: an old reason (the drop it came back from) is not shown.
    const healed = renderTable([row(info({ name: 'x', localPort: 1, lastError: 'connection lost' }))], 300);
    assert.doesNotMatch(healed[1], /connection lost/);
  });

  for (const width of [80, 60]) {
    it(`fits ${width} columns with state, address, traffic, connections, errors, reconnects and last error; numbers whole`, () => {
      const lines = renderTable(ROWS, width);
      for (const l of lines) assert.ok(l.length <= width, `${l.length} > ${width}: ${l}`);
      const h = headers(lines[0]);
      for (const name of ['STATE', 'IN', 'OUT', 'CONNS', 'RECONN', 'LAST ERROR']) assert.ok(h.includes(name), `no ${name} in ${lines[0]}`);
      // A given name and the address are both there, shortened (in one column when narrow).
      assert.ok(h.includes('ADDRESS') || h.includes('NAME/ADDRESS'), lines[0]);
      assert.ok(h.includes('NAME') || h.includes('NAME/ADDRESS'), lines[0]);
      assert.match(lines[1], /pos\S*…/);
      // The local port, where to connect, stays whole while there is room for it.
      if (width === 80) assert.match(lines[1], /:45123/);
      assert.match(lines[1], /↻ re/);
      // Numbers are never cut: bytes, connections, the errors count, reconnects.
      assert.match(lines[1], /2\.0 KiB\s+100 B\s+1\/3\s+(0\s+)?3\s+conn/);
      assert.match(lines[2], /0 B\s+0 B\s+0\/1(\s+7| ✗7)\s+0\s+Chan\S*/);
      assert.match(lines[2], /:45124/);
      // The tunnel still opening keeps its name: it has no address yet.
      assert.match(lines[3], /(^| )L 0 /);
      assert.match(lines[3], /… open/);
    });
  }

  it('stays within even narrower widths, leaving out the lowest-priority columns last', () => {
    for (let width = 20; width <= 120; width++) {
      for (const l of renderTable(ROWS, width)) assert.ok(l.length <= width, `${width}: ${l}`);
    }
    assert.match(renderTable(ROWS, 40)[0], /STATE/);
  });

  it('writes an error the table had to cut whole under it, and none that the table shows whole', () => {
    assert.deepEqual(cutErrors(ROWS, renderTable(ROWS, 400)), []);
    const narrow = cutErrors(ROWS, renderTable(ROWS, 80));
    assert.ok(narrow.includes(`✗ L 45124 → database-primary.internal.example.com:5432: ${LONG_ERROR}`), narrow.join('\n'));
    assert.ok(narrow.includes('✗ postgres-primary-replica-for-the-reporting-jobs: connect ECONNREFUSED 10.20.30.40:22 (the server did not answer)'), narrow.join('\n'));
  });

  it('says 1 tunnel, 2 tunnels, 1 failed connection; the last summary, left at exit, does not offer Ctrl-C', () => {
    const one = [row(info({ name: 'pg', nameGiven: true, localPort: 5432, stats: { bytesIn: 0, bytesOut: 0, connectionsTotal: 1, connectionsActive: 0, connectionsWaiting: 0, errors: 1 } }))];
    assert.equal(summary(one), '1 tunnel through production-bastion: 1 active; 1 failed connection. Ctrl-C closes them all.');
    assert.equal(summary(ROWS), '3 tunnels through production-bastion: 1 active, 1 opening, 1 reconnecting; 7 failed connections. Ctrl-C closes them all.');
    assert.equal(summary(ROWS, { running: false }), '3 tunnels through production-bastion at exit: 1 active, 1 opening, 1 reconnecting; 7 failed connections.');
    assert.doesNotMatch(summary(one), /\(s\)|1 errors/);
  });

  it('marks the tunnels other processes serve in STATE, keeps "● active" when cut, and counts them apart in the summary', () => {
    const mine = row(info({ name: 'db', nameGiven: true, localPort: 5432 }));
    const served: TableRow = { ...row(info({ name: 'api', nameGiven: true, localPort: 8080 })), servedBy: 'window of folder api' };
    const wide = renderTable([mine, served], 300);
    assert.match(wide[2], /^api .*● active, served by window of folder api\s/);
    assert.match(wide[1], /^db .*● active\s+127\.0\.0\.1:5432/);
    for (const width of [80, 60]) {
      const lines = renderTable([mine, served], width);
      for (const l of lines) assert.ok(l.length <= width, `${l.length} > ${width}: ${l}`);
      assert.match(lines[2], /● active/, lines.join('\n'));
    }
    assert.equal(summary([mine, served]), '1 tunnel through production-bastion: 1 active; 1 more served by other processes. Ctrl-C closes this command\'s.');
    assert.equal(summary([mine, served], { running: false }), '1 tunnel through production-bastion at exit: 1 active; 1 more served by other processes.');
    assert.equal(summary([mine]), '1 tunnel through production-bastion: 1 active. Ctrl-C closes them all.', 'unchanged without others');
  });

  it('after the terminal narrows, erases every row its lines were re-wrapped onto', () => {
    const writes: string[] = [];
    const listeners: (() => void)[] = [];
    const out = { isTTY: true, columns: 100, write: (t: string) => writes.push(t), on: (_: 'resize', l: () => void) => listeners.push(l), off: () => listeners.pop() };
    const display = new LiveDisplay(out, (width, final) => ['x'.repeat(Math.min(90, width)), final ? 'bye' : 'y']);
    display.render();
    out.columns = 40;
    listeners[0]();
    // 90 characters on a 40-column terminal take 3 rows, plus 1: 4 rows up before the redraw.
    assert.equal(writes[1], '\x1b[4A\r\x1b[J');
    assert.equal(writes[2], `${'x'.repeat(40)}\ny\n`);
    display.stop();
    assert.equal(listeners.length, 0, 'stop() stops listening');
    assert.equal(writes.at(-1), `${'x'.repeat(40)}\nbye\n`);
  });
});

describe('ssh-tunnels up in the terminals of Windows', () => {
  it("conhost: marks its fonts have (no ↻ or ✗, which show as boxes there), lines a column short of the edge; Windows Terminal and VS Code's keep every mark", () => {
    const conhost = terminalLook({ platform: 'win32', env: { ComSpec: 'C:\\Windows\\system32\\cmd.exe' } });
    assert.deepEqual(conhost, { plainMarks: true, spareLastColumn: true });
    assert.deepEqual(terminalLook({ platform: 'win32', env: { WT_SESSION: '7e3b0c1a-0000-4000-8000-000000000000' } }), { plainMarks: false, spareLastColumn: true });
    assert.deepEqual(terminalLook({ platform: 'win32', env: { TERM_PROGRAM: 'vscode' } }), { plainMarks: false, spareLastColumn: true });
    for (const platform of ['linux', 'darwin'] as const) assert.deepEqual(terminalLook({ platform, env: {} }), { plainMarks: false, spareLastColumn: false });

    const writes: string[] = [];
    const out = { isTTY: true, columns: 80, write: (t: string) => writes.push(t) };
    const display = new LiveDisplay(out, (width) => {
      const table = renderTable(ROWS, width);
      return [...table, summary(ROWS), ...cutErrors(ROWS, table)];
    }, conhost);
    display.render();
    display.event('12:00:00 ↻ production-bastion: attempt 2 in 4s');
    display.stop();
    const screen = writes.join('');
    // What Consolas and Lucida Console have: ● ○ → … and ×; nothing else outside ASCII.
    assert.doesNotMatch(screen, /[↻✗]/);
    assert.match(screen, /~ reconnect/);
    assert.match(screen, /× postgres|×7|× L 45124/);
    assert.match(screen, /~ production-bastion: attempt 2/);
    for (const ch of screen) assert.ok(ch.charCodeAt(0) < 0x80 || '●○→…×'.includes(ch), `${ch} (U+${ch.charCodeAt(0).toString(16)})`);
    // 79 columns at most: a line filling the 80th would be wrapped at once, its newline adding a row the redraw does not erase.
    const table = renderTable(ROWS, 79);
    for (const line of table) assert.ok(line.length <= 79, `${line.length}: ${line}`);
    assert.ok(screen.includes(plainMarks(table.join('\n'))), 'the table drawn at 79 columns');
    assert.ok(!screen.includes(plainMarks(renderTable(ROWS, 80).join('\n'))), 'not at 80');
  });

  it('Ctrl-C, Ctrl-Break and a closed console window close every tunnel; Ctrl-C typed at a prompt calls the handlers (process.kill of itself would end the process at once there)', () => {
    assert.deepEqual(closingSignals('win32'), ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']);
    assert.deepEqual(closingSignals('linux'), ['SIGINT', 'SIGTERM', 'SIGHUP']);
    let heard = 0;
    const handler = () => heard++;
    process.on('SIGINT', handler);
    try {
      interrupt('win32');
      assert.equal(heard, 1);
    } finally {
      process.off('SIGINT', handler);
    }
  });
});

describe('ssh-tunnels up in an 80-column terminal, then a narrower one', function () {
  this.timeout(120_000);
  const suite = cliSuite();
  let pane: TmuxPane | undefined;

  afterEach(() => {
    pane?.kill();
  });

  it('shows IN, OUT, CONNS and failed connections, distinct names with the bound ports, and redraws cleanly when resized', async () => {
    // A port nothing listens on: the server's connection to it fails.
    const closed = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => closed.once('listening', r));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));

    const args = ['--server', 'fix', '-L', `0:127.0.0.1:${suite.echo.port}`, '-L', `0:127.0.0.1:${suite.echo.port}`, '-L', `0:127.0.0.1:${deadPort}`];
    pane = new TmuxPane(shellLine(args), { cwd: suite.home.home, env: suite.home.env, columns: 80, rows: 30 });
    await pane.waitFor(/3 tunnels through fix: 3 active\. Ctrl-C/);
    const screen = pane.screen();
    // Two -L 0: to the same target: each named for the port it bound.
    const opened = [...screen.matchAll(new RegExp(`L (\\d+) → 127\\.0\\.0\\.1:${suite.echo.port}: open, listening on 127\\.0\\.0\\.1:(\\d+)`, 'g'))];
    assert.equal(opened.length, 2, screen);
    for (const m of opened) assert.equal(m[1], m[2], 'the name shows the bound port');
    assert.notEqual(opened[0][1], opened[1][1]);
    const dead = Number(new RegExp(`L (\\d+) → 127\\.0\\.0\\.1:${deadPort}: open`).exec(screen)?.[1]);
    assert.ok(dead > 0, screen);

    assert.match(screen, /^STATE\s+ADDRESS\s+IN\s+OUT\s+CONNS\s+(ERR\s+)?RECONN\s+LAST ERROR$/m);
    for (const [, port] of opened) assert.match(screen, new RegExp(`^● active\\s+127\\.0\\.0\\.1:${port} → 127\\.0\\.0\\.1:${suite.echo.port}\\s+0 B\\s+0 B\\s+0/0\\s+(0\\s+)?0$`, 'm'));

    // A connection the server cannot make: counted, and its reason shown while the tunnel stays active.
    // The tunnel resets it once the server says it could not connect, which may come before our
    // side saw the connect complete: so no await of the connect, only of the close.
    const socket = net.connect(dead, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('close', r));
    await pane.waitFor(new RegExp(`^● active\\s+127\\.0\\.0\\.1:${dead} → \\S+\\s+0 B\\s+0 B\\s+0/1\\s+(1|✗1)\\s+0\\s+\\S+`, 'm'));
    await pane.waitFor(/3 active; 1 failed connection\. Ctrl-C/);
    for (const l of pane.visible().split('\n')) assert.ok(l.length <= 80, l);

    // Narrower: the table is drawn again at 60 columns, and what was drawn at 80 is gone.
    pane.resize(60, 30);
    await pane.waitFor(/^STATE\s+ADDRESS\s+IN\s+OUT\s+CONNS\s+RECONN\s+LAST ERROR$/m);
    await new Promise((r) => setTimeout(r, 1500));
    const visible = pane.visible().replace(/\n+$/, '').split('\n');
    assert.equal(visible.filter((l) => /^STATE\s/.test(l)).length, 1, `one header:\n${visible.join('\n')}`);
    const header = visible.findIndex((l) => /^STATE\s/.test(l));
    const table = visible.slice(header);
    // Header, 3 rows, the summary (two rows at 60 columns), the error the table cut, whole (wrapped), and nothing else.
    assert.equal(table.filter((l) => /^● active /.test(l)).length, 3, table.join('\n'));
    assert.match(table.slice(4).join(''), /^3 tunnels through fix: 3 active; 1 failed connection\. Ctrl-C closes them all\.✗ L \d+ → 127\.0\.0\.1:\d+: nothing listens on \d+ on fix \(fix could not open 127\.0\.0\.1:\d+: connection refused\)$/);
    // Above the table, only event lines (the top one may be the wrapped end of one).
    for (const l of visible.slice(1, header)) assert.doesNotMatch(l, /● active|STATE|Ctrl-C/, `stale table line above the table:\n${visible.join('\n')}`);
    for (const l of visible) assert.ok(l.length <= 60, l);

    // Wider again: every column in full, the names with their bound ports among them.
    pane.resize(180, 30);
    await pane.waitFor(/^NAME\s+SERVER\s+TYPE\s+STATE\s+ADDRESS\s+IN\s+OUT\s+CONNS\s+ERRORS\s+RECONNECTS\s+LAST ERROR$/m);
    const wide = pane.visible();
    for (const [, port] of opened) assert.match(wide, new RegExp(`^L ${port} → 127\\.0\\.0\\.1:${suite.echo.port}\\s+fix\\s+local\\s+● active\\s+127\\.0\\.0\\.1:${port} → `, 'm'));
    assert.equal(wide.split('\n').filter((l) => /^NAME\s/.test(l)).length, 1, wide);

    pane.key('C-c');
    await pane.waitFor(/EXIT=0/);
    assert.match(pane.screen(), /3 tunnels through fix at exit: 3 active; 1 failed connection\.\n/);
    assert.doesNotMatch(pane.screen().split('at exit')[1], /Ctrl-C closes/);
  });
});
