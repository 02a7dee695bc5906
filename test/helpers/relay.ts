import * as net from 'node:net';
import type { SshdFixture } from '../fixtures/sshd';

/**
 * A loopback TCP relay in front of a server. `freeze()` makes it a black hole: it stops
 * passing bytes both ways without closing anything, as a dead network path does;
 * `resume()` lets bytes through again. `corruptFromServer(offset)` flips one bit in the byte
 * at that offset of what the server sends, as a faulty or hostile path would.
 * `delayMs` holds each new connection that long before it reaches the server (a slow network:
 * the SSH handshake takes that much longer).
 * A client that leaves while frozen is not passed on either: the server keeps its side, as a
 * server behind a dead path does, until `releaseOrphans()` ends it (the server noticing at last).
 * Likewise a server that leaves while frozen is told to the client only on `resume()`, with a
 * reset, as the client's next packet after a dead path would earn.
 * `latencyMs` holds every chunk that long each way, in order (a congested path); `reset()`
 * ends every connection with an RST on both sides.
 */
interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
  held: Buffer[];
  /** The server closed while frozen: the client hears of it on resume. */
  upstreamGone?: boolean;
  /** When the last chunk each way is due, so that latency keeps the order. */
  toServerDue: number;
  toClientDue: number;
}

export class Relay {
  private server!: net.Server;
  private frozen = false;
  private corruptAt = -1;
  private fromServer = 0;
  private readonly pairs = new Set<Pair>();
  /** Server sides of connections whose client left while frozen. */
  private readonly orphans = new Set<net.Socket>();
  port = 0;
  delayMs = 0;
  latencyMs = 0;

  private constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1') {}

  static async start(targetPort: number, options: { delayMs?: number } = {}): Promise<Relay> {
    const relay = new Relay(targetPort);
    relay.delayMs = options.delayMs ?? 0;
    relay.server = net.createServer((client) => relay.accept(client));
    await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
    relay.port = (relay.server.address() as net.AddressInfo).port;
    return relay;
  }

  /** A relay in front of the sshd fixture, whose known_hosts trusts the relay's port as the sshd's own. */
  static async inFrontOf(sshd: SshdFixture, options: { delayMs?: number } = {}): Promise<Relay> {
    const relay = await Relay.start(sshd.port, options);
    sshd.trustOnPort(relay.port);
    return relay;
  }

  private accept(client: net.Socket): void {
    const pair: Pair = { client, held: [], toServerDue: 0, toClientDue: 0 };
    this.pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => {
      this.pairs.delete(pair);
      if (this.frozen && pair.upstream && !pair.upstream.destroyed) {
        this.orphans.add(pair.upstream);
        pair.upstream.once('close', () => this.orphans.delete(pair.upstream!));
      } else pair.upstream?.destroy();
    });
    client.on('data', (d: Buffer) => this.later(pair, 'toServerDue', () => this.toServer(pair, d)));
    if (this.delayMs > 0) {
      setTimeout(() => {
        if (!this.frozen && !client.destroyed && !pair.upstream) this.connectUpstream(pair);
      }, this.delayMs);
    } else if (!this.frozen) this.connectUpstream(pair);
  }

  /** Runs `deliver` after the latency, never before what came earlier the same way. */
  private later(pair: Pair, way: 'toServerDue' | 'toClientDue', deliver: () => void): void {
    const now = Date.now();
    if (this.latencyMs <= 0 && pair[way] <= now) return deliver();
    pair[way] = Math.max(now + this.latencyMs, pair[way]);
    setTimeout(deliver, pair[way] - now);
  }

  private toServer(pair: Pair, d: Buffer): void {
    if (this.frozen || !pair.upstream || pair.upstream.connecting) pair.held.push(d);
    else pair.upstream.write(d);
  }

  private connectUpstream(pair: Pair): void {
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', () => undefined);
    upstream.on('close', () => {
      if (this.frozen) pair.upstreamGone = true;
      else this.later(pair, 'toClientDue', () => pair.client.destroy());
    });
    upstream.on('data', (d: Buffer) => this.later(pair, 'toClientDue', () => {
      // While frozen, what the server sends is lost, as on a dead path.
      if (this.frozen) return;
      if (this.corruptAt >= this.fromServer && this.corruptAt < this.fromServer + d.length) {
        d = Buffer.from(d);
        d[this.corruptAt - this.fromServer] ^= 0x01;
      }
      this.fromServer += d.length;
      pair.client.write(d);
    }));
    upstream.once('connect', () => {
      if (!this.frozen) this.flush(pair);
    });
  }

  private flush(pair: Pair): void {
    for (const d of pair.held.splice(0)) pair.upstream!.write(d);
  }

  /** How many bytes the server has sent through the relay so far. */
  get bytesFromServer(): number {
    return this.fromServer;
  }

  corruptFromServer(offset: number): void {
    this.corruptAt = offset;
  }

  freeze(): void {
    this.frozen = true;
  }

  resume(): void {
    this.frozen = false;
    for (const pair of this.pairs) {
      if (pair.upstreamGone) pair.client.resetAndDestroy();
      else if (!pair.upstream) this.connectUpstream(pair);
      else if (!pair.upstream.connecting) this.flush(pair);
    }
  }

  /** Ends every connection with an RST to both sides, as a router that lost its state does. */
  reset(): number {
    const pairs = [...this.pairs];
    for (const pair of pairs) {
      this.pairs.delete(pair);
      pair.client.resetAndDestroy();
      if (pair.upstream?.connecting) pair.upstream.destroy();
      else pair.upstream?.resetAndDestroy();
    }
    return pairs.length;
  }

  /** Ends the server side of every connection whose client left while frozen; resolves when the server has closed them. */
  async releaseOrphans(): Promise<number> {
    const orphans = [...this.orphans];
    await Promise.all(orphans.map((o) => new Promise<void>((resolve) => {
      o.once('close', () => resolve());
      o.destroy();
    })));
    return orphans.length;
  }

  get connections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    for (const orphan of this.orphans) orphan.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
