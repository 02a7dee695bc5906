import type { Client, ClientChannel } from 'ssh2';
import { Channels, type RemoteConnectionHandler } from './channels';
import { errorMessage, linkFailureOf, NETWORK_FAILURES, REFUSALS, socketFailure, TunnelError, type LinkFailure } from '../base/errors';
import { Emitter } from '../base/events';
import { plural } from '../base/format';
import { DEFAULT_CONNECT_TIMEOUT, handshake } from './handshake';
import { HostKeyCheck } from '../hostkeys/hostKeyCheck';
import { startKeepalive } from './keepalive';
import { clientSocket, openRelay, type SocketRelay } from '../ssh2';
import { probeSsh } from './probe';
import type { ProxyCommandProcess } from './proxyCommand';
import type { RememberedSecrets } from '../login/rememberedSecrets';
import { dialRoute, jumpChain, proxyCommandOf, targetOf } from './route';
import type { Prompts, ServerConfig, ServerState } from '../base/types';

/** Between a probe that found the server answering and the redial it calls for. */
const PROBE_SETTLE_MS = 200;

export interface ReconnectPolicy {
  /** First delay before a redial, in ms. */
  baseDelayMs: number;
  /** Longest delay between redials, in ms. */
  maxDelayMs: number;
  /** Redials before giving up; Infinity keeps trying. */
  maxAttempts: number;
  /** A first connect that cannot reach the server is redialled as a dropped one is (a command that waits for its server). */
  retryFirstConnect?: boolean;
  /** A refused host key or login is redialled too, instead of stopping (the person fixes known_hosts meanwhile). */
  retryRefusals?: boolean;
}

/** The next redial, while the session waits to reconnect. */
export interface RetrySchedule {
  /** 1 for the first redial. */
  attempt: number;
  /** When it is due (ms since the epoch). */
  at: number;
}

export interface SessionOptions {
  prompts?: Prompts;
  /** Passphrases and passwords typed earlier in this run, so a redial asks nobody. */
  secrets?: RememberedSecrets;
  resolveServer: (name: string) => ServerConfig | undefined;
  reconnect: ReconnectPolicy;
  maxChannels: number;
  forwardTimeoutMs: number;
  log: (message: string) => void;
}

/** What went wrong on a live connection, in words a person can act on, and what kind of failure it is. */
function describeLiveError(err: Error): { message: string; failure: LinkFailure } {
  if (/unable to authenticate data|Bad packet length|Bad packet padding|Invalid MAC|bad mac/i.test(err.message)) {
    return {
      message: `Data from the server failed its integrity check (${err.message}): something on the network path altered the SSH stream. The connection was dropped; nothing from the damaged packet was passed on.`,
      failure: 'corrupt',
    };
  }
  return { message: err.message, failure: socketFailure(err) };
}

/**
 * One SSH connection to one server, shared by all its tunnels. Connects on first use,
 * supervises the connection (keepalive as OpenSSH means it, redial with backoff) and
 * dispatches the server's forwarded connections to the remote forwards that asked for them.
 */
export class SshSession {
  private client: Client | undefined;
  private connectPromise: Promise<Client> | undefined;
  private _state: ServerState = 'disconnected';
  private _lastError: string | undefined;
  private _lastErrorCode: string | undefined;
  /** What broke the link last (set with `_lastError` by a drop or a failed dial); undefined when nothing says. */
  private _lastFailure: LinkFailure | undefined;
  private _retry: RetrySchedule | undefined;
  private disposed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAttempt = 0;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private jumpClients: Client[] = [];
  /** The ProxyCommand carrying the live connection (or its first hop). */
  private proxy: ProxyCommandProcess | undefined;
  private readonly channels: Channels;
  /** Host keys trusted once by a person stay trusted for this session's life: a redial does not ask again. */
  private readonly hostKeys: HostKeyCheck;

