// `ssh-tunnels up` on Windows' Node: -L, -D and -R carry data whose SHA-256 comes back whole, the
// config read from %USERPROFILE%\.ssh, and Ctrl-C in its console, or at its passphrase prompt,
// closes every tunnel.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { freePort, newKeyPair } from '../fixtures/sshd';
import { bound, echoRoundTrip, pipeThrough } from '../helpers/net';
import { socksConnect } from '../helpers/socks';
import { boxSuite, cli, HOME, stopWindowsProcesses } from './wine';

const MIB = 1024 * 1024;

describe('Windows: ssh-tunnels up carries -L, -D and -R, and Ctrl-C closes them all', function () {
  this.timeout(90_000);
  stopWindowsProcesses();
  // `locked`: the same server through a key whose passphrase is asked.
  const suite = boxSuite((sshd) => `Host locked\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityAgent none\n  IdentitiesOnly yes\n  IdentityFile ~\\.ssh\\locked\n`);
  before(() => newKeyPair(path.join(HOME, '.ssh', 'locked'), { passphrase: 'not typed' }));

  it('-L, -D and -R through a host of %USERPROFILE%\\.ssh\\config with its default key carry 4 MiB each way intact; Ctrl-C closes all three and exits 0', async () => {
    const [local, socks, remote] = [await freePort(), await freePort(), await freePort()];
    const up = cli(['up', '--server', 'box', '-L', `${local}:127.0.0.1:${suite.echo.port}`, '-D', String(socks), '-R', `${remote}:127.0.0.1:${suite.echo.port}`]);
    await up.waitFor(new RegExp(`open, listening on 127\\.0\\.0\\.1:${socks}`));
    await up.waitFor(new RegExp(`open, listening on 127\\.0\\.0\\.1:${local}`));
    await up.waitFor(new RegExp(`open, box listens on 127\\.0\\.0\\.1:${remote}`));

    const throughL = await echoRoundTrip(local, 4 * MIB);
    assert.equal(throughL.received, throughL.sent, '-L');
    assert.equal(throughL.bytes, 4 * MIB);
    const throughD = await pipeThrough(await socksConnect(socks, '127.0.0.1', suite.echo.port), 4 * MIB);
    assert.equal(throughD.received, throughD.sent, '-D');
    // -R: the server's port leads back to this side (node.exe dials the echo service).
    const throughR = await echoRoundTrip(remote, 4 * MIB);
    assert.equal(throughR.received, throughR.sent, '-R');

    assert.equal(await up.stop(), 0, up.text());
    const said = up.text();
    assert.match(said, /3 tunnels through box at exit: 3 active\./);
    assert.match(said, /Closing 3 tunnels…\r?\nAll tunnels are closed\./);
    for (const port of [local, socks, remote]) assert.equal(await bound(port), false, `port ${port} closed`);
  });

  it('Ctrl-C typed at a passphrase prompt closes every tunnel as Ctrl-C does elsewhere (it does not end the process outright)', async () => {
    const up = cli(['up', '--server', 'locked', '-L', `${await freePort()}:127.0.0.1:${suite.echo.port}`], { input: '\x03' });
    await up.waitFor(/Enter passphrase for key '.*locked'/);
    await up.exited;
    assert.match(up.text(), /Closing 1 tunnel…\r?\nThe tunnel is closed\./);
  });
});
