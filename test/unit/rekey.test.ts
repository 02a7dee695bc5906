import * as assert from 'node:assert/strict';
import { TunnelManager } from '../../src/engine';
import { echoRoundTrip } from '../helpers/net';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';

describe('rekeying in the middle of a transfer', function () {
  this.timeout(120_000);
  // sshd asks for new keys after every 1 MiB; OpenSSH's own default is every 1-4 GiB.
  const suite = sshdWithEcho({ extraConfig: ['RekeyLimit 1M', 'LogLevel DEBUG1'] });

  // Before the fix, the host key was checked again, asynchronously, at every rekey; the server
  // switched keys first, ssh2 went on sending channel data under the old ones, and sshd dropped
  // the connection ("read ECONNRESET") a few MiB into the transfer.
  for (const cipher of ['aes128-ctr', 'aes128-gcm@openssh.com']) {
    it(`${cipher}: 32 MiB each way arrive intact on the one SSH connection, through many rekeys`, async () => {
      const logs: string[] = [];
      const manager = new TunnelManager({ servers: staticServers(suite.sshd.server('rk', { ciphers: [cipher] })), log: (m) => logs.push(m) });
      try {
        const kexBefore = (suite.sshd.output.match(/SSH2_MSG_KEXINIT received/g) ?? []).length;
        const info = await manager.createTunnel({ server: 'rk', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: suite.echo.port });
        const size = 32 * 1024 * 1024;
        const result = await echoRoundTrip(info.localPort, size);
        assert.equal(result.bytes, size);
        assert.equal(result.received, result.sent);
        const rekeys = (suite.sshd.output.match(/SSH2_MSG_KEXINIT received/g) ?? []).length - kexBefore - 1;
        assert.ok(rekeys >= 8, `sshd rekeyed ${rekeys} times`);
        assert.deepEqual(logs.filter((m) => /lost|reconnect/i.test(m)), [], 'the connection never dropped');
        assert.equal(manager.getTunnel(info.id)!.state, 'active');
      } finally {
        await manager.dispose();
      }
    });
  }
});
