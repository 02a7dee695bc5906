import * as net from 'node:net';
import * as os from 'node:os';
import { Client, type ClientChannel, type ConnectConfig, type TcpConnectionDetails } from 'ssh2';
import { appendKnownHost, checkHostKey, defaultGlobalKnownHostsFiles, defaultKnownHostsFiles, fingerprint, keyTypeOf } from '../config/knownHosts';
import { createAuthHandler, expandHome } from './auth';
import { coalesceWrites, connectReusingReadBuffer } from './coalesce';
import { errorMessage, TunnelError } from './errors';
import { Emitter } from './events';
import { pausingPrompts } from './personTime';
import { discard } from './tunnel';
import './ssh2Fixes';
import { consumesChunks } from './gcmFastPath';
import type { Prompts, ServerConfig, ServerState } from './types';

export interface ReconnectPolicy {
  /** First delay before a redial, in ms. */
  baseDelayMs: number;
  /** Longest delay between redials, in ms. */
  maxDelayMs: number;
  /** Redials before giving up; Infinity keeps trying. */
  maxAttempts: number;
}

export interface SessionOptions {
  prompts?: Prompts;
  resolveServer: (name: string) => ServerConfig | undefined;
  reconnect: ReconnectPolicy;
  maxChannels: number;
  forwardTimeoutMs: number;
  log: (message: string) => void;
}

/** What went wrong on a live connection, in words a person can act on. */
function describeLiveError(err: Error): string {
  if (/unable to authenticate data|Bad packet length|Bad packet padding|Invalid MAC|bad mac/i.test(err.message)) {
    return `Data from the server failed its integrity check (${err.message}): something on the network path altered the SSH stream. The connection was dropped; nothing from the damaged packet was passed on.`;
  }
  return err.message;
}

export type RemoteConnectionHandler = (
  details: TcpConnectionDetails,
  accept: () => ClientChannel,
  reject: () => void,
) => void;

/** Seconds for the TCP connection and the SSH handshake when ConnectTimeout is not set. */
export const DEFAULT_CONNECT_TIMEOUT = 20;
const DEFAULT_ALIVE_INTERVAL = 15;
const DEFAULT_ALIVE_COUNT = 2;
/** After a wake from sleep, how long the server has to answer a probe. */
const WAKE_GRACE_MS = 5000;

/** `[bindAddr]:port` key for remote forwards, as the server reports them back. */
export function makeAddress(host: string, port: number): string {
  return `${host}:${port}`;
}

