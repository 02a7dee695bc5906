import type { Client } from 'ssh2';
import { Channels } from './channels';
import type { TunnelLink } from './link';
import { errorMessage, linkFailureOf, NETWORK_FAILURES, REFUSALS, socketFailure, TunnelError, type LinkFailure } from '../base/errors';
import { Emitter } from '../base/events';
import { plural } from '../base/format';
import { DEFAULT_CONNECT_TIMEOUT, handshake } from './handshake';
import { HostKeyCheck } from '../hostkeys/hostKeyCheck';
import { startKeepalive } from './keepalive';
import { clientSocket } from '../ssh2';
import type { ProxyCommandProcess } from './proxyCommand';
import { Redial, type ReconnectPolicy, type RetrySchedule } from './redial';
import type { RememberedSecrets } from '../login/rememberedSecrets';
import { dialRoute, jumpChain, proxyCommandOf, targetOf } from './route';
import type { Prompts, ServerConfig, ServerState } from '../base/types';

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
export class SshSession implements TunnelLink {
  private client: Client | undefined;
  private connectPromise: Promise<Client> | undefined;
  private _state: ServerState = 'disconnected';
  private _lastError: string | undefined;
  private _lastErrorCode: string | undefined;
  /** What broke the link last (set with `_lastError` by a drop or a failed dial); undefined when nothing says. */
  private _lastFailure: LinkFailure | undefined;
  private disposed = false;
  private readonly redial: Redial;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private jumpClients: Client[] = [];
  /** The ProxyCommand carrying the live connection (or its first hop). */
  private proxy: ProxyCommandProcess | undefined;
  /** The connection's channels: where tunnels open theirs and ask for remote forwards. */
  readonly channels: Channels;
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
    this.channels = new Channels(() => this.name, options, () => `${this.name} is ${this._state === 'reconnecting' ? 'reconnecting' : 'not connected'}; try again shortly.`);
    this.hostKeys = new HostKeyCheck(options.log);
    this.redial = new Redial(options.reconnect, {
      dial: () => this.redialNow(),
      probeTarget: () => {
        const first = jumpChain(this.config, this.options.resolveServer)[0];
        // Through a ProxyCommand the server may not be reachable directly: redial on the timer only.
        return proxyCommandOf(first) === undefined ? targetOf(first) : undefined;
      },
      probeMayCutWait: () => this.lastFailureWasNetwork(),
      scheduled: (next) => this._onDidScheduleRetry.fire(next),
      gaveUp: (attempts) => this.setState('failed', `Gave up after ${plural(attempts, 'attempt')} to reconnect. Last error: ${this._lastError ?? 'unknown'}`),
    });
  }

  get name(): string {
    return this.config.alias;
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
    return this._state === 'reconnecting' ? this.redial.next : undefined;
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
      this.redial.reset();
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
    this.channels.detach();
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

  private scheduleReconnect(): void {
    if (!this.disposed) this.redial.schedule();
  }

  /** A redial that is due: a refused host key or login stops it unless the policy says otherwise. */
  private redialNow(): void {
    this.connect().catch((err: unknown) => {
      if (err instanceof TunnelError && REFUSALS.includes(err.code) && !this.options.reconnect.retryRefusals) {
        // Security and credentials win over availability: stop and say why.
        this.setState('failed', err.message);
        return;
      }
      this.scheduleReconnect();
    });
  }

  /** Whether the last failure ends once the server answers again (a refused login or host key does not). */
  private lastFailureWasNetwork(): boolean {
    if (this._lastFailure !== undefined) return NETWORK_FAILURES.includes(this._lastFailure);
    return this._lastError === undefined;
  }

  /** Redial now if the session is waiting to reconnect (a wake from sleep, a network change). */
  checkNow(): void {
    if (this._state !== 'reconnecting' || this.connectPromise || this.disposed) return;
    this.redial.now();
  }

  /** Ends the connection for good (its last tunnel closed, or the engine is disposed). */
  close(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.redial.cancel();
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
