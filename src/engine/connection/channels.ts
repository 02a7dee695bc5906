import type { Duplex } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { errorMessage, TunnelError } from '../base/errors';
import { makeAddress } from '../base/address';
import { openRelay, relayIncoming, signalCommand, SocketRelay } from '../ssh2';

/** What a command run on the server printed, and how it ended. */
export interface ExecOutput {
  stdout: string;
  stderr: string;
  code?: number;
  signal?: string;
}

/** Takes one connection the server forwards: `accept` answers a SocketRelay for a forward registered with `relay`, else ssh2's channel. */
export type RemoteConnectionHandler = (
  accept: () => ClientChannel | SocketRelay,
  reject: () => void,
) => void;

export interface ChannelLimits {
  /** Open channels (both ways) allowed at once on one connection. */
  maxChannels: number;
  /** How long the server has to open a channel we asked for. */
  forwardTimeoutMs: number;
}

/** The key of a remote forward on a Unix socket; it cannot collide with a `host:port` one. */
function unixAddress(socketPath: string): string {
  return `unix:${socketPath}`;
}

/**
 * The channels of one server's SSH connection, the one door tunnels use for them: opens them
 * (with a limit and a timeout), asks the server to listen for remote forwards, and hands the
 * server's forwarded connections to whoever asked. The remote forwards it knows outlive a
 * connection; the live connection and the count of open channels do not.
 */
export class Channels {
  private count = 0;
  /** The live connection, from attach() until detach(). */
  private client: Client | undefined;
  /** Each remote forward's handler, and whether its connections are relayed (the handler joins a local socket). */
  private readonly remoteHandlers = new Map<string, { handler: RemoteConnectionHandler; relay: boolean }>();

  constructor(
    private readonly server: () => string,
    private readonly limits: ChannelLimits,
    /** Why there is no connection now, for the refusal of a channel asked meanwhile. */
    private readonly whyDown: () => string,
  ) {}

  get open(): number {
    return this.count;
  }

  /** Takes a new connection: counts start afresh, its forwarded connections are dispatched. */
  attach(client: Client): void {
    this.client = client;
    this.count = 0;
    // For a relayed forward, the `accept` below answers a SocketRelay (ssh2's types say a channel).
    relayIncoming(client, (destIP, destPort) => this.remoteHandlers.get(makeAddress(destIP, destPort))?.relay === true);
    client.on('tcp connection', (details, accept, reject) => this.dispatch(makeAddress(details.destIP, details.destPort), accept, reject));
    client.on('unix connection', (details, accept, reject) => this.dispatch(unixAddress(details.socketPath), accept as () => ClientChannel, reject));
  }

  private dispatch(address: string, accept: () => ClientChannel, reject: () => void): void {
    const handler = this.remoteHandlers.get(address)?.handler;
    if (!handler || this.count >= this.limits.maxChannels) {
      reject();
      return;
    }
    handler(() => this.track(accept()), reject);
  }

  private track<T extends ClientChannel | SocketRelay>(channel: T): T {
    this.count++;
    channel.once('close', () => this.count--);
    return channel;
  }

  /** The connection is gone (dropped or closed): channels wait for the next one. */
  detach(): void {
    this.client = undefined;
  }

  /**
   * Opens a direct-tcpip channel as a relay that `Tunnel.join` joins to a local socket (no ssh2
   * channel stream).
   */
  relayOut(srcIP: string, srcPort: number, dstHost: string, dstPort: number): Promise<SocketRelay> {
    return this.openChannel(makeAddress(dstHost, dstPort), (client, cb) => openRelay(client, srcIP, srcPort, dstHost, dstPort, cb), { host: dstHost, port: dstPort });
  }

  /** Opens a direct-streamlocal@openssh.com channel to a Unix socket on the server. */
  forwardOutStreamLocal(socketPath: string): Promise<ClientChannel> {
    return this.openChannel(socketPath, (client, cb) => client.openssh_forwardOutStreamLocal(socketPath, cb), { path: socketPath });
  }