/** Splits `user@host:port` (ProxyJump's form) without touching IPv6 brackets' colons. */
function parseJumpSpec(spec: string): { user?: string; host: string; port?: number } {
  let rest = spec.trim().replace(/^ssh:\/\//, '');
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracket) return { user, host: bracket[1], port: bracket[2] ? Number(bracket[2]) : undefined };
  const colon = /^([^:]+):(\d+)$/.exec(rest);
  if (colon) return { user, host: colon[1], port: Number(colon[2]) };
  return { user, host: rest };
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
  private disposed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAttempt = 0;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private jumpClients: Client[] = [];
  private channels = 0;
  private readonly remoteHandlers = new Map<string, RemoteConnectionHandler>();
  /** Host keys trusted once by a person during this session's life: a redial does not ask again. */
  private readonly trustedOnce = new Set<string>();

  private readonly _onDidChangeState = new Emitter<ServerState>();
  readonly onDidChangeState = this._onDidChangeState.event;
  /** Fired after every successful (re)connect; tunnels re-establish what lives on the server. */
  private readonly _onDidConnect = new Emitter<{ reconnected: boolean }>();
  readonly onDidConnect = this._onDidConnect.event;

  constructor(
    private config: ServerConfig,
    private readonly options: SessionOptions,
  ) {}

  get name(): string {
    return this.config.host;
  }

  get state(): ServerState {
    return this._state;
  }

  get lastError(): string | undefined {
    return this._lastError;
  }

  get isConnected(): boolean {
    return this._state === 'connected' && this.client !== undefined;
  }

  /** How long one connect may take (ConnectTimeout): also how long a connection waits for one. */
  get connectTimeoutMs(): number {
    return (this.config.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT) * 1000;
  }

  get openChannels(): number {
    return this.channels;
  }

  /** Picks up edited settings for the next (re)connect. */
  updateConfig(config: ServerConfig): void {
    this.config = config;
  }

  private setState(state: ServerState, error?: string): void {
    if (error !== undefined) this._lastError = error;
    if (state === 'connected') this._lastError = undefined;
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
          if (!this.disposed) this.setState(reconnecting ? 'reconnecting' : 'failed', errorMessage(err));
          throw err;
        },
      );
    }
    return this.connectPromise;
  }

  private target(config: ServerConfig): { host: string; port: number; user: string } {
    return {
      host: config.hostName ?? config.host,
      port: config.port ?? 22,
      user: config.user ?? os.userInfo().username,
    };
  }

  private async dial(): Promise<Client> {
    const hops = this.jumpChain();
    let sock: net.Socket | ClientChannel | undefined;
    const jumpClients: Client[] = [];
    try {
      for (let i = 0; i < hops.length; i++) {
        const hop = hops[i];
        const client = await this.handshake(hop, sock);
        if (i < hops.length - 1) {
          jumpClients.push(client);
          const next = this.target(hops[i + 1]);
          sock = await new Promise<ClientChannel>((resolve, reject) =>
            client.forwardOut('127.0.0.1', 0, next.host, next.port, (err, stream) =>
              err ? reject(new TunnelError('CONNECT_FAILED', `Jump host ${hop.host} could not reach ${next.host}:${next.port}: ${err.message}`)) : resolve(stream),
            ),
          );
        } else {
          for (const old of this.jumpClients) old.end();
          this.jumpClients = jumpClients;
          return client;
        }
      }
      throw new Error('unreachable');
    } catch (err) {
      for (const c of jumpClients) c.end();
      throw err;
    }
  }

  /** The hops to dial in order, ending with this server; a loop in ProxyJump is an error. */
  private jumpChain(): ServerConfig[] {
    const chain: ServerConfig[] = [this.config];
    const seen = new Set<string>([this.config.host]);
    let current = this.config;
    while (current.proxyJump && current.proxyJump.toLowerCase() !== 'none') {
      // ProxyJump lists hops first to last; the last is dialled directly before `current`.
      const hops = current.proxyJump.split(',').map((s) => s.trim()).filter(Boolean);
      const resolved = hops.map((spec) => {
        const parsed = parseJumpSpec(spec);
        const known = this.options.resolveServer(parsed.host);
        return known
          ? { ...known, user: parsed.user ?? known.user, port: parsed.port ?? known.port }
          : { host: parsed.host, hostName: parsed.host, user: parsed.user, port: parsed.port };
      });
      for (const hop of resolved) {
        if (seen.has(hop.host)) {
          throw new TunnelError('CONNECT_FAILED', `ProxyJump loop: ${[...seen, hop.host].join(' → ')}. Fix ProxyJump for ${this.name}.`);
        }
        seen.add(hop.host);
      }
      chain.unshift(...resolved);
      current = resolved[0];
    }
    return chain;
  }

  private handshake(config: ServerConfig, via: net.Socket | ClientChannel | undefined): Promise<Client> {
    const { host, port, user } = this.target(config);
    const timeoutMs = (config.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT) * 1000;
    return new Promise<Client>((resolve, reject) => {
      const client = new Client();
      const attempts: string[] = [];
      let verdict: TunnelError | undefined;
      let accepted: Buffer | undefined;
      let settled = false;
      const fail = (err: TunnelError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.removeAllListeners('ready');
        client.on('error', () => undefined);
        client.end();
        reject(err);
      };
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          fail(new TunnelError('TIMEOUT', `Timed out after ${timeoutMs / 1000}s connecting to ${host}:${port} (${config.host}). Is the server reachable?`));
          client.destroy(); // as ssh2's own readyTimeout did: a silent server gets no goodbye
        }, timeoutMs);
      };
      arm();
      // The timeout is for the server: it stops while a person is asked, and starts afresh after.
      let asking = 0;
      const prompts = pausingPrompts(this.options.prompts, {
        pause: () => {
          if (asking++ === 0) clearTimeout(timer);
        },
        resume: () => {
          if (--asking === 0 && !settled) arm();
        },
      });

      const start = (sock: net.Socket | ClientChannel) => {
        const cfg: ConnectConfig = {
          sock: sock as ConnectConfig['sock'],
          username: user,
          // Our own timer (above) bounds the handshake, paused while a person answers.
          readyTimeout: 0,
          authHandler: createAuthHandler(config, user, prompts, attempts),
          hostVerifier: ((key: Buffer, verify: (ok: boolean) => void) => {
            // A rekey shows the key again. Accepted already on this connection, it is answered at
            // once: answered later, ssh2 goes on sending channel data while the server has
            // switched keys, and OpenSSH drops the connection (or, worse, data is reordered).
            if (accepted?.equals(key)) return verify(true);
            this.verifyHostKey(config, host, port, key, prompts).then(
              () => {
                accepted = Buffer.from(key);
                verify(true);
              },
              (err: TunnelError) => {
                verdict = err;
                verify(false);
              },
            );
          }) as unknown as ConnectConfig['hostVerifier'],
        };
        if (config.ciphers?.length) cfg.algorithms = { cipher: config.ciphers as never };
        client.once('ready', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          client.removeAllListeners('error');
          resolve(client);
        });
        client.on('error', (err: Error & { level?: string }) => {
          if (err.level === 'agent') return; // an unusable agent is skipped, as ssh does
          if (verdict) return fail(verdict);
          if (err.level === 'client-authentication') {
            const tried = attempts.length ? attempts.join(', ') : 'nothing (no key, agent or password was available)';
            return fail(new TunnelError('AUTH_FAILED', `Authentication as ${user} on ${config.host} failed. Tried: ${tried}.`));
          }
          fail(new TunnelError('CONNECT_FAILED', `SSH connection to ${host}:${port} (${config.host}) failed: ${err.message}`));
        });
        client.once('close', () => fail(verdict ?? new TunnelError('CONNECT_FAILED', `${host}:${port} (${config.host}) closed the connection during the handshake.`)));
        client.connect(cfg);
      };

      if (via) {
        start(via);
        return;
      }
      const sock = connectReusingReadBuffer(host, port, () => consumesChunks(client));
      sock.setNoDelay(true);
      coalesceWrites(sock);
      sock.once('connect', () => start(sock));
      sock.once('error', (err: NodeJS.ErrnoException) => {
        if (sock.connecting || !settled) {
          const why = err.code === 'ECONNREFUSED' ? 'connection refused (is sshd running on that port?)'
            : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? 'host name not found'
              : err.message;
          fail(new TunnelError('CONNECT_FAILED', `Cannot reach ${config.host} at ${host}:${port}: ${why}.`, { errno: err.code }));
        }
      });
    });
  }

  private async verifyHostKey(config: ServerConfig, host: string, port: number, key: Buffer, prompts: Prompts | undefined): Promise<void> {
    // As ssh: the user's files and the system-wide ones vouch alike; only the user's are written.
    const userFiles = ([] as string[]).concat(config.userKnownHostsFile ?? defaultKnownHostsFiles()).map(expandHome);
    const files = [...userFiles, ...([] as string[]).concat(config.globalKnownHostsFile ?? defaultGlobalKnownHostsFiles())];
    const keyType = keyTypeOf(key);
    const print = fingerprint(key);
    const check = checkHostKey(files, host, port, key);
    const who = `${config.host} (${host}:${port})`;
    if (check.status === 'known') return;
    if (check.status === 'revoked') {
      throw new TunnelError('HOST_KEY_REVOKED', `The ${keyType} host key of ${who} is marked @revoked in ${check.entry!.file}:${check.entry!.line}. Refusing to connect.`);
    }
    if (check.status === 'changed') {
      throw new TunnelError(
        'HOST_KEY_CHANGED',
        `WARNING: the host key of ${who} has changed! Someone could be eavesdropping on you (man-in-the-middle), or the host key was just replaced. ` +
          `The server sent ${keyType} ${print}; the expected key is in ${check.entry!.file}:${check.entry!.line}. ` +
          `Connection refused. If the change is legitimate, remove that line (ssh-keygen -R) and connect again.`,
        { fingerprint: print, file: check.entry!.file, line: check.entry!.line },
      );
    }
    const id = `${host}:${port}:${print}`;
    if (this.trustedOnce.has(id)) return;
    const ca = check.certAuthority;
    const caNote = ca
      ? ` (${ca.file}:${ca.line} has a @cert-authority line for this host, but host certificates are not supported: the host's own key must be trusted.)`
      : '';
    if (caNote) this.options.log(`${config.host}:${caNote}`);
    const strict = config.strictHostKeyChecking;
    const remember = userFiles[0];
    if (strict === 'no' || strict === 'accept-new') {
      appendKnownHost(remember, host, port, key);
      this.options.log(`${config.host}: added ${keyType} ${print} to ${remember} (StrictHostKeyChecking ${strict})`);
      return;
    }
    if (strict === 'yes') {
      throw new TunnelError('HOST_KEY_UNKNOWN', `The host key of ${who} is not in ${files.join(' or ')} and StrictHostKeyChecking is yes. Its ${keyType} fingerprint is ${print}.${caNote}`, { fingerprint: print });
    }
    if (!prompts?.hostKey) {
      throw new TunnelError('HOST_KEY_UNKNOWN', `The authenticity of ${who} can't be established (${keyType} ${print}) and nothing can ask whether to trust it. Add it to ${remember} or set StrictHostKeyChecking accept-new.${caNote}`, { fingerprint: print });
    }
    const answer = await prompts.hostKey({ server: config.host, host, port, keyType, fingerprint: print });
    if (answer === 'trust-remember') {
      appendKnownHost(remember, host, port, key);
      return;
    }
    if (answer === 'trust-once') {
      this.trustedOnce.add(id);
      return;
    }
    throw new TunnelError('HOST_KEY_UNKNOWN', `Host key of ${who} (${keyType} ${print}) was not trusted. Connection cancelled.${caNote}`);
  }

  // ---- the live connection ------------------------------------------------------------

  private attach(client: Client): void {
    this.client = client;
    this.channels = 0;
    client.on('tcp connection', (details, accept, reject) => this.dispatch(details, accept, reject));
    client.on('error', (err) => {
      this._lastError = describeLiveError(err);
      this.options.log(`${this.name}: ${this._lastError}`);
    });
    client.on('close', () => this.onDrop(client));
    this.startKeepalive(client);
  }

  private dispatch(details: TcpConnectionDetails, accept: () => ClientChannel, reject: () => void): void {
    const handler = this.remoteHandlers.get(makeAddress(details.destIP, details.destPort));
    if (!handler || this.channels >= this.options.maxChannels) {
      reject();
      return;
    }
    handler(details, () => this.track(accept()), reject);
  }

  private track(channel: ClientChannel): ClientChannel {
    this.channels++;
    channel.once('close', () => this.channels--);
    return channel;
  }

  /**
   * OpenSSH's ServerAliveInterval: after that much silence from the server send a probe;
   * any traffic from the server counts as alive; after ServerAliveCountMax silent intervals
   * the connection is dead. A tick much later than scheduled means the machine slept or the
   * clock jumped: probe at once.
   */
  private startKeepalive(client: Client): void {
    this.stopKeepalive();
    const intervalMs = (this.config.serverAliveInterval ?? DEFAULT_ALIVE_INTERVAL) * 1000;
    const countMax = Math.max(1, this.config.serverAliveCountMax ?? DEFAULT_ALIVE_COUNT);
    if (intervalMs <= 0) return;
    const sock = (client as unknown as { _sock?: net.Socket })._sock;
    let rx = 0;
    sock?.on('data', () => rx++);
    let seenRx = 0;
    let lastRxAt = Date.now();
    let lastProbeAt = 0;
    let lastTick = Date.now();
    let wakeDeadline = 0;
    const tickMs = Math.min(1000, intervalMs / 2);
    const dead = (why: string) => {
      this.options.log(`${this.name}: ${why}; the connection is dead`);
      this._lastError = `${why}.`;
      client.destroy();
    };
    this.keepaliveTimer = setInterval(() => {
      const now = Date.now();
      const slept = now - lastTick > Math.max(tickMs * 3, 3000);
      lastTick = now;
      if (slept) {
        // Woken from sleep (or the clock jumped): the path may be gone. Ask now.
        seenRx = rx;
        lastProbeAt = now;
        wakeDeadline = now + WAKE_GRACE_MS;
        this.probe(client);
        return;
      }
      if (rx !== seenRx) {
        seenRx = rx;
        lastRxAt = now;
        wakeDeadline = 0;
        return;
      }
      if (wakeDeadline && now >= wakeDeadline) {
        return dead(`No answer from the server within ${WAKE_GRACE_MS / 1000}s after the machine woke`);
      }
      const silence = now - lastRxAt;
      if (silence >= intervalMs * countMax && lastProbeAt > lastRxAt) {
        return dead(`No answer from the server for ${Math.round(silence / 1000)}s (ServerAliveInterval ${intervalMs / 1000}s × ServerAliveCountMax ${countMax})`);
      }
      if (silence >= intervalMs && now - lastProbeAt >= intervalMs) {
        lastProbeAt = now;
        this.probe(client);
      }
    }, tickMs);
    this.keepaliveTimer.unref();
  }

  /** Sends keepalive@openssh.com the way ssh2's own keepalive does (it has no public call). */
  private probe(client: Client): void {
    const internals = client as unknown as { _callbacks?: Array<() => void>; _protocol?: { ping(): void } };
    if (!internals._callbacks || !internals._protocol) return;
    internals._callbacks.push(() => undefined);
    try {
      internals._protocol.ping();
    } catch {
      // The socket is already gone; 'close' follows.
    }
  }

  private stopKeepalive(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  private onDrop(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.stopKeepalive();
    for (const jump of this.jumpClients) jump.end();
    this.jumpClients = [];
    if (this.disposed) return;
    this.options.log(`${this.name}: connection lost${this._lastError ? ` (${this._lastError})` : ''}; reconnecting`);
    this.setState('reconnecting', this._lastError ?? 'Connection lost');
    this.scheduleReconnect();
  }

  private scheduleReconnect(immediate = false): void {
    if (this.disposed || this.reconnectTimer) return;
    const { baseDelayMs, maxDelayMs, maxAttempts } = this.options.reconnect;
    if (this.reconnectAttempt >= maxAttempts) {
      this.setState('failed', `Gave up after ${this.reconnectAttempt} attempts to reconnect. Last error: ${this._lastError ?? 'unknown'}`);
      return;
    }
    const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** this.reconnectAttempt);
    // Full jitter on the upper half, so many clients do not redial in lockstep.
    const delay = immediate ? 0 : backoff / 2 + Math.random() * (backoff / 2);
    this.reconnectAttempt++;
    const dueAt = Date.now() + delay;
    const redial = () => {
      clearInterval(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.connect().catch((err: unknown) => {
        if (err instanceof TunnelError && ['HOST_KEY_CHANGED', 'HOST_KEY_REVOKED', 'HOST_KEY_UNKNOWN', 'AUTH_FAILED'].includes(err.code)) {
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
    const first = this.jumpChain()[0];
    const { host, port } = this.target(first);
    let probing = false;
    this.reconnectTimer = setInterval(() => {
      if (Date.now() >= dueAt) return redial();
      if (probing) return;
      probing = true;
      const probe = net.connect({ host, port });
      const done = (reachable: boolean) => {
        probing = false;
        probe.destroy();
        if (reachable && this.reconnectTimer && this.lastFailureWasNetwork()) redial();
      };
      probe.setTimeout(1000, () => done(false));
      probe.once('connect', () => done(true));
      probe.once('error', () => done(false));
    }, Math.min(1000, Math.max(50, delay / 2)));
  }

  private lastFailureWasNetwork(): boolean {
    return this._lastError === undefined || /Cannot reach|Timed out|connection lost|No answer|closed the connection|ECONNRESET|read ECONN|Connection lost/i.test(this._lastError);
  }

  /** Redial now if the session is waiting to reconnect (a wake from sleep, a network change). */
  checkNow(): void {
    if (this._state !== 'reconnecting' || this.connectPromise) return;
    clearInterval(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.scheduleReconnect(true);
  }

  // ---- channels -----------------------------------------------------------------------

  /** Opens a direct-tcpip channel, with a limit on open channels and a timeout. */
  forwardOut(srcIP: string, srcPort: number, dstHost: string, dstPort: number): Promise<ClientChannel> {
    const client = this.client;
    if (!client || this._state !== 'connected') {
      return Promise.reject(new TunnelError('CLOSED', `${this.name} is ${this._state === 'reconnecting' ? 'reconnecting' : 'not connected'}; try again shortly.`));
    }
    if (this.channels >= this.options.maxChannels) {
      return Promise.reject(new TunnelError('CHANNEL_REFUSED', `Too many open channels on ${this.name} (limit ${this.options.maxChannels}); connection refused.`));
    }
    return new Promise<ClientChannel>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(new TunnelError('TIMEOUT', `${this.name} did not open a channel to ${dstHost}:${dstPort} within ${this.options.forwardTimeoutMs / 1000}s.`));
      }, this.options.forwardTimeoutMs);
      try {
        client.forwardOut(srcIP, srcPort, dstHost, dstPort, (err, channel) => {
          clearTimeout(timer);
          if (timedOut) {
            if (channel) discard(channel);
            return;
          }
          if (err) {
            reject(channelOpenError(err as Error & { reason?: number }, this.name, dstHost, dstPort));
            return;
          }
          resolve(this.track(channel));
        });
      } catch (err) {
        clearTimeout(timer);
        reject(new TunnelError('CLOSED', `${this.name}: ${errorMessage(err)}`));
      }
    });
  }

  /** Asks the server to listen (tcpip-forward); resolves with the port it bound. */
  async forwardIn(bindAddr: string, bindPort: number, handler: RemoteConnectionHandler): Promise<number> {
    const client = await this.connect();
    const port = await new Promise<number>((resolve, reject) => {
      try {
        client.forwardIn(bindAddr, bindPort, (err, port) => {
          if (err) {
            reject(new TunnelError('FORWARD_REFUSED',
              `${this.name} refused to listen on ${bindAddr}:${bindPort} for a remote forward. The port may be in use on the server, privileged, or forwarding may be disabled there (AllowTcpForwarding, PermitListen).`));
            return;
          }
          resolve(port);
        });
      } catch (err) {
        reject(new TunnelError('CLOSED', `${this.name}: ${errorMessage(err)}`));
      }
    });
    this.remoteHandlers.set(makeAddress(bindAddr, port), handler);
    return port;
  }

  async unforwardIn(bindAddr: string, bindPort: number): Promise<void> {
    this.remoteHandlers.delete(makeAddress(bindAddr, bindPort));
    const client = this.client;
    if (!client || this._state !== 'connected') return;
    await new Promise<void>((resolve) => {
      try {
        client.unforwardIn(bindAddr, bindPort, () => resolve());
      } catch {
        resolve();
      }
    });
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
    for (const jump of this.jumpClients) jump.end();
    this.jumpClients = [];
    this.remoteHandlers.clear();
    this.setState('disconnected');
    this._onDidChangeState.dispose();
    this._onDidConnect.dispose();
  }
}

/** Turns ssh2's channel-open failure into the reason a person can act on. */
export function channelOpenError(err: Error & { reason?: number }, server: string, host: string, port: number): TunnelError {
  const description = err.message.replace(/^\(SSH\) Channel open failure:\s*/, '');
  const reasons: Record<number, string> = {
    1: 'administratively prohibited (the server forbids this forward: AllowTcpForwarding or PermitOpen)',
    2: 'connect failed',
    3: 'unknown channel type',
    4: 'resource shortage on the server',
  };
  const why = reasons[err.reason ?? 0] ?? 'refused';
  const detail = description && !why.includes(description) ? `: ${description}` : '';
  return new TunnelError('CHANNEL_REFUSED', `${server} could not open ${host}:${port}: ${why}${detail}`, {
    reason: err.reason,
    description,
  });
}
