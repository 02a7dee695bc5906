import type { ServerConfig } from '../base/types';
import type { Channels } from './channels';

/**
 * What a tunnel needs of its server's SSH connection, and no more: whether it is up, a way to
 * wait for it, its channels, and its log. `SshSession` is the one; the manager tells tunnels
 * when it drops and comes back.
 */
export interface TunnelLink {
  /** The server's name, for messages. */
  readonly name: string;
  /** Up, and its socket not already broken. */
  readonly isConnected: boolean;
  /** How long one connect may take (ConnectTimeout): also how long a connection waits for one. */
  readonly connectTimeoutMs: number;
  /** The server's settings as last given. */
  readonly settings: ServerConfig;
  /** Where channels are opened and remote forwards asked for. */
  readonly channels: Channels;
  /** Resolves once connected, dialling if needed. */
  connect(): Promise<unknown>;
  /** Whether a tunnel whose start failed with `err` waits, as the connection redials (retryFirstConnect). */
  waitsAfter(err: unknown): boolean;
  log(message: string): void;
}
