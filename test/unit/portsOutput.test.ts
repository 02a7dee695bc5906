// The readers of what tools print about listening sockets, on output captured from real tools
// (test/fixtures/ports/README.md says how), and the rows a person picks from.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { namedBy, parseBsdNetstat, parseLsofListen } from '../../src/engine/ports/bsdOutput';
import { parseNetstatTcp, parseNetstatUnix, parseProcComms, parseProcFds, parseProcTcp, parseProcUnix, parseSsTcp, parseSsUnix, withProcesses } from '../../src/engine/ports/linuxOutput';
import { describeProcesses, describeScope, groupListeners, tunnelsReaching, type RawListener } from '../../src/engine/ports/listeners';
import { LISTING_MARK, listingCommand, readListing } from '../../src/engine/ports/remoteListing';
import type { TunnelInfo } from '../../src/engine';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'ports', name), 'utf8');

/** `host:port process/pid …` per listener, sorted: what the captures hold, in one comparable line each. */
function summary(listeners: RawListener[]): string[] {
  return listeners.map((l) => `${l.path ?? `${l.host}:${l.port}`}${l.device ? `%${l.device}` : ''} ${l.processes.map((p) => `${p.name}/${p.pid ?? '-'}`).join(',')}`.trim()).sort();
}

const TCP_AS_ROOT = ['*:9000 node/21606', '0.0.0.0:5432 node/21604', '127.0.0.1:3000 node/21611', '127.0.0.1:8080 node/21603', '127.0.0.2:8001 python3/21609', '::1:6379 node/21605'];
const TCP_AS_USER = ['*:9000', '0.0.0.0:5432', '127.0.0.1:3000 node/21611', '127.0.0.1:8080', '127.0.0.2:8001', '::1:6379'];

