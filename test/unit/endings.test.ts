import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { TunnelManager } from '../../src/engine';
import { freePort, SshdFixture } from '../fixtures/sshd';
import { startSsh, type SshForward } from '../helpers/openssh';
import { Relay } from '../helpers/relay';
import { staticServers } from '../helpers/servers';

/**
 * Every way a forwarded connection ends, at every moment of its life, ends the other side as
 * OpenSSH's `ssh -L`/`-D`/`-R` does. Each row of the table below is one connection made twice,
 * through the engine and through `ssh` on the same sshd, and what the far end saw (bytes, EOF,
 * closed) must be the same. A relay with LATENCY each way sits in front of sshd for both, so a
 * channel open takes a visible round trip and the moments before, during and after it can be hit.
 */
const LATENCY = 40;
/** How long after the last action both far ends have to settle before they are read. */
const SETTLE_MS = 1_500;
const HELLO = Buffer.from('hello');
/** How long after accepting a far service that ends acts. */
const ACT_AFTER_MS = LATENCY / 4;
/** What a far service streams in the mid-transfer rows, bounded. */
const STREAM_CHUNK = Buffer.alloc(16 * 1024, 7);
const STREAM_MAX = 256;

type Kind = 'L' | 'D' | 'R';
type Way = 'end' | 'destroy' | 'reset';
/** When the client ends: at once, while its channel opens, when the far end has it, right after, mid-transfer. */
type ClientMoment = 'at once' | 'pending' | 'far has it' | 'after greeting' | 'mid-transfer' | 'in SOCKS handshake';
/** When the far service ends: on accept, after its greeting, mid-transfer. */
type FarMoment = 'on accept' | 'after greeting' | 'mid-transfer';

interface Seen {
  connected: boolean;
  /** Bytes received; '*' where a reset makes the count a race in ssh too. */
  bytes: number | '*';
  eof: boolean;
  closed: boolean;
}

const ways: Way[] = ['end', 'destroy', 'reset'];

/** Settles with `promise`, or rejects after `ms` naming what it was doing: a stuck row fails, the run goes on. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`stuck for ${ms} ms: ${what}`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** What a row saw, or the error that stopped it. */
type Outcome = Seen | { stuck: string };

function settled<T extends object>(promise: Promise<T>, ms: number, what: string): Promise<T | { stuck: string }> {
  return within(promise, ms, what).catch((err: Error) => ({ stuck: err.message }));
}

function endWith(socket: net.Socket, way: Way): void {
  if (way === 'end') socket.end();
  else if (way === 'destroy') socket.destroy();
  else socket.resetAndDestroy();
}

/** Records what one socket sees, from now on. */
function watch(socket: net.Socket, exactBytes: boolean): { seen: Seen; onEnd?: () => void } {
  const seen: Seen = { connected: true, bytes: 0, eof: false, closed: false };
  let bytes = 0;
  socket.on('error', () => undefined);
  socket.on('data', (d: Buffer) => {
    bytes += d.length;
    if (exactBytes) seen.bytes = bytes;
  });
  if (!exactBytes) seen.bytes = '*';
  socket.once('end', () => (seen.eof = true));
  socket.once('close', () => (seen.closed = true));
  return { seen };
}

/** A far service on its own port, for one row on one side; `seen` is its first connection's. */
class Far {
  server!: net.Server;
  port = 0;
  seen: Seen = { connected: false, bytes: 0, eof: false, closed: false };
  private readonly sockets = new Set<net.Socket>();
  private accepted: () => void = () => undefined;
  readonly hasIt = new Promise<void>((r) => (this.accepted = r));

  constructor(private readonly onSocket: (socket: net.Socket, far: Far) => void) {}