  /**
   * Runs `command` on the server over an exec channel, without a terminal, its stdin closed at
   * once: resolves with what it printed and its exit status once the channel closes. Rejects
   * after `timeoutMs`, or when it prints more than `maxBytes` (the channel is closed then).
   */
  exec(command: string, options: { timeoutMs: number; maxBytes?: number }): Promise<ExecOutput> {
    const server = this.server();
    const maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
    const what = 'a command';
    return this.openChannel<ClientChannel>(what, (client, cb) => client.exec(command, cb)).then((channel) => new Promise<ExecOutput>((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let size = 0;
      let code: number | undefined;
      let signal: string | undefined;
      let settled = false;
      const finish = (err?: TunnelError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          // sshd keeps a session's channel until its command ends: end the command (sshd refuses for a forced one, and for root's login).
          signalCommand(channel, 'TERM');
          discard(channel);
          reject(err);
        } else resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), ...(code !== undefined ? { code } : {}), ...(signal ? { signal } : {}) });
      };
      const timer = setTimeout(() => finish(new TunnelError('TIMEOUT', `${server} did not finish the command within ${options.timeoutMs / 1000}s.`)), options.timeoutMs);
      const take = (into: Buffer[]) => (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) finish(new TunnelError('COMMAND_REFUSED', `${server} printed more than ${maxBytes} bytes for the command; it was stopped.`));
        else into.push(chunk);
      };
      channel.on('data', take(stdout));
      channel.stderr.on('data', take(stderr));
      channel.on('exit', (exitCode: number | null, exitSignal?: string) => {
        if (typeof exitCode === 'number') code = exitCode;
        if (exitSignal) signal = exitSignal;
      });
      channel.on('error', () => undefined);
      channel.on('close', () => finish());
      // Nothing to read from us: a forced command that reads stdin (internal-sftp) ends instead of waiting.
      channel.end();
    }), (err: unknown) => {
      // A session channel refused, or ssh2's `Unable to exec` for a request refused on an open one.
      if (err instanceof TunnelError && err.code !== 'CHANNEL_REFUSED') throw err;
      const why = err instanceof TunnelError && typeof err.details.description === 'string' && err.details.description ? err.details.description : errorMessage(err);
      throw new TunnelError('COMMAND_REFUSED', `${server} refused to run a command: ${why}.`, { said: why });
    });
  }

  /** The live connection, or a refusal that says why there is none. */
  private live(): Client {
    if (!this.client) throw new TunnelError('CLOSED', this.whyDown());
    return this.client;
  }

  /** Opens a channel with `open`, with the limit and the timeout; `target` names it in messages. */
  private openChannel<T extends ClientChannel | SocketRelay>(target: string, open: (client: Client, cb: (err: Error | undefined, channel: T) => void) => void, to?: ChannelTarget): Promise<T> {
    let client: Client;
    try {
      client = this.live();
    } catch (err) {
      return Promise.reject(err);
    }
    const server = this.server();
    if (this.count >= this.limits.maxChannels) {
      return Promise.reject(new TunnelError('CHANNEL_REFUSED', `Too many open channels on ${server} (limit ${this.limits.maxChannels}); connection refused.`));
    }
    return new Promise<T>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(new TunnelError('TIMEOUT', `${server} did not open a channel to ${target} within ${this.limits.forwardTimeoutMs / 1000}s.`));
      }, this.limits.forwardTimeoutMs);
      try {
        open(client, (err, channel) => {
          clearTimeout(timer);
          if (timedOut) {
            if (channel) discard(channel);
            return;
          }
          if (err) {
            reject(channelOpenError(err as Error & { reason?: number }, server, target, to));
            return;
          }
          resolve(this.track(channel));
        });
      } catch (err) {
        clearTimeout(timer);
        reject(new TunnelError('CLOSED', `${server}: ${errorMessage(err)}`));
      }
    });
  }

  /** Asks the server to listen on a Unix socket (streamlocal-forward@openssh.com). */
  async forwardInStreamLocal(socketPath: string, handler: RemoteConnectionHandler): Promise<void> {
    const client = this.live();
    await new Promise<void>((resolve, reject) => {
      try {
        client.openssh_forwardInStreamLocal(socketPath, (err) => {
          if (err) {
            reject(new TunnelError('FORWARD_REFUSED',
              `${this.server()} refused to listen on the socket ${socketPath} for a remote forward. The file may already exist there (sshd removes it first only with StreamLocalBindUnlink yes), its folder may be missing or not writable, or forwarding may be disabled (AllowStreamLocalForwarding).`));
            return;
          }
          resolve();
        });
      } catch (err) {
        reject(new TunnelError('CLOSED', `${this.server()}: ${errorMessage(err)}`));
      }
    });
    this.remoteHandlers.set(unixAddress(socketPath), { handler, relay: false });
  }

  /** Forgets a Unix-socket remote forward, and asks the server to stop if the connection is live. */
  async unforwardInStreamLocal(socketPath: string): Promise<void> {
    this.remoteHandlers.delete(unixAddress(socketPath));
    const client = this.client;
    if (!client) return;
    await new Promise<void>((resolve) => {
      try {
        client.openssh_unforwardInStreamLocal(socketPath, () => resolve());
      } catch {
        resolve();
      }
    });
  }

  /** Asks the server to listen (tcpip-forward); resolves with the port it bound. With `relay`, `handler` is offered SocketRelays. */
  async forwardIn(bindAddr: string, bindPort: number, handler: RemoteConnectionHandler, relay = false): Promise<number> {
    const client = this.live();
    const port = await new Promise<number>((resolve, reject) => {
      try {
        client.forwardIn(bindAddr, bindPort, (err, port) => {
          if (err) {
            reject(new TunnelError('FORWARD_REFUSED',
              `${this.server()} refused to listen on ${bindAddr}:${bindPort} for a remote forward. The port may be in use on the server, privileged, or forwarding may be disabled there (AllowTcpForwarding, PermitListen).`));
            return;
          }
          resolve(port);
        });
      } catch (err) {
        reject(new TunnelError('CLOSED', `${this.server()}: ${errorMessage(err)}`));
      }
    });
    this.remoteHandlers.set(makeAddress(bindAddr, port), { handler, relay });
    return port;
  }

  /** Forgets a TCP remote forward, and asks the server to stop if the connection is live. */
  async unforwardIn(bindAddr: string, bindPort: number): Promise<void> {
    this.remoteHandlers.delete(makeAddress(bindAddr, bindPort));
    const client = this.client;
    if (!client) return;
    await new Promise<void>((resolve) => {
      try {
        client.unforwardIn(bindAddr, bindPort, () => resolve());
      } catch {
        resolve();
      }
    });
  }

  /** Forgets every remote forward and the connection (the session is closing). */
  clear(): void {
    this.remoteHandlers.clear();
    this.client = undefined;
  }
}

