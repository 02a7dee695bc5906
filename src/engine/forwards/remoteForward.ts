import * as net from 'node:net';
import type { ClientChannel } from 'ssh2';
import { errorMessage, TunnelError } from '../base/errors';
import { SOCKET_BUFFER } from '../io/listener';
import { SocketRelay } from '../ssh2';
import { localEnd } from './ends';
import { Tunnel } from './tunnel';

/** The first wait before asking again for a forward the server refused after a reconnect. */
const RETRY_FIRST_MS = 1000;
/** A refused request costs a packet each way: asking every 2 s turns the tunnel active within 2 s of the server letting the old forward go. */
const RETRY_MAX_MS = 2000;

/**
 * `-R`: the server listens (on a port, or on a Unix socket: remotePath); each connection it
 * forwards is joined to localHost:localPort (or the local Unix socket localPath).
 */
export class RemoteForward extends Tunnel {
  readonly type = 'remote' as const;
  private boundPort: number | undefined;
  /** Whether the server granted the last request: stop() withdraws only that, never another tunnel's forward on the same port or socket. */
  private granted = false;
  /** Whether the server granted this forward on some connection: refused after a reconnect, it is most likely the old one still held. */
  private grantedBefore = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryCount = 0;
  /** After a refusal of a fixed port: whether the server granted another one (so the port is held, not forwarding disabled). */
  private otherPortsGranted = true;

  async start(): Promise<void> {
    try {
      await this.listenOnServer(this.spec.remotePort!);
    } catch (err) {
      // The server is down and the session keeps trying: the forward is asked for once it is back.
      if (this.link.waitsAfter(err)) {
        this.setState('reconnecting', errorMessage(err));
        return;
      }
      throw err;
    }
    this.setState('active');
  }

  async reestablish(): Promise<void> {
    // Ask for the same port again, so whoever uses it on the server finds it where it was.
    await this.listenOnServer(this.boundPort ?? this.spec.remotePort!);
  }

  override async onSessionBack(): Promise<void> {
    this.cancelRetry();
    this.retryCount = 0;
    if (this.state === 'closed') return;
    await this.askAgain();
  }

  override onSessionLost(reason: string): void {
    // The retries stop: the redial's own re-establish asks again.
    this.cancelRetry();
    super.onSessionLost(reason);
  }

  /**
   * Asks the server again after a reconnect. sshd keeps the forwards of a connection that died
   * silently until it notices (its ClientAlive settings, often never), so a refusal of what was
   * granted before is retried until it clears; a port-0 forward takes another port at once.
   */
  private async askAgain(): Promise<void> {
    // Dropped meanwhile: the redial brings the tunnel back; a request now would dial on its own.
    if (this.gone) return;
    const previous = this.boundPort;
    try {
      await this.reestablish();
    } catch (err) {
      if (this.gone) return;
      if (!(err instanceof TunnelError && err.code === 'FORWARD_REFUSED' && this.grantedBefore)) return this.fail(err);
      if (this.spec.remotePath === undefined && this.spec.remotePort === 0 && previous !== undefined) return this.takeAnyPort(previous);
      if (this.retryCount === 0 && this.spec.remotePath === undefined) {
        this.otherPortsGranted = await this.grantsAnyPort();
        if (this.gone) return;
      }
      return this.scheduleRetry();
    }
    if (this.retryCount > 0) this.link.log(`${this.name}: ${this.link.name} listens on ${this.serverSide} again`);
    this.retryCount = 0;
    this.setState('active');
  }

  /** A port-0 forward whose previous port is still held takes whatever port the server gives, and says so. */
  private async takeAnyPort(previous: number): Promise<void> {
    try {
      await this.listenOnServer(0);
    } catch {
      if (this.gone) return;
      // Any port refused is no port still held: forwarding is not allowed there any more.
      return this.fail(new TunnelError('FORWARD_REFUSED',
        `${this.link.name} refused port ${previous} again and then any port on ${this.spec.remoteHost} for a remote forward: forwarding is likely disabled on the server now (AllowTcpForwarding, DisableForwarding, PermitListen).`));
    }
    if (this.boundPort === previous) this.link.log(`${this.name}: ${this.link.name} listens on port ${previous} again`);
    else this.link.log(`${this.name}: now listens on port ${this.boundPort} on the server (port ${previous} was still held)`);
    this.setState('active');
  }

  /**
   * Whether the server grants some port (one it picks, withdrawn at once): the protocol's refusal
   * gives no reason, and this tells a port still held from forwarding disabled on the server.
   */
  private async grantsAnyPort(): Promise<boolean> {
    if (this.gone) return true;
    const host = this.spec.remoteHost!;
    let port: number;
    try {
      port = await this.link.channels.forwardIn(host, 0, (_accept, reject) => reject());
    } catch {
      return false;
    }
    await this.link.channels.unforwardIn(host, port).catch(() => undefined);
    return true;
  }

