import { DynamicForward } from './forwards/dynamicForward';
import { errorMessage, TunnelError } from './base/errors';
import { DisposableStore, Emitter } from './base/events';
import { LocalForward } from './forwards/localForward';
import { RemoteForward } from './forwards/remoteForward';
import { ReverseDynamicForward } from './forwards/reverseDynamicForward';
import type { ReconnectPolicy } from './connection/redial';
import { SshSession } from './connection/session';
import { RememberedSecrets } from './login/rememberedSecrets';
import { localEnd } from './forwards/ends';
import { portInUse } from './io/listener';
import { resolveSpec, specName } from './forwards/spec';
import { install as installSsh2Adapter } from './ssh2';
import { listingCommand, listingRefused, readListing } from './ports/remoteListing';
import type { ServerPorts } from './ports/listeners';
import type { Tunnel } from './forwards/tunnel';
import type { CloseReason, Prompts, ServerConfig, ServerSource, ServerStatus, TunnelInfo, TunnelOrigin, TunnelSpec } from './base/types';

export interface TunnelManagerOptions {
  servers: ServerSource;
  prompts?: Prompts;
  reconnect?: Partial<ReconnectPolicy>;
  /** Open channels allowed on one SSH connection (OpenSSH drops a connection past 16384). */
  maxChannelsPerConnection?: number;
  /** How long a server may take to open a channel, in ms. */
  forwardTimeoutMs?: number;
  /** How long a SOCKS client may take to send its request, in ms. */
  socksHandshakeTimeoutMs?: number;
  /** How often an idle tunnel with watchRemotePort checks its target, in ms (default 10 s). */
  watchIntervalMs?: number;
  log?: (message: string) => void;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { baseDelayMs: 1000, maxDelayMs: 30_000, maxAttempts: Infinity };

export class TunnelManager {
  private readonly sessions = new Map<string, SshSession>();
  private readonly sessionListeners = new Map<string, DisposableStore>();
  private readonly tunnels = new Map<string, Tunnel>();
  private nextId = 1;
  private disposed = false;
  /** Kept for the manager's life (the program's): every session of every server shares it. */
  private readonly secrets = new RememberedSecrets();

  private readonly _onDidChangeTunnel = new Emitter<TunnelInfo>();
  readonly onDidChangeTunnel = this._onDidChangeTunnel.event;
  private readonly _onDidChangeServer = new Emitter<ServerStatus>();
  readonly onDidChangeServer = this._onDidChangeServer.event;

  private options: TunnelManagerOptions;

  constructor(options: TunnelManagerOptions) {
    // The composition roots install the ssh2 adapter first; this covers any other way in (tests, scripts).
    installSsh2Adapter();
    this.options = { ...options };
  }

  /** Changes the reconnect policy and channel limit; they apply from each server's next connection. */
  configure(settings: Pick<TunnelManagerOptions, 'reconnect' | 'maxChannelsPerConnection'>): void {
    this.options = { ...this.options, ...settings };
  }

  private log(message: string): void {
    this.options.log?.(message);
  }

  private findServer(name: string): ServerConfig {
    const server = this.options.servers.get(name);
    if (server) return server;
    // A source that knows why a name is unusable (a broken settings entry) says so itself.
    const explained = this.options.servers.unknownServerError?.(name);
    if (explained) throw explained;
    const known = this.options.servers.list().map((s) => s.alias);
    throw new TunnelError(
      'UNKNOWN_SERVER',
      `Unknown server ${JSON.stringify(name)}. ` + (known.length ? `Known servers: ${known.join(', ')}.` : 'No servers are configured yet.'),
      { known },
    );
  }