/** Where a channel was to lead: a host and port as the server resolves them, or a Unix socket on the server. */
export type ChannelTarget = { host: string; port: number } | { path: string };

/** A loopback name or address: the server itself. */
function isServerItself(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

/**
 * Turns ssh2's channel-open failure into the reason a person can act on. A connection the target
 * refused (OpenSSH: "Connection refused"; a socket it could not open: "open failed") is said as
 * what it means: nothing listens there.
 */
export function channelOpenError(err: Error & { reason?: number }, server: string, target: string, to?: ChannelTarget): TunnelError {
  const description = err.message.replace(/^\(SSH\) Channel open failure:\s*/, '');
  const reasons: Record<number, string> = {
    1: 'administratively prohibited (the server forbids this forward: AllowTcpForwarding or PermitOpen)',
    2: 'connect failed',
    3: 'unknown channel type',
    4: 'resource shortage on the server',
  };
  const why = reasons[err.reason ?? 0] ?? 'refused';
  const detail = description && !why.includes(description) ? `: ${description}` : '';
  const details = { reason: err.reason, description };
  if (err.reason === 2 && to && 'port' in to && /refused/i.test(description)) {
    const where = isServerItself(to.host) ? server : `${to.host} (as ${server} sees it)`;
    return new TunnelError('CHANNEL_REFUSED', `nothing listens on ${to.port} on ${where} (${server} could not open ${target}: connection refused)`, { ...details, nothingListens: true });
  }
  if (err.reason === 2 && to && 'path' in to) {
    return new TunnelError('CHANNEL_REFUSED', `nothing listens on ${to.path} on ${server}, or this login may not open it (${server} could not open ${target}${detail})`, { ...details, nothingListens: true });
  }
  return new TunnelError('CHANNEL_REFUSED', `${server} could not open ${target}: ${why}${detail}`, details);
}

/**
 * Closes a channel whose local side is gone. What it still holds is read and dropped:
 * ssh2 reports a channel closed only after its readable side ended, so an unread
 * channel would otherwise stay open (and counted) forever.
 */
export function discard(channel: Duplex | SocketRelay): void {
  if (channel instanceof SocketRelay) {
    channel.destroy();
    return;
  }
  channel.unpipe();
  channel.resume();
  channel.destroy();
}