  private scheduleRetry(): void {
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** this.retryCount);
    this.retryCount++;
    const again = `trying again in ${delay / 1000} s.`;
    // sshd leaves a socket file behind when the connection that listened on it ends.
    const why = this.spec.remotePath !== undefined
      ? `${this.link.name} refused ${this.serverSide} again: the socket file of the previous connection is most likely still there (sshd removes it before listening only with StreamLocalBindUnlink yes; else remove it on the server); ${again}`
      : this.otherPortsGranted
        ? `${this.link.name} refused ${this.serverSide} again: it still holds it from the previous connection (other ports are granted; sshd lets it go once it notices that connection is gone); ${again}`
        // Retried all the same: with PermitListen, a port still held and any other refused look alike.
        : `${this.link.name} refused ${this.serverSide} again, and any other port too: remote forwarding is most likely disabled on the server now (AllowTcpForwarding, DisableForwarding, PermitListen); ${again}`;
    if (this.retryCount === 1) this.link.log(`${this.name}: ${why}`);
    if (this.state !== 'reconnecting' || this.lastError !== why) this.setState('reconnecting', why);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.askAgain().catch((err: unknown) => this.link.log(`${this.name}: ${errorMessage(err)}`));
    }, delay);
  }

  private cancelRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Closed, or the session dropped: nothing to ask of the server now. */
  private get gone(): boolean {
    return this.state === 'closed' || !this.link.isConnected;
  }

  /** What the server listens on for this forward, in words. */
  private get serverSide(): string {
    return this.spec.remotePath !== undefined ? `the socket ${this.spec.remotePath}` : `port ${this.boundPort ?? this.spec.remotePort}`;
  }

  private async listenOnServer(port: number): Promise<void> {
    const handler = (accept: () => ClientChannel | SocketRelay, reject: () => void) => {
      if (this.state === 'closed') reject();
      else this.offer(accept, reject);
    };
    this.granted = false;
    await this.link.connect();
    const channels = this.link.channels;
    if (this.spec.remotePath !== undefined) await channels.forwardInStreamLocal(this.spec.remotePath, handler);
    else this.boundPort = await channels.forwardIn(this.spec.remoteHost!, port, handler, this.relaysConnections);
    this.granted = true;
    this.grantedBefore = true;
    // A redial may be granted another port than the first time (port 0): the name follows it.
    this.updateDefaultName();
    if (this.state === 'closed') {
      // Closed while the server granted it (a cancelled start): stop() had nothing to withdraw yet.
      await this.stop();
      throw new TunnelError('CLOSED', `The tunnel ${this.name} was closed while it opened.`);
    }
  }

  /** Where each connection goes on this machine, in words. */
  private get localTarget(): string {
    return localEnd(this.spec);
  }

  /** Whether the server's TCP connections are joined to local sockets as SocketRelays (not a SOCKS forward's channels, which the engine reads). */
  protected get relaysConnections(): boolean {
    return true;
  }

  protected offer(accept: () => ClientChannel | SocketRelay, reject: () => void): void {
    // Connect to the local service first, so a refused service is a rejected channel.
    const target: net.NetConnectOpts = this.spec.localPath !== undefined ? { path: this.spec.localPath } : { host: this.spec.localHost, port: this.spec.localPort };
    // highWaterMark is a stream option net's connect types do not list.
    const socket = net.connect(Object.assign(target, { allowHalfOpen: true, highWaterMark: SOCKET_BUFFER }));
    const conn = this.connections.add(socket);
    // The server waits for an answer to every offer: exactly one accept or reject, whatever happens first.
    let answered = false;
    const refuse = () => {
      if (answered) return;
      answered = true;
      try {
        reject();
      } catch {
        // The SSH connection is already gone; so is the offer.
      }
    };
    socket.once('connect', () => {
      if (answered) return;
      answered = true;
      let channel: ClientChannel | SocketRelay;
      try {
        channel = accept();
      } catch {
        socket.destroy();
        return;
      }
      this.targetReached();
      this.connections.join(conn, channel);
    });
    // Closed before the local service answered (the tunnel closed, the session dropped).
    socket.once('close', refuse);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (answered) return;
      refuse();
      const why = err.code === 'ECONNREFUSED' ? 'connection refused (is the local service running?)'
        : err.code === 'ENOENT' ? 'no such socket file (is the local service running?)' : err.message;
      this.targetFailed(new TunnelError('CONNECT_FAILED', `A connection from the server could not reach ${this.localTarget} here: ${why}`));
    });
  }

  protected async stop(): Promise<void> {
    this.cancelRetry();
    if (!this.granted) return;
    if (this.spec.remotePath !== undefined) await this.link.channels.unforwardInStreamLocal(this.spec.remotePath);
    else await this.link.channels.unforwardIn(this.spec.remoteHost!, this.boundPort!);
  }

  protected boundLocal() {
    return { host: this.spec.localHost, port: this.spec.localPort };
  }

  protected boundRemote() {
    return { host: this.spec.remoteHost, port: this.boundPort ?? this.spec.remotePort };
  }
}
