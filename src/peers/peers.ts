// The processes of one person on one machine (VS Code windows, `ssh-tunnels up`, `ssh-tunnels
// mcp`) tell each other the tunnels they serve, each listening on a Unix socket in a private
// runtime folder (on Windows: a named pipe, named by a file there). No daemon: each process
// listens on its own, a newcomer connects to those it finds, and nothing is left once the last
// one ends. Pure Node.
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as path from 'node:path';
import { Emitter, errorMessage, TunnelError, type TunnelInfo, type TunnelSpec } from '../engine';
import { Announcer, type AnnouncedManager } from './announcer';
import { Link } from './link';
import { PROTOCOL_VERSION, type Message } from './protocol';
import { Registry, who } from './registry';
import { Requests } from './requests';
import { pipeTransport, type PipePlace } from './pipes';
import { alive, whenGone } from './processes';
import { checkRuntimeDir, defaultRuntimeDir, type RuntimePlace } from './runtimeDir';
import { socketTransport } from './sockets';
import type { Endpoint, Transport } from './transport';
import { type OwnerActions, type PeerIdentity, type PeerKind, type PeerTunnel, type PeerTunnels } from './types';

export interface PeersOptions {
  kind: PeerKind;
  /** A window's folder names ("api, web"). */
  folder?: string;
  /** This process's engine: its tunnels are announced to the others. */
  manager: AnnouncedManager;
  /** What this process does when another asks it to act on its tunnel. */
  actions: OwnerActions;
  log: (message: string) => void;
  /** The runtime folder (default: defaultRuntimeDir()). */
  dir?: string;
  /** How long ready() waits at most for the processes found at start (ms). */
  readyTimeoutMs?: number;
  /** The platform whose way is used, and its places (this process's by default): tests run Windows' over Unix sockets standing in for pipes. */
  place?: RuntimePlace & PipePlace;
}

/** The instances whose entry goes when the process exits: one listener for all. */
const listening = new Set<Peers>();
const onExit = () => {
  for (const p of listening) p.unlinkOwnSocket();
};

function atExit(owner: Peers, on: boolean): void {
  if (on) {
    if (listening.size === 0) process.on('exit', onExit);
    listening.add(owner);
  } else if (listening.delete(owner) && listening.size === 0) process.off('exit', onExit);
}

/** How long a question about a port waits for processes that connected but have not said hello yet. */
const HELLO_GRACE_MS = 50;

/** How long the owner of a tunnel may take to close it, and to restart it (a reconnect, a question to its person). */
const CLOSE_ANSWER_MS = 30_000;
const RESTART_ANSWER_MS = 120_000;

export class Peers implements PeerTunnels {
  readonly self: PeerIdentity;
  /** The folder used, and our entry in it (the socket; on Windows the file naming our pipe); undefined when running alone. */
  readonly dir: string;
  socketPath: string | undefined;
  private readonly transport: Transport;
  private server: net.Server | undefined;
  /** Where this process listens, once it does. */
  private endpoint: Endpoint | undefined;
  private listened: Promise<Endpoint | undefined> | undefined;
  private readonly links = new Set<Link>();
  private readonly registry: Registry;
  private readonly requests: Requests;
  private disposed = false;
  private disposing: Promise<void> | undefined;
  private readonly announcer: Announcer;
  private readonly readyPromise: Promise<void>;
  private markReady: () => void = () => undefined;

  private readonly _onDidChange = new Emitter<void>();
  readonly onDidChange = this._onDidChange.event;
  private readonly _onDidLose = new Emitter<{ peer: PeerIdentity; tunnels: PeerTunnel[] }>();
  readonly onDidLose = this._onDidLose.event;

  /**
   * Starts sharing: synchronously only the runtime folder is made and checked; listening and
   * connecting to the processes already there happen after the caller's turn.
   */
  static start(options: PeersOptions): Peers {
    return new Peers(options);
  }