  private sessionFor(config: ServerConfig): SshSession {
    let session = this.sessions.get(config.alias);
    if (session) {
      session.updateConfig(config);
      return session;
    }
    session = new SshSession(config, {
      prompts: this.options.prompts,
      secrets: this.secrets,
      resolveServer: (name) => this.options.servers.get(name) ?? this.options.servers.resolveHost?.(name),
      reconnect: { ...DEFAULT_RECONNECT, ...this.options.reconnect },
      maxChannels: this.options.maxChannelsPerConnection ?? 8192,
      forwardTimeoutMs: this.options.forwardTimeoutMs ?? 30_000,
      log: (m) => this.log(m),
    });
    const s = session;
    // The manager tells the server's tunnels of its drops and returns, then the UI of its state.
    const listeners = new DisposableStore();
    listeners.add(
      s.onDidChangeState((state) => {
        const reason = s.lastError ?? 'connection lost';
        for (const t of this.tunnelsOf(s.name)) {
          if (state === 'reconnecting') t.onSessionLost(reason);
          else if (state === 'failed') t.onSessionFailed(reason);
        }
        this._onDidChangeServer.fire(this.serverStatus(s.name));
      }),
    );
    listeners.add(
      s.onDidScheduleRetry(() => {
        // The redial's own error, not only the first drop's, is what the tunnels show while they wait.
        const reason = s.lastError;
        if (reason !== undefined) for (const t of this.tunnelsOf(s.name)) t.onRetryFailed(reason);
        this._onDidChangeServer.fire(this.serverStatus(s.name));
      }),
    );
    listeners.add(
      s.onDidConnect(() => {
        // After a redial, or a fresh connect following a give-up: bring back what was waiting.
        for (const t of this.tunnelsOf(s.name)) {
          if (t.state === 'reconnecting' || t.state === 'failed') {
            t.onSessionBack().catch((err) => this.log(`${t.name}: ${errorMessage(err)}`));
          }
        }
      }),
    );
    this.sessions.set(config.alias, session);
    this.sessionListeners.set(config.alias, listeners);
    return session;
  }

  private tunnelsOf(server: string): Tunnel[] {
    return [...this.tunnels.values()].filter((t) => t.spec.server === server);
  }

  /**
   * Opens a tunnel. An aborted `signal` rejects at once with `CANCELLED`; whatever the tunnel
   * had started (a listener, a forward the server is still granting) is undone.
   */
  async createTunnel(spec: TunnelSpec, options: { signal?: AbortSignal } = {}): Promise<TunnelInfo> {
    if (this.disposed) throw new TunnelError('CLOSED', 'The tunnel manager has been disposed.');
    const resolved = resolveSpec(spec);
    const { signal } = options;
    if (signal?.aborted) throw cancelled(specName(resolved));
    // A `Match exec` of the ssh config still running for this server: wait for it here rather than run it synchronously in get().
    const ready = this.options.servers.whenReady?.(resolved.server);
    if (ready) {
      await ready;
      if (this.disposed) throw new TunnelError('CLOSED', 'The tunnel manager has been disposed.');
      if (signal?.aborted) throw cancelled(specName(resolved));
    }
    const config = this.findServer(resolved.server);
    const session = this.sessionFor(config);
    const id = `t${this.nextId++}`;
    const changed = (t: Tunnel) => {
      // info() is built only for someone to hear it (the bench's engine host has no listener).
      if (!this._onDidChangeTunnel.hasListeners) return;
      if (this.tunnels.has(t.id) || t.state === 'closed') this._onDidChangeTunnel.fire(t.info());
    };
    const Kind = resolved.type === 'local' ? LocalForward
      : resolved.type === 'remote' ? (resolved.socks ? ReverseDynamicForward : RemoteForward) : DynamicForward;
    const nameTaken = (name: string, self: Tunnel) => [...this.tunnels.values()].some((t) => t !== self && t.name === name);
    const tunnel = new Kind(id, resolved, session, changed, nameTaken);
    tunnel.updateDefaultName();
    if ((tunnel instanceof DynamicForward || tunnel instanceof ReverseDynamicForward) && this.options.socksHandshakeTimeoutMs) {
      tunnel.handshakeTimeoutMs = this.options.socksHandshakeTimeoutMs;
    }
    if (tunnel instanceof LocalForward && this.options.watchIntervalMs) tunnel.watchIntervalMs = this.options.watchIntervalMs;
    this.tunnels.set(id, tunnel);
    this._onDidChangeTunnel.fire(tunnel.info());
    this._onDidChangeServer.fire(this.serverStatus(config.alias));
    const started = tunnel.start();
    try {
      await (signal ? untilAborted(started, signal, tunnel.name) : started);
    } catch (err) {
      this.tunnels.delete(id);
      // A start still under way (waiting for a question, a forward the server grants later)
      // undoes what it gets once the tunnel is closed; its own outcome no longer matters.
      started.catch(() => undefined);
      const reason: CloseReason = err instanceof TunnelError && err.code === 'CANCELLED' ? 'cancelled' : 'failed';
      await tunnel.close(reason).catch(() => undefined);
      // With no other tunnel on it, the session closes; a connect still under way is ended once it finishes.
      this.releaseSessionIfIdle(config.alias);
      const error = this.heldHere(err, resolved.localHost);
      this.log(`${tunnel.name}: ${errorMessage(error)}`);
      throw error;
    }
    const opened = tunnel.info();
    const waiting = opened.state === 'reconnecting' ? `; waiting for ${opened.server}` : '';
    this.log(`${tunnel.name}: open (${localEnd(opened)})${waiting}`);
    return opened;
  }

