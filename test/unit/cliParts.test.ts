// The command's pure parts: the argument parser (ssh's -L8080:db:80 spelling, repeated forwards
// kept in order), the table's cells, and the terminal line reader on plain streams.
import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { parseArgs, UsageError } from '../../src/cli/args';
import { formatBytes } from '../../src/engine';
import { renderTable, type TableRow } from '../../src/cli/table';
import { readLine } from '../../src/cli/terminal';
import { UP_OPTIONS } from '../../src/cli/up';
import type { TunnelInfo } from '../../src/engine';

describe('ssh-tunnels: the command\'s parts', () => {
  it('parses options as ssh and long-option habits write them', () => {
    const { options, positionals } = parseArgs(['-L8080:db:80', '--workspace=/w', '-D', '1080', 'web', '-R', '9000:localhost:3000', '--all', '--', '--not-an-option'], UP_OPTIONS, 'up');
    assert.deepEqual(options.forwards, ['-L 8080:db:80', '-D 1080', '-R 9000:localhost:3000']);
    assert.equal(options.workspace, '/w');
    assert.equal(options.all, true);
    assert.deepEqual(positionals, ['web', '--not-an-option']);
    assert.throws(() => parseArgs(['--all=yes'], UP_OPTIONS, 'up'), (e: Error) => e instanceof UsageError && /--all takes no value/.test(e.message));
    assert.throws(() => parseArgs(['-L'], UP_OPTIONS, 'up'), /-L needs a value: -L \[bind:\]port:host:hostport/);
    assert.throws(() => parseArgs(['-X'], UP_OPTIONS, 'up'), /Unknown option -X for "up"/);
  });

  it('renders rows with state, address, traffic, connections and reconnects, cut to the width', () => {
    assert.deepEqual([0, 1023, 1024, 1536, 10 * 1024 * 1024, 3 * 1024 ** 4].map(formatBytes), ['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '10 MiB', '3.0 TiB']);
    const info: TunnelInfo = {
      id: 't1', name: 'pg', nameGiven: true, server: 'db', type: 'local', state: 'reconnecting', localHost: '127.0.0.1', localPort: 5432, remoteHost: '::1', remotePort: 5432,
      stats: { bytesIn: 2048, bytesOut: 100, connectionsTotal: 3, connectionsActive: 1, connectionsWaiting: 0, errors: 0 }, createdAt: 0, lastActivity: 0, lastError: 'connection lost', openedBy: 'settings',
    };
    const rows: TableRow[] = [
      { name: 'pg', server: 'db', type: 'local', info, reconnects: 2 },
      { name: 'web', server: 'db', type: 'remote', pending: 'failed', reconnects: 0, error: 'forward refused' },
    ];
    const lines = renderTable(rows);
    assert.match(lines[1], /^pg\s+db\s+local\s+↻ reconnecting\s+127\.0\.0\.1:5432 → \[::1\]:5432\s+2\.0 KiB\s+100 B\s+1\/3\s+0\s+2\s+connection lost$/);
    assert.match(lines[2], /^web\s+db\s+remote\s+✗ failed\s+0\s+forward refused$/);
    assert.ok(renderTable(rows, 40).every((l) => l.length <= 40));
  });

  it('reads a line without echo; an ended input answers nothing', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (d: Buffer) => (shown += d.toString()));
    const answer = readLine({ input, output }, 'Password: ', { echo: false });
    input.write('sekr');
    input.write('x\x7fet\r');
    assert.equal(await answer, 'sekret');
    assert.equal(shown, 'Password: \n');
    input.end();
    assert.equal(await readLine({ input, output }, 'Again: ', { echo: false }), undefined);
    await new Promise((r) => setImmediate(r));
    assert.equal(await readLine({ input, output }, 'And again: ', { echo: true }), undefined);
  });
});
