import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { Client, type ClientChannel } from 'ssh2';
import { TunnelManager } from '../../src/engine';
import { checkSsh2, HOST_CERTIFICATE_ALGORITHMS, install, isInstalled, kexShapeProblems, NO_STDERR, ssh2Problems, SSH2_VERSION, Ssh2AdapterError, stderrStreamCount, type Ssh2Internals } from '../../src/engine/ssh2';
import { loadSsh2Internals } from '../../src/engine/ssh2/internals';
import { SshdFixture } from '../fixtures/sshd';
import { connect, startEchoServer } from '../helpers/net';
import { staticServers } from '../helpers/servers';

describe('the ssh2 adapter (src/engine/ssh2)', function () {
  this.timeout(30_000);

  describe('install() and its checks', () => {
    it('is installed (test/setup.ts does, as the composition roots do) and a second call changes nothing', () => {
      assert.equal(isInstalled(), true);
      const found = loadSsh2Internals();
      const destroy = found.Channel.prototype.destroy;
      const channelData = found.Protocol.prototype.channelData;
      const authPK = found.Protocol.prototype.authPK;
      install();
      install();
      assert.equal(found.Protocol.prototype.authPK, authPK, 'Protocol.authPK wrapped once');
      assert.equal(found.Channel.prototype.destroy, destroy, 'Channel.destroy wrapped once');
      assert.equal(found.Protocol.prototype.channelData, channelData, 'Protocol.channelData wrapped once');
    });

    it('a TunnelManager installs it when nothing did before (a script that skips the composition roots)', () => {
      const script = [
        "const adapter = require('./src/engine/ssh2');",
        'const before = adapter.isInstalled();',
        "new (require('./src/engine').TunnelManager)({ servers: { list: () => [], get: () => undefined } });",
        'process.stdout.write(JSON.stringify([before, adapter.isInstalled()]));',
      ].join('\n');
      const out = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: path.join(__dirname, '../..'), encoding: 'utf8' });
      assert.deepEqual(JSON.parse(out), [false, true]);
    });

    it('the version it checks is the one package.json pins, and the installed ssh2 is that version with no differences', () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { devDependencies: Record<string, string>; dependencies?: Record<string, string> };
      assert.equal(pkg.dependencies?.ssh2 ?? pkg.devDependencies.ssh2, SSH2_VERSION, 'ssh2 pinned to the exact version');
      assert.deepEqual(ssh2Problems(loadSsh2Internals()), []);
    });

    it('another ssh2 version fails loudly, naming both versions and what to do', () => {
      const found: Ssh2Internals = { ...loadSsh2Internals(), version: '1.18.0' };
      assert.throws(() => checkSsh2(found), (err: Error) => {
        assert.ok(err instanceof Ssh2AdapterError);
        assert.match(err.message, /needs ssh2 1\.17\.0 exactly/);
        assert.match(err.message, /but ssh2 1\.18\.0 is loaded: version 1\.18\.0 is not 1\.17\.0\./);
        assert.match(err.message, /npm ci/);
        return true;
      });
    });

    it('moved internals fail loudly, each difference named', () => {
      const real = loadSsh2Internals();
      const found: Ssh2Internals = {
        ...real,
        // Inherits every other method of the real prototype.
        Protocol: { prototype: Object.assign(Object.create(real.Protocol.prototype) as Record<string, unknown>, { ping: undefined, parse: 'not a function', channelWindowAdjust: undefined }) },
        zlib: { PacketReader: real.zlib.PacketReader, PacketWriter: undefined },
        Channel: { prototype: { end: () => undefined } },
        newClient: () => ({ _sock: undefined }),
        protocolUtils: { ...real.protocolUtils, convertSignature: undefined as never },
      };
      const problems = ssh2Problems(found);
      assert.deepEqual(problems, [
        'Protocol.prototype.parse() is not a function',
        'zlib.PacketWriter() is not a function',
        'Channel.prototype.close() is not a function',
        'Channel.prototype.destroy() is not a function',
        'Channel.prototype._read() is not a function',
        'Channel is not a constructor',
        'Client._callbacks is missing',
        'Client._protocol is missing',
        'Protocol.prototype.ping() is not a function',
        'protocol utils.convertSignature() is not a function',
        'Client._chanMgr is missing',
        'Protocol.prototype.channelWindowAdjust() is not a function',
      ]);
      assert.throws(() => checkSsh2(found), /ssh2 1\.17\.0 is loaded but its internals differ: Protocol\.prototype\.parse\(\) is not a function; zlib\.PacketWriter\(\) is not a function; /);
    });

    it('host certificates: the constants, utils and key exchange fields they need are checked, each difference named', () => {
      const real = loadSsh2Internals();
      const taken = Object.create(real.Protocol.prototype) as Record<string, unknown>;
      Object.defineProperty(taken, '_kex', { value: undefined, writable: true });
      const found: Ssh2Internals = {
        ...real,
        Protocol: { prototype: taken },
        constants: { DEFAULT_SERVER_HOST_KEY: [] } as never,
        protocolUtils: { ...real.protocolUtils, sigSSHToASN1: undefined as never },
      };
      const problems = ssh2Problems(found);
      assert.ok(problems.includes('protocol constants.SUPPORTED_SERVER_HOST_KEY is missing'), problems.join('\n'));
      assert.ok(problems.includes('protocol utils.sigSSHToASN1() is not a function'), problems.join('\n'));
      assert.ok(problems.includes('Protocol.prototype._kex is already defined'), problems.join('\n'));
      assert.deepEqual(kexShapeProblems({ negotiated: {}, _protocol: {} }), ['key exchange._hostKey is missing', 'key exchange.finish() is not a function', 'key exchange.getPublicKey() is not a function']);
      // Installed: ssh2 accepts the certificate names it can verify.
      const supported = real.constants.SUPPORTED_SERVER_HOST_KEY;
      for (const name of HOST_CERTIFICATE_ALGORITHMS) assert.ok(supported.includes(name), `${name} in ssh2's SUPPORTED_SERVER_HOST_KEY`);
    });

    it('a cipher whose fields moved is named, not patched', () => {
      const real = loadSsh2Internals();
      const found: Ssh2Internals = { ...real, crypto: { ...real.crypto, createCipher: () => ({ _encKey: Buffer.alloc(16) }) } };
      const problems = ssh2Problems(found);
      assert.ok(problems.includes('the AES-GCM cipher._encSSLName is missing'), problems.join('\n'));
      assert.ok(problems.includes('the AES-GCM cipher.allocPacket is missing'), problems.join('\n'));
      assert.ok(!problems.some((p) => p.startsWith('the AES-GCM decipher')), problems.join('\n'));
    });
  });

  describe('channels', () => {
    let sshd: SshdFixture;
    let echo: Awaited<ReturnType<typeof startEchoServer>>;
    let client: Client;

    before(async () => {
      sshd = await SshdFixture.start();
      echo = await startEchoServer();
      client = new Client();
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve());
        client.once('error', reject);
        client.connect({ host: '127.0.0.1', port: sshd.port, username: sshd.user, privateKey: fs.readFileSync(sshd.clientKeyPath), hostVerifier: () => true });
      });
    });
    after(async () => {
      client?.end();
      await echo?.close();
      await sshd?.stop();
    });

    const openEcho = () =>
      new Promise<ClientChannel>((resolve, reject) => client.forwardOut('127.0.0.1', 0, '127.0.0.1', echo.port, (err, ch) => (err ? reject(err) : resolve(ch))));

    it('destroying a channel whose writable side has finished does not end it again (no error built), and still closes it', async () => {
      const channel = await openEcho();
      channel.resume();
      await new Promise<void>((resolve) => channel.end(resolve));
      assert.equal(channel.writableFinished, true);
      const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
      // A second end() is what made Node build an ERR_STREAM_ALREADY_FINISHED error.
      const end = channel.end;
      let ends = 0;
      channel.end = function (this: ClientChannel, ...args: unknown[]) {
        ends++;
        return (end as (...a: unknown[]) => ClientChannel).apply(this, args);
      } as ClientChannel['end'];
      channel.destroy();
      assert.equal(ends, 0, 'end() was not called again');
      await closed;
    });

    it('a direct-tcpip channel has no stderr stream, carries data both ways, ends and closes', async () => {
      const built = stderrStreamCount();
      const channel = await openEcho();
      assert.equal(channel.stderr, NO_STDERR);
      assert.equal(stderrStreamCount(), built, 'no stderr Readable was constructed for it');
      assert.ok(!(channel.stderr instanceof Readable));
      const data = Buffer.alloc(300_000, 7); // beyond one window adjust
      const chunks: Buffer[] = [];
      channel.on('data', (c: Buffer) => chunks.push(c));
      const ended = new Promise<void>((resolve) => channel.once('end', () => resolve()));
      const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
      channel.end(data);
      await ended;
      await closed;
      assert.deepEqual(Buffer.concat(chunks), data);
    });

    it('a forwarded-tcpip channel (-R) has no stderr stream either, and carries data', async () => {
      const port = await new Promise<number>((resolve, reject) => client.forwardIn('127.0.0.1', 0, (err, bound) => (err ? reject(err) : resolve(bound))));
      try {
        const accepted = new Promise<ClientChannel>((resolve) => client.once('tcp connection', (_info, accept) => resolve(accept())));
        const sock = await connect(port);
        const built = stderrStreamCount();
        const channel = await accepted;
        assert.equal(channel.stderr, NO_STDERR);
        assert.equal(stderrStreamCount(), built, 'no stderr Readable was constructed for it');
        channel.pipe(channel); // echo back
        const got = new Promise<string>((resolve) => sock.once('data', (c: Buffer) => resolve(c.toString())));
        sock.write('over -R');
        assert.equal(await got, 'over -R');
        sock.destroy();
      } finally {
        await new Promise<void>((resolve) => client.unforwardIn('127.0.0.1', port, () => resolve()));
      }
    });

    it('a session channel keeps its stderr stream: exec output on stderr still arrives', async () => {
      const built = stderrStreamCount();
      const channel = await new Promise<ClientChannel>((resolve, reject) => client.exec('echo to-stderr >&2', (err, ch) => (err ? reject(err) : resolve(ch))));
      assert.notEqual(channel.stderr, NO_STDERR);
      assert.ok(channel.stderr instanceof Readable, 'a real Readable');
      assert.equal(stderrStreamCount(), built + 1, 'one stderr stream built, for the session channel');
      let stderr = '';
      channel.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      channel.resume();
      await new Promise<void>((resolve) => channel.once('close', () => resolve()));
      assert.equal(stderr, 'to-stderr\n');
    });

    it("a real key exchange has every field the host certificate adjustment touches", () => {
      const kex = (client as unknown as { _protocol: { _kex: object } })._protocol._kex;
      assert.ok(kex, 'the connected client kept its key exchange');
      assert.deepEqual(kexShapeProblems(kex), []);
    });

    it('through the engine: a -L tunnel carries data', async () => {
      const manager = new TunnelManager({ servers: staticServers(sshd.server('adapter')) });
      try {
        const info = await manager.createTunnel({ server: 'adapter', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: echo.port });
        const sock = await connect(info.localPort);
        const got = new Promise<string>((resolve) => sock.once('data', (c: Buffer) => resolve(c.toString())));
        sock.write('ping');
        assert.equal(await got, 'ping');
        sock.destroy();
      } finally {
        await manager.dispose();
      }
    });
  });
});
