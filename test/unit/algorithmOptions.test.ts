// The algorithm options, HostKeyAlias and HashKnownHosts against a real sshd, with OpenSSH's own
// `ssh` run on the same config first: the setup is proved by ssh, then the engine does the same.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSshConfig, resolveHost } from '../../src/config/sshConfig';
import { TunnelError, type ServerConfig } from '../../src/engine';
import { SshdFixture } from '../fixtures/sshd';
import { startEchoServer } from '../helpers/net';
import { tunnelCarriesData } from '../helpers/oneServer';
import { sshWithConfig } from '../helpers/openssh';
import { rejection } from '../helpers/rejection';
import { sshConfigHost } from '../helpers/sshConfigHost';
import { sshdWithAgent } from '../helpers/suite';

describe('algorithm options, HostKeyAlias and HashKnownHosts against a real sshd', function () {
  this.timeout(60_000);
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let dir: string;
  before(async () => {
    echo = await startEchoServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-algo-'));
  });
  after(async () => {
    await echo?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Our resolution of one Host block written after the fixture's lines; no warnings expected. */
  function configFor(sshd: SshdFixture, alias: string, lines: string[], options: { knownHosts?: string; strict?: boolean } = {}): { file: string; server: ServerConfig } {
    const file = path.join(dir, `${alias}.config`);
    fs.writeFileSync(file, [...sshConfigHost(sshd, alias, { strict: true, ...options }), ...lines.map((l) => `  ${l}`), ''].join('\n'));
    const resolved = resolveHost(loadSshConfig(file, { home: os.homedir(), localUser: os.userInfo().username }), alias);
    assert.deepEqual(resolved.warnings, []);
    return { file, server: resolved.server };
  }

  /** Opens a tunnel through the engine and sends data through it. */
  const carries = (server: ServerConfig): Promise<void> => tunnelCarriesData(server, echo.port, { bytes: 32 * 1024 });

  describe('a server that offers only ssh-ed25519 host keys and only curve25519-sha256 key exchange', () => {
    let sshd: SshdFixture;
    before(async () => {
      sshd = await SshdFixture.start({ extraConfig: ['HostKeyAlgorithms ssh-ed25519', 'KexAlgorithms curve25519-sha256'] });
    });
    after(async () => sshd?.stop());

    it('HostKeyAlgorithms -ssh-ed25519: refused by ssh, and by the engine with a message naming the option', async () => {
      const { file, server } = configFor(sshd, 'no-ed25519', ['HostKeyAlgorithms -ssh-ed25519']);
      const theirs = sshWithConfig(file, 'no-ed25519');
      assert.equal(theirs.ok, false);
      assert.match(theirs.stderr, /no matching host key type found/);
      const err = await rejection(carries(server), TunnelError);
      assert.equal(err.code, 'CONNECT_FAILED');
      assert.match(err.message, /no-ed25519 and this side have no host key type in common \(ssh: "no matching host key type found"\): this side offers only ssh-ed25519-cert-v01@openssh\.com, .*, ecdsa-sha2-nistp256, .*rsa-sha2-256 \(HostKeyAlgorithms\)\. Change HostKeyAlgorithms for no-ed25519/);
      // As ssh's default list: the certificates first (their plain ssh-ed25519 is what - took out).
      assert.doesNotMatch(err.message, /[ ,]ssh-ed25519[,)]/);
    });

    it('HostKeyAlgorithms +ssh-rsa and ^ssh-ed25519: logged in by ssh and by the engine', async () => {
      for (const [alias, value] of [
        ['plus-rsa', '+ssh-rsa'],
        ['caret-ed25519', '^ssh-ed25519'],
      ]) {
        const { file, server } = configFor(sshd, alias, [`HostKeyAlgorithms ${value}`]);
        assert.equal(sshWithConfig(file, alias).ok, true, sshWithConfig(file, alias).stderr);
        await carries(server);
      }
    });

    it('KexAlgorithms curve25519-sha256 logs in; KexAlgorithms -curve25519* is refused naming KexAlgorithms', async () => {
      const matching = configFor(sshd, 'kex-curve', ['KexAlgorithms curve25519-sha256']);
      assert.deepEqual(matching.server.kexAlgorithms, ['curve25519-sha256']);
      assert.equal(sshWithConfig(matching.file, 'kex-curve').ok, true);
      await carries(matching.server);
      const other = configFor(sshd, 'kex-none', ['KexAlgorithms -curve25519*']);
      assert.equal(sshWithConfig(other.file, 'kex-none').ok, false);
      const err = await rejection(carries(other.server), TunnelError);
      assert.match(err.message, /no key exchange method in common .*\(KexAlgorithms\)/);
    });

    it('MACs: a list of one the server accepts logs in', async () => {
      const { file, server } = configFor(sshd, 'mac', ['Ciphers aes128-ctr', 'MACs hmac-sha2-256-etm@openssh.com']);
      assert.equal(sshWithConfig(file, 'mac').ok, true);
      await carries(server);
    });

    it('a name ssh2 cannot use, handed to the engine directly: a clear refusal, not a crash', async () => {
      const err = await rejection(carries(sshd.server('bad-mac', { macs: ['umac-64@openssh.com'] })), TunnelError);
      assert.equal(err.code, 'CONNECT_FAILED');
      assert.match(err.message, /Cannot connect to bad-mac: .*umac-64@openssh\.com.*Check the algorithm options/);
    });

    it('PubkeyAcceptedAlgorithms without the key type: the key is not offered, and the failure says why', async () => {
      const { file, server } = configFor(sshd, 'no-ed-key', ['PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256']);
      assert.equal(sshWithConfig(file, 'no-ed-key').ok, false);
      const err = await rejection(carries(server), TunnelError);
      assert.equal(err.code, 'AUTH_FAILED');
      assert.match(err.message, /key \S+client_key \(ssh-ed25519 is not in PubkeyAcceptedAlgorithms\)/);
      await carries(configFor(sshd, 'ed-key', ['PubkeyAcceptedKeyTypes ^ssh-ed25519']).server);
    });
  });

  describe('PubkeyAcceptedAlgorithms and the keys an ssh-agent holds', () => {
    const suite = sshdWithAgent();

    it("the agent's ed25519 key is used when accepted, and not offered when not", async () => {
      // The fixture's Host lines without its key file and with the agent (the first IdentityAgent wins).
      const agentConfig = (alias: string, accepted: string) => {
        const file = path.join(dir, `${alias}.config`);
        const lines = sshConfigHost(suite.sshd, alias, { strict: true }).filter((l) => !/^\s*(IdentityFile|IdentityAgent) /.test(l));
        fs.writeFileSync(file, [...lines, `  IdentityAgent ${suite.agent.socket}`, `  IdentityFile ${path.join(suite.sshd.dir, 'no-such-key')}`, `  PubkeyAcceptedAlgorithms ${accepted}`, ''].join('\n'));
        return { file, server: resolveHost(loadSshConfig(file, { home: os.homedir(), localUser: os.userInfo().username }), alias).server };
      };
      const accepted = agentConfig('agent-ok', 'ssh-ed25519');
      assert.equal(sshWithConfig(accepted.file, 'agent-ok').ok, true);
      await carries(accepted.server);
      const refusedCfg = agentConfig('agent-no', 'rsa-sha2-512');
      assert.equal(sshWithConfig(refusedCfg.file, 'agent-no').ok, false);
      const err = await rejection(carries(refusedCfg.server), TunnelError);
      assert.equal(err.code, 'AUTH_FAILED');
    });
  });

  describe('known_hosts under HostKeyAlias, and hashed with HashKnownHosts', () => {
    let sshd: SshdFixture;
    before(async () => {
      sshd = await SshdFixture.start();
    });
    after(async () => sshd?.stop());

    it('a known_hosts entry under the alias vouches for the host', async () => {
      const knownHosts = path.join(dir, 'alias_known_hosts');
      const [type, key] = sshd.hostPublicKey().split(/\s+/);
      fs.writeFileSync(knownHosts, `shared-name ${type} ${key}\n`);
      const { file, server } = configFor(sshd, 'aliased', ['HostKeyAlias shared-name'], { knownHosts });
      assert.equal(sshWithConfig(file, 'aliased').ok, true);
      await carries(server);
      // Without the alias the same file does not know the host.
      const err = await rejection(carries({ ...server, hostKeyAlias: undefined }), TunnelError);
      assert.equal(err.code, 'HOST_KEY_UNKNOWN');
    });

    it('a new host key is written under the alias, and ssh then accepts it', async () => {
      const knownHosts = path.join(dir, 'alias_new_known_hosts');
      const { file, server } = configFor(sshd, 'aliased-new', ['HostKeyAlias new-name'], { knownHosts });
      await carries({ ...server, strictHostKeyChecking: 'accept-new' });
      const [type, key] = sshd.hostPublicKey().split(/\s+/);
      assert.equal(fs.readFileSync(knownHosts, 'utf8'), `new-name ${type} ${key}\n`);
      assert.equal(sshWithConfig(file, 'aliased-new').ok, true);
    });

    it('HashKnownHosts yes writes a hashed line that ssh-keygen -F finds and ssh accepts', async () => {
      const knownHosts = path.join(dir, 'hashed_known_hosts');
      const { file, server } = configFor(sshd, 'hashed', ['HashKnownHosts yes'], { knownHosts });
      assert.equal(server.hashKnownHosts, true);
      await carries({ ...server, strictHostKeyChecking: 'accept-new' });
      const written = fs.readFileSync(knownHosts, 'utf8');
      assert.match(written, /^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28} ssh-ed25519 \S+\n$/);
      assert.doesNotMatch(written, /127\.0\.0\.1/);
      const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', knownHosts], { encoding: 'utf8' });
      assert.match(found, /Host \[127\.0\.0\.1\]:\d+ found: line 1/);
      assert.equal(sshWithConfig(file, 'hashed').ok, true);
      // The engine reads its own hashed line back.
      await carries(server);
    });
  });
});