describe('ports: what ss, netstat, /proc and lsof print, read', () => {
  it('ss -ltnpH: every address form (IPv4, [IPv6], the dual-stack *), and the processes; as another user, only its own', () => {
    assert.deepEqual(summary(parseSsTcp(fixture('ss-tcp.txt'))), TCP_AS_ROOT);
    assert.deepEqual(summary(parseSsTcp(fixture('ss-tcp-user.txt'))), TCP_AS_USER);
  });

  it('ss: a socket bound to an interface (%lo), one shared by two processes, a v6-only wildcard, a process name with a space; the header of an ss without -H is skipped', () => {
    assert.deepEqual(summary(parseSsTcp(fixture('ss-tcp-2.txt'))), ['127.0.0.1:8888 web server/21827', '127.0.0.53:53%lo python3/21875,python3/21826', ':::8443 python3/21875,python3/21826']);
    const withHeader = `State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n${fixture('ss-tcp.txt')}`;
    assert.deepEqual(summary(parseSsTcp(withHeader)), TCP_AS_ROOT);
  });

  it('netstat -ltnp (net-tools) gives what ss gives, but for the dual-stack wildcard (::) and truncated names', () => {
    assert.deepEqual(summary(parseNetstatTcp(fixture('netstat-tcp.txt'))), TCP_AS_ROOT.map((l) => l.replace('*:9000', ':::9000')).sort());
    assert.deepEqual(summary(parseNetstatTcp(fixture('netstat-tcp-user.txt'))), TCP_AS_USER.map((l) => l.replace('*:9000', ':::9000')).sort());
    assert.deepEqual(summary(parseNetstatTcp(fixture('netstat-tcp-2.txt'))), ['127.0.0.1:8888 web server/21827', '127.0.0.53:53 python3/21826', ':::8443 python3/21826']);
  });

  it('Unix sockets: ss -lxp and netstat -lxp name the socket file and its process', () => {
    assert.deepEqual(summary(parseSsUnix(fixture('ss-unix.txt'))), ['/tmp/cap/app.sock node/21607']);
    assert.deepEqual(summary(parseNetstatUnix(fixture('netstat-unix.txt'))), ['/tmp/cap/app.sock node/21607']);
  });

  it('/proc/net/tcp and tcp6: listening sockets only (little-endian addresses, hex ports), with their inodes and owners', () => {
    const tcp = parseProcTcp(fixture('proc-tcp.txt'));
    assert.deepEqual(summary(tcp), ['0.0.0.0:5432', '127.0.0.1:3000', '127.0.0.1:8080', '127.0.0.2:8001']);
    assert.ok(tcp.find((s) => s.port === 3000)!.uid! > 0, 'the other user\'s socket has its uid');
    assert.deepEqual(summary(parseProcTcp(fixture('proc-tcp6.txt'))), ['::1:6379', ':::9000']);
    assert.deepEqual(summary(parseProcTcp(fixture('proc-tcp6-2.txt'))), [':::8443']);
    assert.deepEqual(summary(parseProcTcp(fixture('proc-tcp-2.txt'))), ['127.0.0.1:8888', '127.0.0.53:53']);
    // Established and TIME_WAIT lines of a busy machine are left out.
    assert.equal(parseProcTcp(fixture('proc-tcp-busy.txt')).length, 5);
  });

  it('/proc: listening stream Unix sockets, and the processes from /proc/PID/fd and comm', () => {
    const sockets = [...parseProcTcp(fixture('proc2-tcp.txt')), ...parseProcUnix(fixture('proc2-unix.txt'))];
    const fds = parseProcFds(fixture('proc2-fd.txt'));
    const comms = parseProcComms(fixture('proc2-comm.txt'));
    assert.equal(comms.get(1), 'process_api');
    const pids = [...fds.values()].flat();
    assert.equal(pids.length, 2, 'one socket for each of the two listeners');
    assert.deepEqual(summary(withProcesses(sockets, fds, comms)), [`/tmp/cap/app.sock node/${pids[1]}`, `127.0.0.1:8080 node/${pids[0]}`]);
    assert.deepEqual(summary(parseProcUnix(fixture('proc-unix.txt'))), ['/tmp/cap/app.sock']);
  });

  it('lsof -Fpcn: each address a process listens on, with its name (the same on macOS)', () => {
    assert.deepEqual(summary(parseLsofListen(fixture('lsof-listen.txt'))), ['*:9000 node/23981', '127.0.0.1:3000 node/23987', '127.0.0.1:8080 node/23980']);
    assert.deepEqual(summary(parseLsofListen(fixture('lsof-listen-user.txt'))), ['127.0.0.1:3000 node/23987']);
  });

  it('macOS and the BSDs: netstat -an -p tcp (the port after the last dot), named by lsof where it tells', () => {
    // Written as macOS's netstat prints (no Mac here to capture from): tcp4, tcp6, tcp46, connections left out.
    const mac = [
      'Active Internet connections (including servers)',
      'Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)    ',
      'tcp4       0      0  192.168.1.5.52345      17.57.144.84.5223      ESTABLISHED',
      'tcp46      0      0  *.5000                 *.*                    LISTEN     ',
      'tcp4       0      0  127.0.0.1.8080         *.*                    LISTEN     ',
      'tcp6       0      0  ::1.6379               *.*                    LISTEN     ',
      'tcp6       0      0  fe80::1%lo0.5353       *.*                    LISTEN     ',
    ].join('\n');
    const listed = parseBsdNetstat(mac);
    assert.deepEqual(summary(listed), ['*:5000', '127.0.0.1:8080', '::1:6379', 'fe80::1:5353%lo0']);
    const lsof = 'p501\ncControlCe\nn*:5000\np812\ncnode\nn127.0.0.1:8080\nn127.0.0.1:8080->127.0.0.1:50000\n';
    assert.deepEqual(summary(namedBy(listed, parseLsofListen(lsof))), ['*:5000 ControlCe/501', '127.0.0.1:8080 node/812', '::1:6379', 'fe80::1:5353%lo0']);
  });
});