  private readonly _onDidChangeState = new Emitter<ServerState>();
  readonly onDidChangeState = this._onDidChangeState.event;
  /** Fired after every successful (re)connect; tunnels re-establish what lives on the server. */
  private readonly _onDidConnect = new Emitter<{ reconnected: boolean }>();
  readonly onDidConnect = this._onDidConnect.event;
  /** Fired when a redial is scheduled (after each failed one too): the attempt and when it is due. */
  private readonly _onDidScheduleRetry = new Emitter<RetrySchedule>();
  readonly onDidScheduleRetry = this._onDidScheduleRetry.event;

  constructor(
    private config: ServerConfig,
    private readonly options: SessionOptions,
  ) {
    this.channels = new Channels(() => this.name, options);
    this.hostKeys = new HostKeyCheck(options.log);
  }

  get name(): string {
    return this.config.host;
  }

  get state(): ServerState {
    return this._state;
  }

  get lastError(): string | undefined {
    return this._lastError;
  }

  /** The TunnelError code of the last error, when it had one (HOST_KEY_CHANGED, AUTH_FAILED, …). */
  get lastErrorCode(): string | undefined {
    return this._lastErrorCode;
  }

  /** The next redial while reconnecting, else undefined. */
  get retry(): RetrySchedule | undefined {
    return this._state === 'reconnecting' ? this._retry : undefined;
  }

  /** Writes to the engine's log (tunnels report failed connections through it). */
  log(message: string): void {
    this.options.log(message);
  }

  /** Up, and its socket not already broken (a write failed; the drop is being handled). */
  get isConnected(): boolean {
    return this._state === 'connected' && this.client !== undefined && clientSocket(this.client)?.destroyed !== true;
  }

  /** How long one connect may take (ConnectTimeout): also how long a connection waits for one. */
  get connectTimeoutMs(): number {
    return (this.config.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT) * 1000;
  }

  get openChannels(): number {
    return this.channels.open;
  }

  /** The server's settings as last given. */
  get settings(): ServerConfig {
    return this.config;
  }

  /** Picks up edited settings for the next (re)connect. */
  updateConfig(config: ServerConfig): void {
    this.config = config;
  }

  private setState(state: ServerState, error?: string): void {
    if (error !== undefined) this._lastError = error;
    if (state === 'connected') {
      this._lastError = undefined;
      this._lastErrorCode = undefined;
      this._lastFailure = undefined;
      this._retry = undefined;
    }
    if (this._state === state) return;
    this._state = state;
    this._onDidChangeState.fire(state);
  }

  /** Resolves with a ready connection, dialling if needed. */
  connect(): Promise<Client> {
    if (this.disposed) return Promise.reject(new TunnelError('CLOSED', `The connection to ${this.name} was closed.`));
    if (this.client && this._state === 'connected') return Promise.resolve(this.client);
    if (!this.connectPromise) {
      const reconnecting = this._state === 'reconnecting';
      this.setState(reconnecting ? 'reconnecting' : 'connecting');
      this.connectPromise = this.dial().then(
        (client) => {
          this.connectPromise = undefined;
          if (this.disposed) {
            client.on('error', () => undefined); // closed while dialling: nothing listens any more
            client.end();
            this.dropCarriers(); // the jump hosts' connections of this dial, too
            throw new TunnelError('CLOSED', `The connection to ${this.name} was closed.`);
          }
          this.attach(client);
          this.reconnectAttempt = 0;
          this.setState('connected');
          this.options.log(`${this.name}: connected`);
          this._onDidConnect.fire({ reconnected: reconnecting });
          return client;
        },
        (err: unknown) => {
          this.connectPromise = undefined;
          this._lastErrorCode = err instanceof TunnelError ? err.code : undefined;
          this._lastFailure = linkFailureOf(err);
          if (!this.disposed && !reconnecting && this.retries(err)) {
            // Down at start: wait for it as for a dropped connection; the tunnels keep their listeners.
            this.setState('reconnecting', errorMessage(err));
            this.scheduleReconnect();
          } else if (!this.disposed) this.setState(reconnecting ? 'reconnecting' : 'failed', errorMessage(err));
          throw err;
        },
      );
    }
    return this.connectPromise;
  }

  /** Whether a tunnel whose start failed with `err` should wait, as the session redials (retryFirstConnect). */
  waitsAfter(err: unknown): boolean {
    return this._state === 'reconnecting' && this.retries(err);
  }

