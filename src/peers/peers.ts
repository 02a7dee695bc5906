// The processes of one person on one machine (VS Code windows, `ssh-tunnels up`, `ssh-tunnels
// mcp`) tell each other the tunnels they serve, over a Unix socket each in a private runtime
// folder. No daemon: each process listens on `<pid>.sock`, a newcomer connects to those there,
// and nothing is left once the last one ends. Pure Node.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Emitter, errorMessage, plural, TunnelError, type TunnelInfo, type TunnelSpec } from '../engine';
import { Announcer, type AnnouncedManager } from './announcer';
import { Link } from './link';
import { listensWhere } from './match';
import { PROTOCOL_VERSION, type Message, type RequestOp, type WireTunnel } from './protocol';
import { checkPeerSocket, checkRuntimeDir, defaultRuntimeDir, SOCKET_PATH_MAX } from './runtimeDir';
import { describePeer, type OwnerActions, type PeerIdentity, type PeerKind, type ServedTunnel, type TunnelsElsewhere } from './types';

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
}

/** What this process knows of another. */
interface Known {
  peer: PeerIdentity;
  /** The connection used to talk to it; others to the same process are duplicates on their way out. */
  link: Link;
  tunnels: Map<string, ServedTunnel>;
  /** Closed by its shutdown: handed to onDidLose with the rest when its `bye` comes. */
  shutdownClosed: ServedTunnel[];
  /** Its socket's name in the folder, to remove once it has died. */
  socket?: string;
}

interface Pending {
  peerId: string;
  resolve: (answer: { info?: TunnelInfo; holds?: boolean }) => void;
  reject: (err: Error) => void;
}

/** `<pid>.sock`, or `<pid>-<n>.sock` for a further instance in one process. */
const SOCKET_NAME = /^(\d+)(?:-\d+)?\.sock$/;

/** Instances started in this process. */
let instances = 0;

/** Tries of a socket that refuses while its process lives (it may be between bind and listen). */
const REFUSED_RETRIES = 3;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process not yet reaped by its parent (a zombie) still answers kill 0 on Linux.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true;
  }
}

/** How long a process whose connection closed may take to be gone (a zombie counts as gone). */
const EXIT_WAIT_MS = 1000;

/**
 * Whether every thread of `pid` has ended, so its sockets are closed. Its main thread shows as a
 * zombie while the others (libuv's, V8's) still exit holding the process's sockets: that is not yet it.
 */