describe('ports: the rows a person picks from', () => {
  it('one row per port (its addresses together), sorted; Unix sockets by path, abstract ones left out', () => {
    const { tcp, unix } = groupListeners([
      ...parseSsTcp(fixture('ss-tcp.txt')),
      { host: '::', port: 5432, processes: [{ name: 'node', pid: 21604 }] },
      { path: '@/tmp/.X11-unix/X0', processes: [] },
      ...parseSsUnix(fixture('ss-unix.txt')),
    ]);
    assert.deepEqual(tcp.map((r) => [r.port, r.addresses.join(' '), r.scope, r.target, describeScope(r), describeProcesses(r.processes)]), [
      [3000, '127.0.0.1', 'loopback', 'localhost', 'loopback', 'node (pid 21611)'],
      [5432, '0.0.0.0 ::', 'all', 'localhost', 'all interfaces', 'node (pid 21604)'],
      [6379, '::1', 'loopback', '::1', 'loopback', 'node (pid 21605)'],
      [8001, '127.0.0.2', 'loopback', '127.0.0.2', 'loopback (127.0.0.2)', 'python3 (pid 21609)'],
      [8080, '127.0.0.1', 'loopback', 'localhost', 'loopback', 'node (pid 21603)'],
      [9000, '*', 'all', 'localhost', 'all interfaces', 'node (pid 21606)'],
    ]);
    assert.deepEqual(unix.map((s) => s.path), ['/tmp/cap/app.sock']);
    // A v6-only wildcard is reached at ::1; two processes sharing one socket are both named.
    const shared = groupListeners(parseSsTcp(fixture('ss-tcp-2.txt'))).tcp.find((r) => r.port === 8443)!;
    assert.equal(shared.target, '::1');
    assert.equal(describeProcesses(shared.processes), 'python3 (pids 21875, 21826)');
  });

  it('a -L tunnel reaches a row when it leads to its port on one of its addresses (or to its socket file)', () => {
    const { tcp, unix } = groupListeners([...parseSsTcp(fixture('ss-tcp.txt')), ...parseSsUnix(fixture('ss-unix.txt'))]);
    const row = (port: number) => tcp.find((r) => r.port === port)!;
    const tunnel = (t: Partial<TunnelInfo>) => ({ type: 'local', state: 'active', ...t }) as TunnelInfo;
    const tunnels = [
      tunnel({ id: 'a', remoteHost: 'localhost', remotePort: 8080 }),
      tunnel({ id: 'b', remoteHost: '127.0.0.1', remotePort: 5432 }),
      tunnel({ id: 'c', remoteHost: '10.0.0.5', remotePort: 3000 }),
      tunnel({ id: 'd', remotePath: '/tmp/cap/app.sock' }),
      tunnel({ id: 'e', type: 'remote', remoteHost: '127.0.0.1', remotePort: 9000 }),
      tunnel({ id: 'f', remoteHost: '::1', remotePort: 6379 }),
    ];
    const ids = (l: Parameters<typeof tunnelsReaching>[0]) => tunnelsReaching(l, tunnels).map((t) => t.id);
    assert.deepEqual(ids(row(8080)), ['a']);
    assert.deepEqual(ids(row(5432)), ['b']);
    assert.deepEqual(ids(row(3000)), [], 'another host\'s port 3000 is not this loopback one');
    assert.deepEqual(ids(row(9000)), [], 'a remote forward listens there; it does not reach it');
    assert.deepEqual(ids(row(6379)), ['f']);
    assert.deepEqual(ids(unix[0]), ['d']);
  });
});

describe('ports: the listing command and its output', () => {
  it('is one line of sh with no single quote, ! or newline inside (any login shell starts it)', () => {
    const command = listingCommand();
    const inner = /^sh -c '(.*)'$/.exec(command)![1];
    assert.doesNotMatch(inner, /['!\n]/);
  });

  it('reads the section of the tool that ran, and says which; output before the mark (a login banner) is ignored', () => {
    const stdout = `Welcome!\n${LISTING_MARK} 1 Linux\n@@netstat-tcp\n${fixture('netstat-tcp.txt')}\n@@netstat-unix\n${fixture('netstat-unix.txt')}\n@@end\n`;
    const ports = readListing('db', { stdout, stderr: '' });
    assert.equal(ports.source, 'netstat');
    assert.equal(ports.system, 'Linux');
    assert.deepEqual(ports.tcp.map((r) => r.port), [3000, 5432, 6379, 8001, 8080, 9000]);
    assert.equal(ports.processesHidden, false);
  });

  it('without its mark, the server ran something else: the error says so, with what it printed', () => {
    assert.throws(() => readListing('db', { stdout: 'This account is for tunnels only.\n', stderr: '', code: 1 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'COMMAND_REFUSED');
      assert.match(err.message, /^db did not run the command that lists its ports: this login allows no commands of its own \(a ForceCommand/);
      assert.match(err.message, /said: "This account is for tunnels only\." \(exit status 1\)/);
      return true;
    });
  });
});