  async start(): Promise<this> {
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      if (this.seen.connected) {
        socket.destroy();
        return;
      }
      this.onSocket(socket, this);
      this.accepted();
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Stops listening and ends what is still open (a row that failed may leave one). */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Streams STREAM_CHUNKs until the socket ends or STREAM_MAX are sent. */
function stream(socket: net.Socket): void {
  let sent = 0;
  const more = () => {
    while (sent < STREAM_MAX && !socket.writableEnded && !socket.destroyed) {
      sent++;
      if (!socket.write(STREAM_CHUNK)) {
        socket.once('drain', more);
        return;
      }
    }
  };
  more();
}

/** A far service for the rows where the client ends: greets or streams as the moment asks, and on the client's EOF replies and closes, as services do. */
function serviceForClientEnding(moment: ClientMoment, way: Way): Far {
  return new Far((socket, far) => {
    far.seen = watch(socket, way !== 'reset' || moment === 'at once').seen;
    socket.once('end', () => {
      socket.end('bye');
    });
    if (moment === 'after greeting') socket.write(HELLO);
    if (moment === 'mid-transfer') stream(socket);
  });
}

/** A far service for the rows where it ends: at accept, after its greeting, or mid-way through the client's upload. */
function serviceThatEnds(moment: FarMoment, way: Way): Far {
  return new Far((socket, far) => {
    far.seen = watch(socket, false).seen;
    // A moment after accepting, so that the tunnel's own connect (-R) has completed, as ssh's has by then.
    if (moment === 'on accept') setTimeout(() => endWith(socket, way), ACT_AFTER_MS);
    else if (moment === 'after greeting') socket.write(HELLO, () => setTimeout(() => endWith(socket, way), ACT_AFTER_MS));
    else {
      let got = 0;
      socket.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= 64 * 1024 && !socket.destroyed && !socket.writableEnded) endWith(socket, way);
      });
    }
  });
}

/** SOCKS5 greeting (no auth) and CONNECT 127.0.0.1:port. */
const SOCKS_GREETING = Buffer.from([5, 1, 0]);
function socksConnect(port: number): Buffer {
  return Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, port >> 8, port & 0xff]);
}
/** The method choice, and a CONNECT reply to an IPv4 request. */
const METHOD_REPLY = 2;
const CONNECT_REPLY = 10;

/** Reads exactly `n` bytes off a paused socket (what follows is put back). */
function take(socket: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < n) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (got.length > n) socket.unshift(got.subarray(n));
      resolve(got.subarray(0, n));
    };
    const onClose = () => reject(new Error('closed during the SOCKS handshake'));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  });
}

/**
 * Connects to `port` and resolves with the socket once it carries data for the far end. For -D
 * it speaks SOCKS5 to `target` as curl does (greeting, then the CONNECT once the method is
 * chosen), and stops after the greeting (`handshake`), once the CONNECT is sent (`sent request`)
 * or once its reply is read (`ready`).
 */
function dial(kind: Kind, port: number, target: number, mode: 'ready' | 'sent request' | 'handshake'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.once('connect', async () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      if (kind !== 'D') return resolve(socket);
      socket.write(SOCKS_GREETING);
      if (mode === 'handshake') return resolve(socket);
      try {
        await take(socket, METHOD_REPLY);
        socket.write(socksConnect(target));
        if (mode === 'sent request') return resolve(socket);
        const reply = await take(socket, CONNECT_REPLY);
        if (reply[1] !== 0) throw new Error(`SOCKS reply ${reply[1]}`);
        resolve(socket);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

function waitBytes(socket: net.Socket, n: number): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const onData = (d: Buffer) => {
      got += d.length;
      if (got < n) return;
      socket.off('data', onData);
      resolve();
    };
    socket.on('data', onData);
    socket.resume();
    socket.once('close', () => resolve());
  });
}

interface Entry {
  /** Where clients connect for this row (the tunnel's local port, the server's port for -R). */
  port: number;
  /** The far service (-L, -R: where the tunnel points; -D: the SOCKS target). */
  far: Far;
}

/** The client side of a row where the client ends; resolves once it has ended. */
async function clientEnds(kind: Kind, moment: ClientMoment, way: Way, entry: Entry): Promise<void> {
  if (moment === 'in SOCKS handshake') {
    const socket = await dial(kind, entry.port, entry.far.port, 'handshake');
    endWith(socket, way);
    return;
  }
  const socket = await dial(kind, entry.port, entry.far.port, moment === 'at once' || moment === 'pending' || moment === 'far has it' ? 'sent request' : 'ready');
  socket.resume();
  if (moment === 'at once') return endWith(socket, way);
  socket.write(HELLO);
  if (moment === 'pending') await new Promise((r) => setTimeout(r, LATENCY / 4));
  else if (moment === 'far has it') await entry.far.hasIt;
  else if (moment === 'after greeting') await waitBytes(socket, HELLO.length);
  else await waitBytes(socket, 8 * STREAM_CHUNK.length);
  endWith(socket, way);
}

