import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ServerRegistry } from '../../src/config/servers';
import { TunnelError, TunnelManager, type HostKeyAnswer, type HostKeyQuestion } from '../../src/engine';
import { newKeyPair, SshdFixture } from '../fixtures/sshd';
import { echoRoundTrip, startEchoServer, waitFor } from '../helpers/net';
import { clientsOf } from '../helpers/processes';

describe('ProxyJump from ~/.ssh/config through two real sshd', function () {
  this.timeout(60_000);
  let jump: SshdFixture;
  let target: SshdFixture;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let dir: string;
  let kh: string;
  let configFile: string;

  before(async () => {
    [jump, target] = await Promise.all([SshdFixture.start(), SshdFixture.start()]);
    echo = await startEchoServer();
  });
  after(async () => {
    await echo?.close();
    await Promise.all([jump?.stop(), target?.stop()]);
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-tunnels-jump-'));
    kh = path.join(dir, 'known_hosts');
    configFile = path.join(dir, 'config');
    const host = (alias: string, sshd: SshdFixture, extra: string[] = []) => [
      `Host ${alias}`,
      '  HostName 127.0.0.1',
      `  Port ${sshd.port}`,
      `  User ${sshd.user}`,
      `  IdentityFile ${sshd.clientKeyPath}`,
      '  IdentityAgent none',
      `  UserKnownHostsFile ${kh}`,
      ...extra,
    ];
    fs.writeFileSync(
      configFile,
      [
        ...host('jump', jump),
        // The same bastion reached again from itself: a chain of three connections.
        ...host('jump-again', jump),
        ...host('target', target, ['  ProxyJump jump']),
        ...host('far-target', target, ['  ProxyJump jump,jump-again']),
        // A hop given as host:port, configured only by a pattern (not a listed server).
        ...host('via-pattern', target, [`  ProxyJump 127.0.0.1:${jump.port}`]),
        ...host('127.0.0.?', jump).filter((l) => !/^\s+(HostName|Port) /.test(l)),
        ...host('loop-a', target, ['  ProxyJump loop-b']),
        ...host('loop-b', jump, ['  ProxyJump loop-a']),
        '',
      ].join('\n'),
    );
  });
  afterEach(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    // The next test counts connections: let this one's close first.
    await waitFor(() => clientsOf(jump.port).length === 0 && clientsOf(target.port).length === 0, 5000, 'connections closed');
  });

  const trustBoth = () => fs.writeFileSync(kh, fs.readFileSync(jump.knownHostsPath, 'utf8') + fs.readFileSync(target.knownHostsPath, 'utf8'));
  const manager = (answer?: HostKeyAnswer, questions: HostKeyQuestion[] = []) =>
    new TunnelManager({
      servers: new ServerRegistry({ configPath: configFile, settings: [] }),
      reconnect: { maxAttempts: 0 },
      prompts: answer ? { hostKey: async (q) => (questions.push(q), answer) } : undefined,
    });

  it('reaches the target only through the jump host (forwardOut), and carries data', async () => {
    trustBoth();
    const m = manager();
    try {
      const info = await m.createTunnel({ server: 'target', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
      const result = await echoRoundTrip(info.localPort, 1024 * 1024);
      assert.equal(result.received, result.sent);
      // The TCP connection into the target's sshd belongs to the jump host's sshd, not to us.
      const clients = clientsOf(target.port);
      assert.equal(clients.length, 1, JSON.stringify(clients));
      assert.equal(clients[0].process, 'sshd');
      assert.notEqual(clients[0].pid, process.pid);
      assert.deepEqual(clientsOf(jump.port).map((c) => c.pid), [process.pid], 'we hold exactly one connection: to the jump host');
      await waitFor(() => target.output.includes(`Connection from 127.0.0.1 port ${clients[0].localPort} on 127.0.0.1 port ${target.port}`), 5000, "target's log");
      await waitFor(() => /Accepted publickey/.test(jump.output) && /Accepted publickey/.test(target.output), 5000, 'both logins logged');
    } finally {
      await m.dispose();
    }
  });

  it('a comma chain (ProxyJump jump,jump-again) dials each hop through the one before', async () => {
    trustBoth();
    const m = manager();
    try {
      const info = await m.createTunnel({ server: 'far-target', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
      const result = await echoRoundTrip(info.localPort, 256 * 1024);
      assert.equal(result.received, result.sent);
      const intoJump = clientsOf(jump.port);
      assert.equal(intoJump.filter((c) => c.pid === process.pid).length, 1, 'one connection from us to the first hop');
      assert.equal(intoJump.filter((c) => c.process === 'sshd').length, 1, 'the second hop is reached by the first');
      assert.equal(clientsOf(target.port).filter((c) => c.process === 'sshd').length, 1);
    } finally {
      await m.dispose();
    }
  });

  it('a hop named by host:port gets the settings of the Host pattern it matches, as with ssh', async () => {
    trustBoth();
    const m = manager();
    try {
      const listed = new ServerRegistry({ configPath: configFile }).list().map((s) => s.alias);
      assert.ok(listed.includes('via-pattern') && !listed.some((h) => h.startsWith('127.')), 'the pattern is not a listed server');
      await m.connectServer('via-pattern');
      assert.equal(clientsOf(target.port).filter((c) => c.process === 'sshd').length, 1);
    } finally {
      await m.dispose();
    }
  });

  it("checks the jump host's key too: unknown → asked about the jump, rejected → refused", async () => {
    fs.writeFileSync(kh, fs.readFileSync(target.knownHostsPath));
    const questions: HostKeyQuestion[] = [];
    const m = manager('reject', questions);
    try {
      await assert.rejects(m.connectServer('target'), (err: TunnelError) => {
        assert.equal(err.code, 'HOST_KEY_UNKNOWN');
        assert.ok(err.message.includes(`jump (127.0.0.1:${jump.port})`), err.message);
        return true;
      });
      assert.deepEqual(questions.map((q) => [q.server, q.port]), [['jump', jump.port]]);
    } finally {
      await m.dispose();
    }
  });

  it("checks the target's key when reached through the jump; trust-remember writes the target's line", async () => {
    fs.writeFileSync(kh, fs.readFileSync(jump.knownHostsPath));
    const questions: HostKeyQuestion[] = [];
    const m = manager('trust-remember', questions);
    try {
      await m.connectServer('target');
      assert.deepEqual(questions.map((q) => [q.server, q.port]), [['target', target.port]]);
      const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${target.port}`, '-f', kh], { encoding: 'utf8' });
      assert.ok(found.includes(target.hostPublicKey().split(/\s+/)[1]));
    } finally {
      await m.dispose();
    }
  });

  it('a tunnel cancelled while the target behind the jump is still connecting leaves no connection to the jump host', async () => {
    fs.writeFileSync(kh, fs.readFileSync(jump.knownHostsPath));
    let answer!: (a: HostKeyAnswer) => void;
    let markAsked!: () => void;
    const asked = new Promise<void>((resolve) => (markAsked = resolve));
    const m = new TunnelManager({
      servers: new ServerRegistry({ configPath: configFile, settings: [] }),
      reconnect: { maxAttempts: 0 },
      prompts: { hostKey: () => new Promise<HostKeyAnswer>((resolve) => ((answer = resolve), markAsked())) },
    });
    try {
      const abort = new AbortController();
      const creating = m.createTunnel({ server: 'target', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port }, { signal: abort.signal });
      await asked; // the jump host is connected; the target's key waits for a person
      abort.abort();
      await assert.rejects(creating, (err: TunnelError) => err.code === 'CANCELLED');
      answer('trust-once'); // the handshake finishes after the session was closed
      await waitFor(() => clientsOf(jump.port).length === 0, 5000, 'the connection to the jump host closed');
    } finally {
      await m.dispose();
    }
  });

  it('a changed key on the target behind the jump is refused', async () => {
    const [type] = target.hostPublicKey().split(/\s+/);
    const other = path.join(dir, 'other');
    newKeyPair(other);
    fs.writeFileSync(kh, fs.readFileSync(jump.knownHostsPath, 'utf8') + `[127.0.0.1]:${target.port} ${type} ${fs.readFileSync(`${other}.pub`, 'utf8').split(/\s+/)[1]}\n`);
    const m = manager('trust-remember');
    try {
      await assert.rejects(m.connectServer('target'), (err: TunnelError) => err.code === 'HOST_KEY_CHANGED' && err.message.includes(`${kh}:2`));
    } finally {
      await m.dispose();
    }
  });

  it('a ProxyJump loop is an error naming the loop', async () => {
    trustBoth();
    const m = manager();
    try {
      await assert.rejects(m.connectServer('loop-a'), /ProxyJump loop: loop-a → loop-b → loop-a\. Fix ProxyJump for loop-a\./);
    } finally {
      await m.dispose();
    }
  });
});