function ended(pid: number): boolean {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (err) {
    // No /proc (macOS): whether it still answers signals.
    return (err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync('/proc/self') ? !alive(pid) : true;
  }
  const state = /^State:\s+(\S)/m.exec(status)?.[1];
  const threads = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
  return state === 'Z' && threads <= 1;
}

/** Resolves once `pid` has ended, or after EXIT_WAIT_MS (its pid reused, or a connection closed by a live process). */
async function whenGone(pid: number): Promise<void> {
  const deadline = Date.now() + EXIT_WAIT_MS;
  while (!ended(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

function who(peer: PeerIdentity): string {
  return `${describePeer(peer)} (pid ${peer.pid})`;
}

export class Peers implements TunnelsElsewhere {
  readonly self: PeerIdentity;
  /** The folder used, and our socket in it; undefined when running alone. */
  readonly dir: string;
  socketPath: string | undefined;
  private server: net.Server | undefined;
  private socketIno: number | undefined;
  private readonly links = new Set<Link>();
  private readonly known = new Map<string, Known>();
  private readonly pending = new Map<number, Pending>();
  private nextRequest = 1;
  private disposed = false;
  private disposing: Promise<void> | undefined;
  private readonly announcer: Announcer;
  private readonly readyPromise: Promise<void>;
  private markReady: () => void = () => undefined;
  private readonly onExit = () => this.unlinkOwnSocket();

  private readonly _onDidChange = new Emitter<void>();
  readonly onDidChange = this._onDidChange.event;
  private readonly _onDidLose = new Emitter<{ peer: PeerIdentity; tunnels: ServedTunnel[] }>();
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
    this.dir = options.dir ?? defaultRuntimeDir();
    this.readyPromise = new Promise((resolve) => (this.markReady = resolve));
    this.announcer = new Announcer(
      options.manager,
      options.actions,
      (tunnel) => {
        // Also to a link whose hello has not come yet: ours went first on it (addLink), and the snapshot in it counted this tunnel as sent.
        for (const link of this.links) if (!link.dropped) link.send({ t: 'tunnel', tunnel });
      },
      () => this.links.size > 0,
    );
    const problem = checkRuntimeDir(this.dir);
    if (problem) {
      this.log(`The runtime folder ${this.dir} ${problem}: ignored; tunnels of other processes are not shared.`);
      this.markReady();
      return;
    }
    // A second instance in one process (tests) gets a name of its own.
    const socketPath = path.join(this.dir, instances++ === 0 ? `${process.pid}.sock` : `${process.pid}-${instances}.sock`);
    if (Buffer.byteLength(socketPath) > SOCKET_PATH_MAX) {
      this.log(`The socket path ${socketPath} is longer than a Unix socket allows (${SOCKET_PATH_MAX} bytes): tunnels of other processes are not shared (set SSH_TUNNELS_RUNTIME_DIR to a shorter folder).`);
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
    // A socket under our pid was left by an earlier process with the same pid: it is gone.
    if (checkPeerSocket(socketPath).problem === undefined) fs.rmSync(socketPath, { force: true });
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Created 0600 (no window in which another user could connect), chmod'ed again below for platforms that ignore umask here.
      let umask: number | undefined;
      try {
        umask = process.umask(0o177);
      } catch {
        // Not allowed in a worker thread: the folder's 0700 and the chmod below still apply.
      }
      try {
        server.listen(socketPath, () => resolve());
      } finally {
        if (umask !== undefined) process.umask(umask);
      }
    });
    server.on('error', (err) => this.log(`listening on ${socketPath}: ${errorMessage(err)}`));
    fs.chmodSync(socketPath, 0o600);
    this.socketIno = fs.lstatSync(socketPath).ino;
    process.on('exit', this.onExit);
    if (this.disposed) return this.unlinkOwnSocket();
    // Read after listening: of two processes starting together, at least one sees the other.
    const names = await fs.promises.readdir(this.dir);
    const own = path.basename(socketPath);
    const waits = names.filter((n) => SOCKET_NAME.test(n) && n !== own).map((n) => this.connect(path.join(this.dir, n)));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, this.options.readyTimeoutMs ?? 300).unref());
    await Promise.race([Promise.all(waits), timeout]);
    this.markReady();
  }

  /** Connects to another process's socket; resolves once it said hello, or is known not to. */
  private async connect(file: string, attempt = 1): Promise<void> {
    const check = checkPeerSocket(file);
    if (check.gone) return;
    if (check.problem) {
      this.log(`${file} ${check.problem}: ignored, not connected to.`);
      return;
    }
    const pid = Number(SOCKET_NAME.exec(path.basename(file))![1]);
    const socket = net.connect(file);
    const outcome = await new Promise<'connected' | NodeJS.ErrnoException>((resolve) => {
      socket.once('connect', () => resolve('connected'));
      socket.once('error', (err) => resolve(err));
    });
    if (this.disposed) {
      socket.destroy();
      return;
    }
    if (outcome !== 'connected') {
      socket.destroy();
      const code = outcome.code;
      if ((code === 'ECONNREFUSED' || code === 'ENOENT') && !alive(pid)) return this.removeStale(file, pid);
      if (code === 'ECONNREFUSED' && attempt < REFUSED_RETRIES) {
        await new Promise((r) => setTimeout(r, 50 * attempt));
        return this.connect(file, attempt + 1);
      }
      this.log(`${file}: ${code ?? outcome.message}; ignored.`);
      return;
    }
    const link = this.addLink(socket, true);
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      link.onHello = resolve;
    });
  }

  private removeStale(file: string, pid: number): void {
    // Only a socket of ours: a file that changed meanwhile is left alone.
    if (checkPeerSocket(file).problem !== undefined) return;
    try {
      fs.unlinkSync(file);
      this.log(`Removed the stale socket ${file}: its process (pid ${pid}) has ended.`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log(`Could not remove the stale socket ${file}: ${errorMessage(err)}`);
    }
  }

  private accept(socket: net.Socket): void {
    if (this.disposed) {
      socket.destroy();
      return;
    }
    this.addLink(socket, false);
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
        return this.hello(link, m.peer, m.tunnels, m.socket);
      case 'tunnel': {
        const known = link.peer && this.known.get(link.peer.id);
        // Only from the link in use: a duplicate on its way out repeats what the kept one says.
        if (!known || known.link !== link) return;
        this.update(known, m.tunnel);
        return this._onDidChange.fire();
      }
      case 'req':
        return void this.serve(link, m.id, m.op, m.tunnelId);
      case 'res': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m);
        else p.reject(new TunnelError(m.code as TunnelError['code'], m.message));
        return;
      }
      case 'holds': {
        const holds = this.options.manager.listTunnels().some((info) => info.state !== 'closed' && listensWhere(m.spec, info));
        return link.send({ t: 'res', id: m.id, ok: true, holds });
      }
      case 'bye':
        return this.bye(link);
      case 'dup':
        link.dropped = true;
        void link.finish();
        return;
    }
  }

  private hello(link: Link, peer: PeerIdentity, tunnels: WireTunnel[], socket: string | undefined): void {
    if (link.peer) return; // one hello a link
    link.peer = peer;
    const existing = this.known.get(peer.id);
    if (existing && existing.link !== link && existing.link.open && !existing.link.dropped) {
      // Both connected at once: both sides keep the connection the lower id opened.
      const keepOutgoing = this.self.id < peer.id;
      const [keep, drop] = link.outgoing === keepOutgoing && existing.link.outgoing !== keepOutgoing ? [link, existing.link] : [existing.link, link];
      drop.dropped = true;
      void drop.finish({ t: 'dup' });
      this.log(`${who(peer)} and this process connected to each other at once: one connection kept.`);
      existing.link = keep;
      if (keep === link) this.replaceTunnels(existing, tunnels);
      link.onHello?.();
      return;
    }
    const known: Known = existing ?? { peer, link, tunnels: new Map(), shutdownClosed: [] };
    known.link = link;
    // Only a name of the folder's own form: it is removed later, and must not lead elsewhere.
    if (socket !== undefined && SOCKET_NAME.exec(socket)?.[1] === String(peer.pid)) known.socket = socket;
    this.known.set(peer.id, known);
    this.replaceTunnels(known, tunnels);
    if (!existing) this.log(`Connected to ${who(peer)}${tunnels.length ? `, serving ${plural(tunnels.length, 'tunnel')}` : ''}.`);
    link.onHello?.();
    this._onDidChange.fire();
  }

  private replaceTunnels(known: Known, tunnels: WireTunnel[]): void {
    known.tunnels.clear();
    for (const t of tunnels) this.update(known, t);
  }

  private update(known: Known, t: WireTunnel): void {
    const served: ServedTunnel = { peer: known.peer, info: t.info, ...(t.settingsKey !== undefined ? { settingsKey: t.settingsKey } : {}) };
    if (t.info.state === 'closed') {
      known.tunnels.delete(t.info.id);
      if (t.info.closeReason === 'shutdown') known.shutdownClosed.push(served);
    } else known.tunnels.set(t.info.id, served);
  }

  private async serve(link: Link, id: number, op: RequestOp, tunnelId: string): Promise<void> {
    const asker = link.peer ? who(link.peer) : 'another process';
    this.log(`${asker} asks to ${op} ${tunnelId}.`);
    try {
      if (op === 'close') {
        await this.options.actions.close(tunnelId);
        link.send({ t: 'res', id, ok: true });
      } else {
        const info = await this.options.actions.restart(tunnelId);
        link.send({ t: 'res', id, ok: true, info });
      }
    } catch (err) {
      const code = err instanceof TunnelError ? err.code : 'FAILED';
      link.send({ t: 'res', id, ok: false, code, message: errorMessage(err) });
    }
  }

  private bye(link: Link): void {
    const known = link.peer && this.known.get(link.peer.id);
    link.dropped = true;
    if (!known) return;
    this.lose(known, `${who(known.peer)} shut down`);
  }

  private linkClosed(link: Link): void {
    this.links.delete(link);
    if (!link.peer || link.dropped || this.disposed) return;
    const known = this.known.get(link.peer.id);
    if (!known || known.link !== link) return;
    // Without a bye: the process ended (a crash, kill -9, a closed window's host killed). Its exit
    // closes this connection and its tunnels' ports one by one: the others hear of it once it is
    // gone, so that a port they take over is free.
    void whenGone(known.peer.pid).then(() => {
      if (this.disposed || this.known.get(known.peer.id) !== known || known.link !== link) return;
      this.lose(known, `${who(known.peer)} ended`);
      if (known.socket && !alive(known.peer.pid)) this.removeStale(path.join(this.dir, known.socket), known.peer.pid);
    });
  }

  private lose(known: Known, why: string): void {
    this.known.delete(known.peer.id);
    const tunnels = [...known.shutdownClosed, ...known.tunnels.values()];
    this.log(`${why}${tunnels.length ? `; it served ${plural(tunnels.length, 'tunnel')}` : ''}.`);
    for (const [id, p] of this.pending) {
      if (p.peerId !== known.peer.id) continue;
      this.pending.delete(id);
      p.reject(gone(known.peer));
    }
    this._onDidChange.fire();
    this._onDidLose.fire({ peer: known.peer, tunnels });
  }

  // ---- TunnelsElsewhere ----

  /** The other processes connected now. */
  peers(): PeerIdentity[] {
    return [...this.known.values()].map((k) => k.peer);
  }

  list(server?: string): ServedTunnel[] {
    const out: ServedTunnel[] = [];
    for (const k of this.known.values()) for (const t of k.tunnels.values()) if (server === undefined || t.info.server === server) out.push(t);
    return out;
  }

  serving(spec: TunnelSpec): ServedTunnel | undefined {
    return this.list(spec.server).find((t) => listensWhere(spec, t.info));
  }

  /**
   * Resolves as soon as another process announces a tunnel where `spec` listens. Resolves
   * undefined at once when none of them has one there, even one still opening (the port is held
   * by some other program), else after `timeoutMs`.
   */
  whenServed(spec: TunnelSpec, timeoutMs: number): Promise<ServedTunnel | undefined> {
    const now = this.serving(spec);
    if (now || this.disposed) return Promise.resolve(now);
    return new Promise((resolve) => {
      let settled = false;
      const done = (value: ServedTunnel | undefined) => {
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
      const asked = [...this.known.keys()].map((peerId) =>
        this.ask(peerId, { t: 'holds', id: 0, spec }).then(
          (answer) => answer.holds === true,
          () => false,
        ),
      );
      void Promise.all(asked).then((holds) => {
        if (!holds.some(Boolean)) done(this.serving(spec));
      });
    });
  }

  close(peerId: string, tunnelId: string): Promise<void> {
    return this.ask(peerId, { t: 'req', id: 0, op: 'close', tunnelId }).then(() => undefined);
  }

  async restart(peerId: string, tunnelId: string): Promise<TunnelInfo> {
    const { info } = await this.ask(peerId, { t: 'req', id: 0, op: 'restart', tunnelId });
    if (!info) throw new TunnelError('CLOSED', `The restart of ${tunnelId} gave no tunnel back.`);
    return info;
  }

  /** Sends a request (its id set here) and resolves with the reply. */
  private ask(peerId: string, message: Extract<Message, { t: 'req' | 'holds' }>): Promise<{ info?: TunnelInfo; holds?: boolean }> {
    const known = this.known.get(peerId);
    if (!known || !known.link.open) {
      return Promise.reject(new TunnelError('PEER_GONE', `The process that served this tunnel (${peerId}) has ended; nothing was done.`));
    }
    const id = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { peerId, resolve, reject });
      known.link.send({ ...message, id });
    });
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  // ---- end ----

  private unlinkOwnSocket(): void {
    if (!this.socketPath || this.socketIno === undefined) return;
    try {
      // Only our own socket: never one that replaced it.
      if (fs.lstatSync(this.socketPath).ino === this.socketIno) fs.unlinkSync(this.socketPath);
    } catch {
      // gone already
    }
    this.socketIno = undefined;
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
    process.off('exit', this.onExit);
    this.unlinkOwnSocket();
    this.server?.close();
    await Promise.all([...this.links].map((l) => l.finish(l.peer ? { t: 'bye' } : undefined)));
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new TunnelError('CLOSED', 'This process is shutting down.'));
    }
    this.known.clear();
    this._onDidChange.dispose();
    this._onDidLose.dispose();
  }
}

function gone(peer: PeerIdentity): TunnelError {
  return new TunnelError('PEER_GONE', `${describePeer(peer)} (pid ${peer.pid}) has ended before it answered; its tunnels are no longer served.`);
}