  private constructor(private readonly options: PeersOptions) {
    this.self = {
      id: `${process.pid}-${randomBytes(4).toString('hex')}`,
      pid: process.pid,
      kind: options.kind,
      ...(options.folder ? { folder: options.folder } : {}),
      startedAt: Date.now(),
    };
    const place = options.place ?? {};
    this.dir = options.dir ?? defaultRuntimeDir(place);
    this.transport = (place.platform ?? process.platform) === 'win32' ? pipeTransport(place) : socketTransport(place.platform);
    this.readyPromise = new Promise((resolve) => (this.markReady = resolve));
    const log = (message: string) => this.log(message);
    this.registry = new Registry(this.self.id, this.transport.entryName, {
      log,
      changed: () => this._onDidChange.fire(),
      lost: (peer, tunnels) => {
        this.requests.lost(peer);
        this._onDidChange.fire();
        this._onDidLose.fire({ peer, tunnels });
      },
    });
    this.requests = new Requests({ find: (id) => this.registry.get(id), manager: options.manager, actions: options.actions, log });
    this.announcer = new Announcer(
      options.manager,
      options.actions,
      (tunnel) => {
        // Every link has had this process's hello first (even one whose own hello has not come yet), so the change follows it.
        for (const link of this.links) if (!link.dropped) link.send({ t: 'tunnel', tunnel });
      },
      () => this.links.size > 0,
    );
    const problem = checkRuntimeDir(this.dir, place);
    if (problem) {
      this.log(`The runtime folder ${this.dir} ${problem}: ignored; tunnels of other processes are not shared.`);
      this.markReady();
      return;
    }
    const socketPath = this.transport.ownEntry(this.dir);
    const tooLong = this.transport.entryProblem(socketPath);
    if (tooLong) {
      this.log(`The socket ${socketPath} is longer than a Unix socket allows (${tooLong}): tunnels of other processes are not shared (set SSH_TUNNELS_RUNTIME_DIR to a shorter folder).`);
      this.markReady();
      return;
    }
    this.socketPath = socketPath;
    setImmediate(() => {
      this.open(socketPath).catch((err) => {
        this.log(`Sharing tunnels with other processes failed: ${errorMessage(err)}`);
        this.markReady();
      });
    });
  }

  private log(message: string): void {
    this.options.log(`peers: ${message}`);
  }

  // ---- start: listen, then connect to those already there ----

