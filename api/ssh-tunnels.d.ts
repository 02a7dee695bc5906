/**
 * The API that SSH Tunnels (extension id `tunnelworks.ssh-tunnels`) gives other extensions:
 * open a tunnel of the person's settings, or one described by a spec, and get a handle that keeps
 * it open while you use it. Copy this file into your extension (it needs only `@types/vscode`)
 * and add `"extensionDependencies": ["tunnelworks.ssh-tunnels"]` (or check that it is installed).
 *
 * @example
 * import * as vscode from 'vscode';
 * import type { SshTunnelsApi } from './ssh-tunnels';
 *
 * export async function activate(context: vscode.ExtensionContext) {
 *   const api = await vscode.extensions.getExtension<SshTunnelsApi>('tunnelworks.ssh-tunnels')?.activate();
 *   if (!api || api.version !== 1) return; // not installed, or a version this code does not know
 *   // A tunnel of the person's settings by name, or a spec: { server: 'db', type: 'local', remotePort: 5432 }.
 *   const tunnel = await api.openTunnel({ name: 'postgres' });
 *   context.subscriptions.push(tunnel); // closes it (if nobody else uses it) when this extension deactivates
 *   connectTo(tunnel.localHost, tunnel.localPort);
 * }
 *
 * The person stays in charge: the first time an extension opens a tunnel, SSH Tunnels asks them
 * (naming the extension and what it wants to open) and remembers the answer for that extension
 * until they take it back (command "SSH Tunnels: Manage Extension Access"). In Restricted Mode
 * every open is refused; a spec may listen on loopback addresses only unless the person allowed
 * more (the setting `sshTunnels.agentTools.allowNonLoopback`, the same rule as for agents).
 *
 * Stability: `version` names the contract this file describes. Within a version, things are only
 * added: new members, new optional fields of a request, new fields of a result, new values of a
 * string union (a state, an error code: treat one you do not know as you would an unknown error).
 * Nothing is removed, renamed or changed in meaning. A change that would break a caller comes with
 * a new version number, announced in the changelog a release ahead; callers check `version`.
 */
import type { Disposable, Event } from 'vscode';

export interface SshTunnelsApi {
  /** The version of this contract: 1. */
  readonly version: 1;

  /**
   * Opens the tunnel a request names and resolves, once it is active, with a handle that keeps it
   * open. A tunnel that already serves the request (opened by the person, the settings, another
   * request, or another VS Code window or `ssh-tunnels up` of the same person) is shared, not
   * opened twice. It closes only when the last handle is disposed and nobody else wants it.
   * Rejects with a {@link SshTunnelsError}: the person said no, Restricted Mode, a bad request, or
   * the tunnel could not open (with the code and message of the failure).
   */
  openTunnel(request: TunnelRequest): Promise<TunnelHandle>;

  /** The tunnels the SSH Tunnels view shows: open here, served by the person's other processes, and stopped ones of the settings. */
  tunnels(): TunnelSummary[];

  /** Fires when a tunnel appears, goes, or changes state or address (not for traffic). */
  readonly onDidChangeTunnels: Event<void>;
}

/** A tunnel of the person's settings (`sshTunnels.tunnels`, or an open tunnel) by name, or a spec. */
export type TunnelRequest = NamedTunnelRequest | TunnelSpecRequest;

export interface NamedTunnelRequest {
  /** The `name` of an entry of `sshTunnels.tunnels`, or of a tunnel that is open. */
  name: string;
}

/** The fields of `sshTunnels.tunnels` entries and of the agent tool `ssh_tunnel_create`. */
export interface TunnelSpecRequest {
  /** A server of `sshTunnels.servers` or a Host of `~/.ssh/config`. */
  server: string;
  /** local (`ssh -L`), remote (`ssh -R`) or dynamic (`ssh -D`, SOCKS5). */
  type: 'local' | 'remote' | 'dynamic';
  /** local, dynamic: where it listens on this machine (default 127.0.0.1). remote: the host connections are delivered to. */
  localHost?: string;
  /** local, dynamic: the port it listens on; 0 or left out: any free port (the handle says which). remote: the port of the service here. */
  localPort?: number;
  /** local: the host to reach, as the server sees it (default localhost). remote: where the server listens (default 127.0.0.1). */
  remoteHost?: string;
  /** local: the port of the service to reach. remote: the port the server listens on (0: the server picks). */
  remotePort?: number;
  /** A Unix socket on this machine instead of localHost:localPort. */
  localPath?: string;
  /** A Unix socket on the server instead of remoteHost:remotePort (e.g. /var/run/docker.sock). */
  remotePath?: string;
  /** remote only: the server's port is a SOCKS proxy reaching what this machine can. */
  socks?: boolean;
  /** A name for the tunnel, shown in the view (ignored when an open tunnel is shared). */
  name?: string;
}