  /** A busy port another tunnel of this manager holds: that tunnel is named rather than this program. */
  private heldHere(err: unknown, host: string): unknown {
    if (!(err instanceof TunnelError) || err.code !== 'PORT_IN_USE' || typeof err.details.port !== 'number') return err;
    const port = err.details.port;
    const other = [...this.tunnels.values()].map((t) => t.info()).find((t) => t.type !== 'remote' && t.localPath === undefined && t.localPort === port && (t.localHost === host || t.localHost === '0.0.0.0' || t.localHost === '::'));
    if (!other) return err;
    return portInUse(host, port, err.details.suggestion as number | undefined, { text: `the tunnel ${other.name} here`, pid: process.pid });
  }

  listTunnels(server?: string): TunnelInfo[] {
    return [...this.tunnels.values()].filter((t) => server === undefined || t.spec.server === server).map((t) => t.info());
  }

  getTunnel(id: string): TunnelInfo | undefined {
    return this.tunnels.get(id)?.info();
  }

  /** Hands an open tunnel to another owner without touching its connections (a person's tunnel kept in settings). */
  adoptTunnel(id: string, openedBy: TunnelOrigin): TunnelInfo {
    const tunnel = this.tunnels.get(id);
    if (!tunnel) throw new TunnelError('INVALID_SPEC', `No open tunnel has id ${JSON.stringify(id)}.`);
    tunnel.setOpenedBy(openedBy);
    return tunnel.info();
  }

  /** Renames an open tunnel without touching its connections; no name gives back the default one. */
  renameTunnel(id: string, name: string | undefined): TunnelInfo {
    const tunnel = this.tunnels.get(id);
    if (!tunnel) throw new TunnelError('INVALID_SPEC', `No open tunnel has id ${JSON.stringify(id)}.`);
    tunnel.rename(name);
    return tunnel.info();
  }

  /** Closes a tunnel; its last change event carries `reason` (a person's close unless said otherwise). */
  async closeTunnel(id: string, reason: CloseReason = 'person'): Promise<void> {
    const tunnel = this.tunnels.get(id);
    if (!tunnel) throw new TunnelError('INVALID_SPEC', `No open tunnel has id ${JSON.stringify(id)}.`);
    this.tunnels.delete(id);
    await tunnel.close(reason);
    this.log(`${tunnel.name}: closed${reason === 'person' ? '' : ` (${reason})`}`);
    this.releaseSessionIfIdle(tunnel.spec.server);
  }

