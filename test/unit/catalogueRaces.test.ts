// Three processes' catalogues, each with its own engine and its own real Peers (further instances
// in this process get sockets of their own), started together for the same autoStart settings
// tunnel: exactly one serves it, the two others show it served by that one. The catalogue's own
// open path decides (ready, the port, the wait for an announcement), over a real sshd.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TunnelManager, type TunnelSpec } from '../../src/engine';
import { Peers } from '../../src/peers';
import { TunnelCatalogue, type WantedTunnel } from '../../src/catalogue';
import { freePort } from '../fixtures/sshd';
import { staticServers } from '../helpers/servers';
import { sshdWithEcho } from '../helpers/suite';

const ROUNDS = 50;

describe('catalogue: three processes started together for one autoStart tunnel', function () {
  this.timeout(180_000);
  const env = sshdWithEcho();

  it(`end with exactly one owner, the others showing it served by that one, ${ROUNDS} times`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'catalogue-races-'));
      const spec: TunnelSpec = { server: 'test', type: 'local', localPort: await freePort(), remoteHost: '127.0.0.1', remotePort: env.echo.port, name: 'db' };
      const entry: WantedTunnel = { key: 'name:db', source: 'settings', spec, fingerprint: JSON.stringify(spec), autoStart: true };
      const processes = ['api', 'web', 'docs'].map((folder) => {
        const manager = new TunnelManager({ servers: staticServers(env.sshd.server('test')), reconnect: { maxAttempts: 0 } });
        const catalogue = new TunnelCatalogue({ manager });
        const peers = Peers.start({ kind: 'window', folder, manager, actions: catalogue.ownerActions(), log: () => undefined, dir });
        catalogue.setPeers(peers);
        return { manager, catalogue, peers };
      });
      try {
        await Promise.all(processes.map((p) => p.catalogue.setWanted('settings', [entry])));
        const states = processes.map((p) => p.catalogue.get('name:db')!.state);
        const owners = states.flatMap((s, i) => (s.kind === 'running' ? [i] : []));
        assert.equal(owners.length, 1, `round ${round}: ${JSON.stringify(states.map((s) => s.kind))}`);
        const owner = processes[owners[0]];
        assert.equal(owner.manager.getTunnel((states[owners[0]] as { tunnelId: string }).tunnelId)?.localPort, spec.localPort);
        states.forEach((s, i) => {
          if (i === owners[0]) return;
          assert.equal(s.kind, 'elsewhere', `round ${round}, process ${i}: ${JSON.stringify(s)}`);
          if (s.kind === 'elsewhere') assert.equal(s.served.peer.id, owner.peers.self.id);
          assert.equal(processes[i].manager.listTunnels().length, 0, `round ${round}, process ${i} opened one too`);
        });
      } finally {
        for (const p of processes) p.catalogue.dispose();
        await Promise.all(processes.map((p) => p.peers.dispose(() => p.manager.dispose())));
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