export type TunnelState = 'connecting' | 'active' | 'reconnecting' | 'failed' | 'closed';

/** An open tunnel held for you. Its fields describe the tunnel as it is now. */
export interface TunnelHandle extends Disposable {
  /** The tunnel's id in the view ("t3"; "<process>/t3" for one another process serves); a restart gives a new one. */
  readonly id: string;
  readonly name: string;
  readonly server: string;
  readonly type: 'local' | 'remote' | 'dynamic';
  /** Where to connect on this machine (local, dynamic: a wildcard listen address is given as 127.0.0.1), or where connections are delivered (remote). */
  readonly localHost: string;
  /** The real port (0 asked for any free one); 0 when a socket file (localPath) is used. */
  readonly localPort: number;
  readonly localPath?: string;
  readonly remoteHost?: string;
  /** The real port on the server (remote with port 0: the one the server picked). */
  readonly remotePort?: number;
  readonly remotePath?: string;
  /** `closed` once the person, the settings or its process closed it, or this handle was disposed. */
  readonly state: TunnelState;
  /** Undefined when this VS Code window serves it; otherwise who does ("ssh-tunnels up", "window of folder api"). */
  readonly servedBy?: string;
  /** Fires when `state` changes. */
  readonly onDidChangeState: Event<TunnelState>;
  /** Lets go of the tunnel; it closes if this was its last handle and nobody else wants it. Resolves once done. */
  dispose(): Promise<void>;
}

export interface TunnelSummary {
  /** Undefined for a tunnel of the settings that is stopped. */
  readonly id?: string;
  readonly name: string;
  readonly server: string;
  readonly type: 'local' | 'remote' | 'dynamic';
  /** `stopped`: a tunnel of the settings (or a forward of ~/.ssh/config) that is not open. */
  readonly state: TunnelState | 'stopped';
  readonly localHost?: string;
  readonly localPort?: number;
  readonly localPath?: string;
  readonly remoteHost?: string;
  readonly remotePort?: number;
  readonly remotePath?: string;
  /** Who opened it: the settings, ~/.ssh/config, the person, an agent, or an extension (through this API or a task). */
  readonly openedBy?: 'settings' | 'sshConfig' | 'person' | 'agent' | 'extension';
  /** As on the handle: undefined when this window serves it (or it is stopped). */
  readonly servedBy?: string;
}

/**
 * Why openTunnel refused or failed. `NOT_ALLOWED`: the person said no, Restricted Mode, or a
 * non-loopback address; `UNKNOWN_TUNNEL`: no tunnel has that name; `INVALID_SPEC`: a field is
 * wrong (the message says which); the others are the engine's (`PORT_IN_USE`, `AUTH_FAILED`,
 * `HOST_KEY_UNKNOWN`, `CONNECT_FAILED`, `FORWARD_REFUSED`, `TIMEOUT`, `CANCELLED`, …).
 */
export type SshTunnelsErrorCode =
  | 'NOT_ALLOWED'
  | 'UNKNOWN_TUNNEL'
  | 'INVALID_SPEC'
  | 'UNKNOWN_SERVER'
  | 'PORT_IN_USE'
  | 'LISTEN_FAILED'
  | 'CONNECT_FAILED'
  | 'AUTH_FAILED'
  | 'HOST_KEY_UNKNOWN'
  | 'HOST_KEY_CHANGED'
  | 'HOST_KEY_REVOKED'
  | 'FORWARD_REFUSED'
  | 'CHANNEL_REFUSED'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'CLOSED'
  | 'SERVED_ELSEWHERE'
  | 'PEER_GONE'
  /** Anything else: the message says what. */
  | 'FAILED';

export interface SshTunnelsError extends Error {
  readonly name: 'SshTunnelsError';
  readonly code: SshTunnelsErrorCode;
  /** PORT_IN_USE: a port that was free when the error was made. */
  readonly freePort?: number;
}