  /** Whether a failed first connect is redialled under the policy. */
  private retries(err: unknown): boolean {
    const { retryFirstConnect, retryRefusals } = this.options.reconnect;
    if (!retryFirstConnect || !(err instanceof TunnelError)) return false;
    if (err.code === 'CANCELLED' || err.code === 'CLOSED') return false;
    return retryRefusals === true || !REFUSALS.includes(err.code);
  }

  private async dial(): Promise<Client> {
    const route = await dialRoute(
      jumpChain(this.config, this.options.resolveServer),
      (config, via, proxy) => handshake(config, via, proxy, this.hostKeys, this.options.prompts, this.options.secrets),
      this.options.log,
    );
    this.dropCarriers();
    this.jumpClients = route.jumpClients;
    this.proxy = route.proxy;
    return route.client;
  }

  /** Ends what carried the connection: the jump hosts' connections and the ProxyCommand. */
  private dropCarriers(): void {
    for (const jump of this.jumpClients) jump.end();
    this.jumpClients = [];
    this.proxy?.kill();
    this.proxy = undefined;
  }

  // ---- the live connection ------------------------------------------------------------

  private attach(client: Client): void {
    this.client = client;
    this.channels.attach(client);
    client.on('error', (err) => {
      const live = describeLiveError(err);
      this._lastError = live.message;
      this._lastFailure = live.failure;
      this.options.log(`${this.name}: ${this._lastError}`);
    });
    client.on('close', () => this.onDrop(client));
    this.stopKeepalive();
    this.keepaliveTimer = startKeepalive(client, this.config, (why) => {
      this.options.log(`${this.name}: ${why}; the connection is dead`);
      this._lastError = `${why}.`;
      this._lastFailure = 'silent';
      client.destroy();
    });
  }

