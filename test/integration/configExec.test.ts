// `Match exec` of the ssh config in a real VS Code: in a trusted workspace the command runs off
// the extension host's event loop and a tunnel started meanwhile waits for it (here it gives the
// Port); in Restricted Mode it never runs and the log says why.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { ServerRegistry } from '../../src/config/servers';
import type { TunnelInfo } from '../../src/engine';
import type { SshTunnelsApi } from '../../src/extension';
import type { SshdFixture } from '../fixtures/sshd';
import { sshConfigHost } from '../helpers/sshConfigHost';
import { banner, run, sshConfigSuite } from '../helpers/vscode';

const SERVER = 'it-exec';

describe('ssh config Match exec in the extension', function () {
  this.timeout(60_000);
  const suite = sshConfigSuite(SERVER);
  let api: SshTunnelsApi;
  let sshd: SshdFixture;
  let marker: string;
  const config = () => vscode.workspace.getConfiguration('sshTunnels');

  before(() => {
    ({ api, sshd } = suite);
    marker = path.join(sshd.dir, 'exec-ran');
  });

  it('runs the command only when trusted, without blocking; a tunnel started meanwhile gets the Port it gives', async () => {
    const file = path.join(sshd.dir, 'ssh_config_exec');
    fs.writeFileSync(file, [
      ...sshConfigHost(sshd, SERVER, { port: false, strict: true }),
      `Match originalhost ${SERVER} exec "sleep 1; touch ${marker}"`,
      `  Port ${sshd.port}`,
      '',
    ].join('\n'));
    let longest = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 1);
    try {
      await config().update('sshConfigFile', file, vscode.ConfigurationTarget.Global);
      last = performance.now();
      longest = 0;
      const registry = api.servers as unknown as ServerRegistry;
      if (vscode.workspace.isTrusted) {
        // Started while the one-second command runs: it waits for it (not 22, the port without the Match block).
        const info = await run<TunnelInfo>('createTunnel', { server: SERVER, type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: sshd.port });
        assert.match(await banner(info.localPort), /^SSH-2\.0-OpenSSH/);
        assert.equal(api.servers.get(SERVER)?.port, sshd.port);
        assert.ok(fs.existsSync(marker), 'the command ran');
        // A synchronous run would hold the extension host for the whole second; the slack is for a loaded machine.
        assert.ok(longest < 500, `the extension host was blocked for ${longest.toFixed(0)} ms`);
        await run('closeTunnel', info.id);
      } else {
        await registry.whenResolved();
        assert.equal(api.servers.get(SERVER)?.port, undefined);
        assert.match(registry.problems().join('\n'), /Match exec "sleep 1; touch .*exec-ran" was not run \(only in a trusted workspace\)/);
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(fs.existsSync(marker), false, 'the command did not run');
      }
    } finally {
      clearInterval(ticker);
    }
  });
});
