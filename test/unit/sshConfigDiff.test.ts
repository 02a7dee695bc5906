// Differential test: every host of every config under test/fixtures/ssh_config resolves, field
// by field, to what this machine's `ssh -G -F config host` prints.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSshConfig, resolveHost } from '../../src/config/sshConfig';
import { collect } from '../../src/config/sshConfigEval';
import { asSshG, sshG } from '../helpers/sshG';

// ssh expands `~` with the passwd home and matches localuser against the passwd name.
const home = os.userInfo().homedir;
const localUser = os.userInfo().username;
const fixtures = path.join(__dirname, '..', 'fixtures', 'ssh_config');
const DEFAULT_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((f) => `~/.ssh/${f}`);

function sameAsSshG(resolved: ReturnType<typeof resolveHost>, theirs: Map<string, string[]>, what: string): void {
  for (const [key, value] of Object.entries(asSshG(resolved, home, localUser))) {
    assert.deepEqual(value, theirs.get(key) ?? [], `${what}: ${key}`);
  }
}

describe('ssh_config corpus: the same answers as ssh -G', function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-corpus-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const name of fs.readdirSync(fixtures).filter((f) => fs.statSync(path.join(fixtures, f)).isDirectory())) {
    it(`${name}: every host field by field`, () => {
      const dir = path.join(tmp, name);
      fs.mkdirSync(dir);
      for (const f of fs.readdirSync(path.join(fixtures, name))) {
        fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(fixtures, name, f), 'utf8').replaceAll('@DIR@', dir));
      }
      const file = path.join(dir, 'config');
      // ssh -F reads no system-wide file: neither do we here.
      const loaded = loadSshConfig(file, { home, localUser, allowExec: true, systemConfig: null });
      const extra = /^# hosts:(.*)$/m.exec(fs.readFileSync(file, 'utf8'))?.[1].trim().split(/\s+/) ?? [];
      const hosts = [...new Set([...loaded.aliases, ...extra])];
      assert.ok(hosts.length > 0);
      for (const host of hosts) {
        const resolved = resolveHost(loaded, host);
        assert.equal(resolved.error, undefined, `${name} ${host}`);
        const theirs = sshG(file, host);
        sameAsSshG(resolved, theirs, `${name} ${host}`);
        // IdentityFile as written (ssh -G prints it unexpanded), defaults when none applies.
        const raw = (collect(loaded, host, { allowExec: true, execTimeoutMs: 3000 }).values.get('identityfile') ?? []).map((l) => l.args[0]);
        assert.deepEqual(raw.length ? raw : DEFAULT_IDENTITIES, theirs.get('identityfile'), `${name} ${host}: identityfile`);
      }
    });
  }

  it("this machine's own files, as plain ssh -G reads them: ~/.ssh/config, then /etc/ssh/ssh_config", () => {
    const loaded = loadSshConfig(path.join(home, '.ssh', 'config'), { home, localUser, allowExec: true, systemConfig: '/etc/ssh/ssh_config' });
    for (const host of ['ssh-tunnels-system-check', ...loaded.aliases]) sameAsSshG(resolveHost(loaded, host), sshG(undefined, host), `own files ${host}`);
  });
});