  private async open(socketPath: string): Promise<void> {
    if (this.disposed) return;
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    this.listened = this.transport.listen(server, socketPath, (message) => this.log(message));
    this.endpoint = await this.listened;
    if (this.disposed) {
      // Disposed while it started listening.
      server.close();
      return this.unlinkOwnSocket();
    }
    atExit(this, true);
    // Read after listening: of two processes starting together, at least one sees the other.
    const waits = (await this.transport.others(this.dir, socketPath)).map((file) => this.connect(file));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, this.options.readyTimeoutMs ?? 300).unref());
    await Promise.race([Promise.all(waits), timeout]);
    this.markReady();
  }

  /** Connects to another process's socket; resolves once it said hello, or is known not to. */
  private async connect(file: string): Promise<void> {
    const socket = await this.transport.dial(file, (message) => this.log(message), () => this.disposed);
    if (!socket) return;
    if (this.disposed) {
      socket.destroy();
      return;
    }
    const link = this.addLink(socket, true);
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      link.onHello = resolve;
    });
  }

  private accept(socket: net.Socket): void {
    // Dropped at once if it fails before it proved itself (the error is its proof's failure).
    socket.on('error', () => undefined);
    void (async () => {
      const endpoint = await this.listened;
      const ok = !this.disposed && endpoint !== undefined && (await endpoint.accept(socket));
      if (ok && !this.disposed) this.addLink(socket, false);
      else socket.destroy();
    })().catch(() => socket.destroy());
  }

  private addLink(socket: net.Socket, outgoing: boolean): Link {
    const link = new Link(socket, outgoing, {
      message: (l, m) => this.receive(l, m),
      garbage: (l, why) => this.log(`${l.peer ? who(l.peer) : 'A process'} sent ${why}: disconnected from it.`),
      closed: (l) => this.linkClosed(l),
    });
    this.links.add(link);
    const name = this.socketPath && path.basename(this.socketPath);
    link.send({ t: 'hello', v: PROTOCOL_VERSION, peer: this.self, tunnels: this.announcer.snapshot(), ...(name ? { socket: name } : {}) });
    return link;
  }

  // ---- messages ----

  private receive(link: Link, m: Message): void {
    switch (m.t) {
      case 'hello':
        return this.registry.hello(link, m.peer, m.tunnels, m.socket);
      case 'tunnel':
        return this.registry.tunnel(link, m.tunnel);
      case 'req':
        return void this.requests.serve(link, m.id, m.op, m.tunnelId);
      case 'res':
        return this.requests.answered(m);
      case 'holds':
        return this.requests.holds(link, m);
      case 'bye':
        return this.registry.bye(link);
      case 'dup':
        link.dropped = true;
        void link.finish();
        return;
    }
  }

  private linkClosed(link: Link): void {
    this.links.delete(link);
    if (!link.peer || link.dropped || this.disposed) return;
    // Without a bye: the process ended. Its exit closes this connection and its tunnels' ports one
    // by one: the others hear of it once it is gone, so that a port they take over is free.
    const pid = link.peer.pid;
    void whenGone(pid).then(() => {
      if (this.disposed || !this.registry.holds(link)) return;
      const known = this.registry.ended(link);
      if (known?.socket && !alive(pid)) this.transport.removeStale(path.join(this.dir, known.socket), pid, (message) => this.log(message));
    });
  }

  // ---- PeerTunnels ----

  /** The other processes connected now. */
  peers(): PeerIdentity[] {
    return this.registry.peers();
  }

  list(server?: string): PeerTunnel[] {
    return this.registry.list(server);
  }

  serving(spec: TunnelSpec): PeerTunnel | undefined {
    return this.registry.serving(spec);
  }

  /**
   * Resolves as soon as another process announces a tunnel where `spec` listens. Resolves
   * undefined at once when none of them has one there, even one still opening (the port is held
   * by some other program), else after `timeoutMs`.
   */
  whenServed(spec: TunnelSpec, timeoutMs: number): Promise<PeerTunnel | undefined> {
    const now = this.serving(spec);
    if (now || this.disposed) return Promise.resolve(now);
    return new Promise((resolve) => {
      let settled = false;
      const done = (value: PeerTunnel | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sub.dispose();
        resolve(value);
      };
      const sub = this.onDidChange(() => {
        const served = this.serving(spec);
        if (served) done(served);
      });
      const timer = setTimeout(() => done(this.serving(spec)), timeoutMs);
      const asked = new Set<string>();
      /** Asks the processes not asked yet whether they hold it; true if one does. */
      const askNew = async () => {
        const ids = this.registry.ids().filter((id) => !asked.has(id));
        for (const id of ids) asked.add(id);
        const answers = await Promise.all(ids.map((id) => this.requests.ask(id, { t: 'holds', id: 0, spec }, timeoutMs).then((a) => a.holds === true, () => false)));
        return answers.some(Boolean);
      };
      void (async () => {
        if (settled || (await askNew())) return;
        // A process that has just connected may not have said hello yet: one more look a moment later.
        await new Promise((r) => setTimeout(r, HELLO_GRACE_MS).unref());
        if (settled || (await askNew())) return;
        done(this.serving(spec));
      })();
    });
  }

  close(peerId: string, tunnelId: string): Promise<void> {
    return this.requests.ask(peerId, { t: 'req', id: 0, op: 'close', tunnelId }, CLOSE_ANSWER_MS).then(() => undefined);
  }

  async restart(peerId: string, tunnelId: string): Promise<TunnelInfo> {
    const { info } = await this.requests.ask(peerId, { t: 'req', id: 0, op: 'restart', tunnelId }, RESTART_ANSWER_MS);
    if (!info) throw new TunnelError('CLOSED', `The restart of ${tunnelId} gave no tunnel back.`);
    return info;
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  // ---- end ----

  /** Where the others reach this process (the socket, or the named pipe), once it listens. */
  get address(): string | undefined {
    return this.endpoint?.address;
  }

  /** Removes the entry (at dispose, and when the process exits without one). */
  unlinkOwnSocket(): void {
    this.endpoint?.remove();
  }

  /**
   * Says goodbye to the others and removes the socket. `closeTunnels` (the engine's dispose) runs
   * first: the closes of its tunnels reach the others as a shutdown, then the bye, which is their
   * cue to take those tunnels over (their ports are free by then).
   */
  dispose(closeTunnels?: () => Promise<unknown>): Promise<void> {
    this.disposing ??= this.shutdown(closeTunnels);
    return this.disposing;
  }

  private async shutdown(closeTunnels?: () => Promise<unknown>): Promise<void> {
    if (closeTunnels) {
      this.announcer.shuttingDown = true;
      await closeTunnels().catch((err) => this.log(`closing the tunnels: ${errorMessage(err)}`));
    }
    this.disposed = true;
    this.markReady();
    this.announcer.dispose();
    atExit(this, false);
    this.unlinkOwnSocket();
    this.server?.close();
    await Promise.all([...this.links].map((l) => l.finish(l.peer ? { t: 'bye' } : undefined)));
    this.requests.dispose();
    this.registry.clear();
    this._onDidChange.dispose();
    this._onDidLose.dispose();
  }
}