/** The client side of a row where the far end ends: it sends, uploads for the mid-transfer moment, and ends when it sees the far end's EOF, as clients do. */
async function clientWatches(kind: Kind, moment: FarMoment, entry: Entry): Promise<Seen> {
  const socket = await dial(kind, entry.port, entry.far.port, 'ready');
  const { seen } = watch(socket, true);
  socket.once('end', () => socket.end());
  socket.resume();
  socket.write(HELLO);
  if (moment === 'mid-transfer') stream(socket);
  return seen;
}

/** Both sides of one kind of forward: the engine's and ssh's entry for each row. */
interface Sides {
  engine: Entry[];
  ssh: Entry[];
}

describe('every way a connection ends travels as through ssh (-L, -D, -R; client or far end; every moment)', function () {
  this.timeout(120_000);
  let sshd: SshdFixture;
  let relay: Relay;
  let manager: TunnelManager;
  const stops: Array<() => Promise<void>> = [];
  /** What the latest ssh said on stderr, for the message of a row that differs. */
  let sshErrors: () => string = () => '';
  const same = (engine: Outcome, ssh: Outcome) => assert.deepEqual(engine, ssh, `through the engine ${JSON.stringify(engine)}, through ssh ${JSON.stringify(ssh)}${sshErrors() ? `; ssh said: ${sshErrors().trim()}` : ''}`);

  before(async () => {
    sshd = await SshdFixture.start();
    relay = await Relay.inFrontOf(sshd);
    relay.latencyMs = LATENCY;
    manager = new TunnelManager({ servers: staticServers(sshd.server('test', { port: relay.port })) });
  });
  after(async () => {
    await manager?.dispose();
    for (const stop of stops) await stop();
    await relay?.close();
    await sshd?.stop();
  });

  /** Opens one tunnel of `kind` per far service through the engine, and the same through one `ssh -N`. */
  async function open(kind: Kind, fars: { engine: Far[]; ssh: Far[] }): Promise<Sides> {
    const engine: Entry[] = [];
    if (kind === 'D') {
      const info = await manager.createTunnel({ server: 'test', type: 'dynamic', localPort: 0 });
      for (const far of fars.engine) engine.push({ port: info.localPort, far });
    } else {
      for (const far of fars.engine) {
        const remotePort = kind === 'R' ? await freePort() : 0;
        const info = kind === 'L'
          ? await manager.createTunnel({ server: 'test', type: 'local', localPort: 0, remoteHost: '127.0.0.1', remotePort: far.port })
          : await manager.createTunnel({ server: 'test', type: 'remote', localHost: '127.0.0.1', localPort: far.port, remoteHost: '127.0.0.1', remotePort });
        engine.push({ port: kind === 'L' ? info.localPort : info.remotePort!, far });
      }
    }
    const ssh: Entry[] = [];
    const forwards: SshForward[] = [];
    if (kind === 'D') {
      const port = await freePort();
      forwards.push({ flag: '-D', spec: `127.0.0.1:${port}` });
      for (const far of fars.ssh) ssh.push({ port, far });
    } else {
      for (const far of fars.ssh) {
        const port = await freePort();
        forwards.push(kind === 'L' ? { flag: '-L', spec: `127.0.0.1:${port}:127.0.0.1:${far.port}` } : { flag: '-R', spec: `127.0.0.1:${port}:127.0.0.1:${far.port}` });
        ssh.push({ port, far });
      }
    }
    const proc = await startSsh(sshd, forwards, [...new Set(ssh.map((e) => e.port))], { port: relay.port });
    stops.push(() => proc.stop());
    sshErrors = proc.stderr;
    return { engine, ssh };
  }

  /** What the engine still holds for these rows (connections, waiting ones, channels), or undefined when nothing. */
  async function engineLeftover(): Promise<string | undefined> {
    const deadline = Date.now() + 3_000;
    for (;;) {
      const left = manager.listTunnels().filter((t) => t.stats.connectionsActive > 0 || (t.stats.connectionsWaiting ?? 0) > 0);
      const channels = manager.serverStatus('test').channels ?? 0;
      if (!left.length && channels === 0) return undefined;
      if (Date.now() > deadline) {
        return `${channels} channel(s); connections in ${left.map((t) => `${t.name} (${t.stats.connectionsActive} open, ${t.stats.connectionsWaiting} waiting)`).join(', ') || 'no tunnel'}`;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function closeAll(): Promise<void> {
    for (const t of manager.listTunnels()) await manager.closeTunnel(t.id);
  }

  const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

  /** Runs every row of one table on both sides at once, then reads both far ends and the engine's counts. */
  async function runTable<R>(kind: Kind, rows: R[], service: (row: R) => Far, act: (row: R, entry: Entry) => Promise<Seen | void>, name: (row: R) => string) {
    const fars = { engine: await Promise.all(rows.map((r) => service(r).start())), ssh: await Promise.all(rows.map((r) => service(r).start())) };
    const results = new Map<string, { engine: Outcome; ssh: Outcome }>();
    let leftover: string | undefined;
    try {
      const sides = await open(kind, fars);
      const run = (row: R, entry: Entry, side: string) => settled(act(row, entry).then((seen) => seen ?? { done: true }), 10_000, `${side}: ${name(row)}`);
      const done = await Promise.all(rows.flatMap((row, i) => [run(row, sides.engine[i], 'engine'), run(row, sides.ssh[i], 'ssh')]));
      await settle();
      rows.forEach((row, i) => {
        const pick = (side: 0 | 1, far: Far): Outcome => {
          const d = done[2 * i + side];
          if ('stuck' in d) return d;
          return 'done' in d ? { ...far.seen } : { ...(d as Seen) };
        };
        results.set(name(row), { engine: pick(0, fars.engine[i]), ssh: pick(1, fars.ssh[i]) });
      });
      leftover = await engineLeftover();
    } finally {
      await closeAll();
      for (const f of [...fars.engine, ...fars.ssh]) await f.close();
    }
    return { results, leftover };
  }

  describe('-L and -R: a channel the server or this side refuses (nothing listens at the far end)', () => {
    const results = new Map<string, { engine: Outcome; ssh: Outcome }>();
    before(async () => {
      for (const kind of ['L', 'R'] as const) {
        // A port nothing listens on: a far service started and stopped at once.
        const gone = await new Far(() => undefined).start();
        await gone.close();
        const sides = await open(kind, { engine: [gone], ssh: [gone] });
        // A client that sends its request at once (a browser), and one that sends nothing (a port check).
        const seeOne = async (entry: Entry, speaks: boolean) => {
          const socket = await dial(kind, entry.port, gone.port, 'ready');
          const { seen } = watch(socket, true);
          socket.once('end', () => socket.end());
          if (speaks) socket.write(HELLO);
          return seen;
        };
        for (const speaks of [true, false]) {
          const [engine, ssh] = await Promise.all([sides.engine[0], sides.ssh[0]].map((e) => settled(seeOne(e, speaks), 10_000, `-${kind} refused`)));
          await settle();
          results.set(`${kind}/${speaks}`, { engine: { ...engine }, ssh: { ...ssh } });
        }
        await closeAll();
      }
    });
    for (const kind of ['L', 'R']) {
      for (const speaks of [true, false]) {
        it(`-${kind}, a client that ${speaks ? 'sent its request' : 'sent nothing'}: it is ended as ssh ends it`, () => {
          const { engine, ssh } = results.get(`${kind}/${speaks}`)!;
          same(engine, ssh);
        });
      }
    }
  });

  describe('-L: a client that leaves before its channel open is even sent (the tunnel still connecting)', () => {
    const results = new Map<Way, { engine: Outcome; ssh: Outcome }>();
    let leftover: string | undefined;
    before(async () => {
      // The engine's tunnel listens while its SSH connection is made (slowed here); ssh listens only once connected, so its row is the 'at once' one.
      const slow = await Relay.inFrontOf(sshd, { delayMs: 500 });
      const waiting = new TunnelManager({ servers: staticServers(sshd.server('slow', { port: slow.port })) });
      try {
        const fars = { engine: await Promise.all(ways.map((w) => serviceForClientEnding('at once', w).start())), ssh: await Promise.all(ways.map((w) => serviceForClientEnding('at once', w).start())) };
        const sides = await open('L', { engine: [], ssh: fars.ssh });
        const ports = await Promise.all(ways.map(() => freePort()));
        const created = ways.map((_, i) => waiting.createTunnel({ server: 'slow', type: 'local', localPort: ports[i], remoteHost: '127.0.0.1', remotePort: fars.engine[i].port }));
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(waiting.listTunnels()[0].state, 'connecting');
        await Promise.all(ways.map((way, i) => Promise.all([
          clientEnds('L', 'at once', way, { port: ports[i], far: fars.engine[i] }),
          clientEnds('L', 'at once', way, sides.ssh[i]),
        ])));
        await Promise.all(created);
        await settle();
        ways.forEach((way, i) => results.set(way, { engine: { ...fars.engine[i].seen }, ssh: { ...fars.ssh[i].seen } }));
        const left = waiting.listTunnels().filter((t) => t.stats.connectionsActive + (t.stats.connectionsWaiting ?? 0) > 0);
        if (left.length || waiting.serverStatus('slow').channels) leftover = `${waiting.serverStatus('slow').channels} channel(s), ${left.length} tunnel(s) with connections`;
        for (const f of [...fars.engine, ...fars.ssh]) await f.close();
      } finally {
        await waiting.dispose();
        await closeAll();
        await slow.close();
      }
    });
    for (const way of ways) {
      it(`${way}: the far end sees what it sees through ssh at once`, () => {
        const { engine, ssh } = results.get(way)!;
        same(engine, ssh);
      });
    }
    it('the engine holds no connection or channel afterwards', () => assert.equal(leftover, undefined));
  });

  for (const kind of ['L', 'D', 'R'] as const) {
    const moments: ClientMoment[] = kind === 'D'
      ? ['in SOCKS handshake', 'at once', 'pending', 'far has it', 'after greeting', 'mid-transfer']
      : ['at once', 'pending', 'far has it', 'after greeting', 'mid-transfer'];
    const rows = moments.flatMap((moment) => ways.map((way) => ({ moment, way })));
    const rowName = ({ moment, way }: { moment: string; way: Way }) => `${moment}, ${way}`;

    describe(`-${kind}: the client ends`, () => {
      let table: Awaited<ReturnType<typeof runTable>>;
      before(async () => {
        table = await runTable(kind, rows, ({ moment, way }) => serviceForClientEnding(moment, way), ({ moment, way }, entry) => clientEnds(kind, moment, way, entry), rowName);
      });

      for (const row of rows) {
        it(`${rowName(row)}: the far end sees what it sees through ssh`, () => {
          const { engine, ssh } = table.results.get(rowName(row))!;
          same(engine, ssh);
        });
      }
      it('the engine holds no connection or channel afterwards', () => assert.equal(table.leftover, undefined));
    });

    const farRows = (['on accept', 'after greeting', 'mid-transfer'] as const).flatMap((moment) => ways.map((way) => ({ moment, way })));
    describe(`-${kind}: the far end ends`, () => {
      let table: Awaited<ReturnType<typeof runTable>>;
      before(async () => {
        table = await runTable(kind, farRows, ({ moment, way }) => serviceThatEnds(moment, way), ({ moment }, entry) => clientWatches(kind, moment, entry), rowName);
      });

      for (const row of farRows) {
        it(`${rowName(row)}: the client sees what it sees through ssh`, () => {
          const { engine, ssh } = table.results.get(rowName(row))!;
          // Through a reset mid-transfer, how much of the stream was in flight is a race in ssh as well.
          if (row.way === 'reset' && row.moment === 'mid-transfer' && 'bytes' in engine && 'bytes' in ssh) engine.bytes = ssh.bytes = '*';
          same(engine, ssh);
        });
      }
      it('the engine holds no connection or channel afterwards', () => assert.equal(table.leftover, undefined));
    });
  }
});
