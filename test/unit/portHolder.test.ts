// Who holds a busy local port, as each platform tells it: Linux's /proc for real (a port held by
// another program, one of another user), macOS's lsof and Windows' netstat and tasklist through
// their output (no Mac or Windows here: written as those tools print it), and the busy-port error
// of a tunnel that names the holder.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelError, TunnelManager } from '../../src/engine';
import { describeHolder, parseTasklist, parseWindowsNetstat, portHolder } from '../../src/engine/ports/holder';
import { freePort } from '../fixtures/sshd';
import { startListener, type ListenerProcess } from '../helpers/listeners';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';
import { ensureTestUser } from '../helpers/testUser';

describe('ports: who holds a local port', function () {
  this.timeout(60_000);
  const held: ListenerProcess[] = [];
  afterEach(async () => {
    await Promise.all(held.splice(0).map((l) => l.stop()));
  });

  it('Linux (/proc): the program and its pid, for a port on loopback and on every interface; nothing for a free port', async () => {
    const loopback = await freePort();
    const all = await freePort();
    held.push(await startListener('127.0.0.1', loopback), await startListener('0.0.0.0', all));
    const a = await portHolder('127.0.0.1', loopback, { platform: 'linux' });
    assert.equal(a?.name, 'node');
    assert.ok(a?.pid && a.pid > 0);
    assert.equal((await portHolder('127.0.0.1', all, { platform: 'linux' }))?.name, 'node', 'a wildcard holder clashes with loopback');
    assert.equal(await portHolder('127.0.0.1', await freePort(), { platform: 'linux' }), undefined);
  });

  it('Linux: another user\'s process is named when this one may read its fds (root), else by its owner', async () => {
    const { user } = ensureTestUser();
    const port = await freePort();
    held.push(await startListener('127.0.0.1', port, user));
    assert.equal((await portHolder('127.0.0.1', port, { platform: 'linux' }))?.name, 'node');
    // Seen as an unprivileged user sees it: the fds of /proc/PID are closed, the socket's uid is not.
    const noFds = await portHolder('127.0.0.1', port, { platform: 'linux', root: procWithoutFds() });
    assert.equal(noFds?.user, user);
    assert.equal(describeHolder(noFds!), `a process of the user ${user}`);
  });

  it('macOS: lsof -iTCP:PORT -sTCP:LISTEN, its fields read', async () => {
    const asked: string[][] = [];
    const holder = await portHolder('127.0.0.1', 5432, {
      platform: 'darwin',
      run: async (file, args) => {
        asked.push([file, ...args]);
        return 'p812\ncpostgres\nn127.0.0.1:5432\nn[::1]:5432\n';
      },
    });
    assert.deepEqual(asked, [['lsof', '-nP', '-iTCP:5432', '-sTCP:LISTEN', '-Fpcn']]);
    assert.deepEqual(holder, { pid: 812, name: 'postgres' });
    assert.equal(describeHolder(holder!), 'postgres (pid 812)');
  });

  it('Windows: netstat -ano gives the pid, tasklist its name', async () => {
    const netstat = [
      '',
      'Active Connections',
      '',
      '  Proto  Local Address          Foreign Address        State           PID',
      '  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1024',
      '  TCP    127.0.0.1:5432         0.0.0.0:0              LISTENING       812',
      '  TCP    127.0.0.1:5432         127.0.0.1:50123        ESTABLISHED     812',
      '  TCP    [::1]:6379             [::]:0                 LISTENING       904',
    ].join('\r\n');
    const tasklist = '"postgres.exe","812","Services","0","12,345 K"\r\n';
    assert.equal(parseWindowsNetstat(netstat, '127.0.0.1', 5432), 812);
    assert.equal(parseWindowsNetstat(netstat, '::1', 6379), 904);
    assert.equal(parseWindowsNetstat(netstat, '127.0.0.1', 135), 1024, 'a wildcard holder clashes');
    assert.equal(parseTasklist(tasklist, 812), 'postgres.exe');
    const asked: string[] = [];
    const holder = await portHolder('127.0.0.1', 5432, { platform: 'win32', run: async (file, args) => (asked.push(`${file} ${args.join(' ')}`), file === 'netstat' ? netstat : tasklist) });
    assert.deepEqual(asked, ['netstat -ano -p TCP', 'tasklist /FI PID eq 812 /FO CSV /NH']);
    assert.deepEqual(holder, { pid: 812, name: 'postgres.exe' });
  });

  it('a tool that fails or is missing says nothing (the error stays as it was)', async () => {
    assert.equal(await portHolder('127.0.0.1', 1, { platform: 'darwin', run: () => Promise.reject(new Error('ENOENT')) }), undefined);
  });
});

describe('ports: a busy local port names who holds it', function () {
  this.timeout(60_000);
  const suite = sshdWithEcho();

  it('PORT_IN_USE: "held by node (pid N)", with a free port nearby, in the message and the details', async () => {
    const port = await freePort();
    const holder = await startListener('127.0.0.1', port);
    const manager = new TunnelManager({ servers: staticServers(suite.sshd.server('test')) });
    try {
      await assert.rejects(manager.createTunnel({ server: 'test', type: 'local', localPort: port, remoteHost: '127.0.0.1', remotePort: suite.echo.port }), (err: TunnelError) => {
        assert.equal(err.code, 'PORT_IN_USE');
        assert.match(err.message, new RegExp(`^Local port ${port} on 127\\.0\\.0\\.1 is held by node \\(pid \\d+\\)\\. Port \\d+ is free\\.$`));
        const details = err.details as { holder?: { name?: string; pid?: number }; suggestion?: number };
        assert.equal(details.holder?.name, 'node');
        assert.ok((details.suggestion ?? 0) > port);
        return true;
      });
      // Held by another of this manager's own tunnels: that tunnel is named.
      const first = await manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port });
      await assert.rejects(manager.createTunnel({ server: 'test', type: 'local', localPort: first.localPort, remoteHost: '127.0.0.1', remotePort: suite.echo.port }),
        new RegExp(`Local port ${first.localPort} on 127\\.0\\.0\\.1 is held by the tunnel ${first.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} here\\.`));
    } finally {
      await manager.dispose();
      await holder.stop();
    }
  });
});

/** A copy of /proc/net/tcp{,6} and /etc/passwd with no process folders: what an unprivileged user can read of another's. */
function procWithoutFds(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-proc-'));
  fs.mkdirSync(path.join(root, 'proc', 'net'), { recursive: true });
  fs.mkdirSync(path.join(root, 'etc'));
  for (const f of ['tcp', 'tcp6']) fs.writeFileSync(path.join(root, 'proc', 'net', f), fs.readFileSync(`/proc/net/${f}`));
  fs.copyFileSync('/etc/passwd', path.join(root, 'etc', 'passwd'));
  return root;
}