  async closeServer(name: string, reason: CloseReason = 'person'): Promise<void> {
    await Promise.all(this.tunnelsOf(name).map((t) => this.closeTunnel(t.id, reason)));
    this.releaseSessionIfIdle(name);
  }

  /** Connects a server without opening a tunnel (the UI's "connect"). */
  async connectServer(name: string): Promise<ServerStatus> {
    const session = this.sessionFor(this.findServer(name));
    await session.connect();
    return this.serverStatus(name);
  }

  /**
   * What the server listens on (TCP ports and Unix sockets, with their processes when it names
   * them), from a command run over an exec channel without a terminal. Connects the server if it
   * is not. Rejects with COMMAND_REFUSED when the login allows no commands, TIMEOUT after `timeoutMs`.
   */
  async listServerPorts(name: string, options: { timeoutMs?: number } = {}): Promise<ServerPorts> {
    if (this.disposed) throw new TunnelError('CLOSED', 'The tunnel manager has been disposed.');
    await this.options.servers.whenReady?.(name);
    const session = this.sessionFor(this.findServer(name));
    await session.connect();
    const timeoutMs = options.timeoutMs ?? 15_000;
    let output;
    try {
      output = await session.channels.exec(listingCommand(), { timeoutMs });
    } catch (err) {
      if (err instanceof TunnelError && err.code === 'COMMAND_REFUSED') throw listingRefused(name, { stdout: '', stderr: String(err.details.said ?? err.message) });
      if (err instanceof TunnelError && err.code === 'TIMEOUT') {
        throw new TunnelError('TIMEOUT', `${name} did not list its ports within ${timeoutMs / 1000}s (the command that lists them did not finish). Forward a port by its number instead (Create Tunnel).`);
      }
      throw err;
    }
    const ports = readListing(name, output);
    this.log(`${name}: listed ${ports.tcp.length} ports and ${ports.unix.length} sockets (${ports.source})`);
    return ports;
  }

  serverStatus(name: string): ServerStatus {
    const session = this.sessions.get(name);
    const retry = session?.retry;
    return {
      name,
      state: session?.state ?? 'disconnected',
      tunnels: this.tunnelsOf(name).length,
      ...(session ? { channels: session.channels.open } : {}),
      lastError: session?.lastError,
      ...(session?.lastErrorCode !== undefined ? { lastErrorCode: session.lastErrorCode } : {}),
      ...(retry ? { attempt: retry.attempt, nextAttemptAt: retry.at } : {}),
    };
  }

  /** Asks every reconnecting session to redial now (wake from sleep, network change). */
  checkConnections(): void {
    for (const session of this.sessions.values()) session.checkNow();
  }

  private releaseSessionIfIdle(name: string): void {
    if (this.tunnelsOf(name).length > 0) return;
    const session = this.sessions.get(name);
    if (!session) return;
    this.sessions.delete(name);
    this.sessionListeners.get(name)?.dispose();
    this.sessionListeners.delete(name);
    session.close();
    this._onDidChangeServer.fire(this.serverStatus(name));
  }

  /** Forgets the passphrases and passwords kept in memory for one server, or for all: the next login asks again. */
  forgetSecrets(server?: string): void {
    this.secrets.forget(server);
  }

  /** Disconnects a server: closes its tunnels and its SSH connection. */
  async disconnectServer(name: string, reason: CloseReason = 'person'): Promise<void> {
    await this.closeServer(name, reason);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([...this.tunnels.keys()].map((id) => this.closeTunnel(id, 'shutdown').catch(() => undefined)));
    for (const name of [...this.sessions.keys()]) this.releaseSessionIfIdle(name);
    this._onDidChangeTunnel.dispose();
    this._onDidChangeServer.dispose();
  }
}

function cancelled(name: string): TunnelError {
  return new TunnelError('CANCELLED', `Cancelled: ${name} was not opened.`);
}

/** Settles with `promise`, or rejects with CANCELLED as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, name: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled(name));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