  private stopKeepalive(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  private onDrop(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.stopKeepalive();
    const why = this.proxy?.describeExit();
    if (why) {
      this._lastError = why;
      this._lastFailure = 'proxy';
    }
    // Closed with no error said: the server or the path ended it.
    if (this._lastError === undefined) this._lastFailure = 'closed';
    this._lastErrorCode = undefined;
    this.dropCarriers();
    if (this.disposed) return;
    this.options.log(`${this.name}: connection lost${this._lastError ? ` (${this._lastError})` : ''}; reconnecting`);
    this.setState('reconnecting', this._lastError ?? 'Connection lost');
    this.scheduleReconnect();
  }

  private scheduleReconnect(immediate = false): void {
    if (this.disposed || this.reconnectTimer) return;
    const { baseDelayMs, maxDelayMs, maxAttempts } = this.options.reconnect;
    if (this.reconnectAttempt >= maxAttempts) {
      this.setState('failed', `Gave up after ${plural(this.reconnectAttempt, 'attempt')} to reconnect. Last error: ${this._lastError ?? 'unknown'}`);
      return;
    }
    const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** this.reconnectAttempt);
    // Full jitter on the upper half, so many clients do not redial in lockstep.
    const delay = immediate ? 0 : backoff / 2 + Math.random() * (backoff / 2);
    this.reconnectAttempt++;
    const dueAt = Date.now() + delay;
    this._retry = { attempt: this.reconnectAttempt, at: dueAt };
    this._onDidScheduleRetry.fire(this._retry);
    const redial = () => {
      clearInterval(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.connect().catch((err: unknown) => {
        if (err instanceof TunnelError && REFUSALS.includes(err.code) && !this.options.reconnect.retryRefusals) {
          // Security and credentials win over availability: stop and say why.
          this.setState('failed', err.message);
          return;
        }
        this.scheduleReconnect();
      });
    };
    if (delay === 0) {
      this.reconnectTimer = setTimeout(redial, 0);
      return;
    }
    // While waiting out the backoff, a cheap TCP probe notices the server coming back,
    // so the redial happens within about a second of it being reachable again.
    const first = jumpChain(this.config, this.options.resolveServer)[0];
    // Through a ProxyCommand the server may not be reachable directly: redial on the timer only.
    if (proxyCommandOf(first) !== undefined) {
      this.reconnectTimer = setTimeout(redial, delay);
      return;
    }
    const { host, port } = targetOf(first);
    let probing = false;
    const timer = setInterval(() => {
      if (Date.now() >= dueAt) return redial();
      if (probing) return;
      probing = true;
      void probeSsh(host, port).then((answered) => {
        probing = false;
        if (!answered || this.reconnectTimer !== timer || !this.lastFailureWasNetwork()) return;
        // Let the server forget the probe first: under a tight MaxStartups it would refuse the redial.
        clearInterval(timer);
        this.reconnectTimer = setTimeout(redial, PROBE_SETTLE_MS);
      });
    }, Math.min(1000, Math.max(50, delay / 2)));
    this.reconnectTimer = timer;
  }

  /** Whether the last failure ends once the server answers again (a refused login or host key does not). */
  private lastFailureWasNetwork(): boolean {
    if (this._lastFailure !== undefined) return NETWORK_FAILURES.includes(this._lastFailure);
    return this._lastError === undefined;
  }

  /** Redial now if the session is waiting to reconnect (a wake from sleep, a network change). */
  checkNow(): void {
    if (this._state !== 'reconnecting' || this.connectPromise) return;
    clearInterval(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.scheduleReconnect(true);
  }

  // ---- channels -----------------------------------------------------------------------

  /**
   * Opens a direct-tcpip channel, with a limit on open channels and a timeout, as a relay that
   * `Tunnel.join` joins to a local socket (no ssh2 channel stream).
   */
  relayOut(srcIP: string, srcPort: number, dstHost: string, dstPort: number): Promise<SocketRelay> {
    return this.openChannel(`${dstHost}:${dstPort}`, (client, cb) => openRelay(client, srcIP, srcPort, dstHost, dstPort, cb));
  }

  /** Opens a direct-streamlocal@openssh.com channel to a Unix socket on the server. */
  forwardOutStreamLocal(socketPath: string): Promise<ClientChannel> {
    return this.openChannel(socketPath, (client, cb) => client.openssh_forwardOutStreamLocal(socketPath, cb));
  }

  private openChannel<T extends ClientChannel | SocketRelay>(target: string, open: (client: Client, cb: (err: Error | undefined, channel: T) => void) => void): Promise<T> {
    const client = this.client;
    if (!client || this._state !== 'connected') {
      return Promise.reject(new TunnelError('CLOSED', `${this.name} is ${this._state === 'reconnecting' ? 'reconnecting' : 'not connected'}; try again shortly.`));
    }
    return this.channels.openChannel(client, target, open);
  }

  /** Asks the server to listen on a Unix socket (streamlocal-forward@openssh.com). */
  async forwardInStreamLocal(socketPath: string, handler: RemoteConnectionHandler): Promise<void> {
    const client = await this.connect();
    await this.channels.forwardInStreamLocal(client, socketPath, handler);
  }

  unforwardInStreamLocal(socketPath: string): Promise<void> {
    return this.channels.unforwardInStreamLocal(this.liveClient(), socketPath);
  }

  /** Asks the server to listen (tcpip-forward); resolves with the port it bound. */
  async forwardIn(bindAddr: string, bindPort: number, handler: RemoteConnectionHandler, relay = false): Promise<number> {
    const client = await this.connect();
    return this.channels.forwardIn(client, bindAddr, bindPort, handler, relay);
  }

  unforwardIn(bindAddr: string, bindPort: number): Promise<void> {
    return this.channels.unforwardIn(this.liveClient(), bindAddr, bindPort);
  }

  /** The connection if it is up: asking a dropped one to stop listening is pointless. */
  private liveClient(): Client | undefined {
    return this._state === 'connected' ? this.client : undefined;
  }

  /** Ends the connection for good (its last tunnel closed, or the engine is disposed). */
  close(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearInterval(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.stopKeepalive();
    const client = this.client;
    this.client = undefined;
    client?.end();
    this.dropCarriers();
    this.channels.clear();
    this.setState('disconnected');
    this._onDidChangeState.dispose();
    this._onDidConnect.dispose();
    this._onDidScheduleRetry.dispose();
  }
}
