/** Settings for one server. Field names follow OpenSSH's ssh_config keywords in camelCase. */
export interface ServerConfig {
  /** The alias people type (`Host` in ssh_config); unique. */
  alias: string;
  hostName?: string;
  port?: number;
  user?: string;
  identityFile?: string | string[];
  /** OpenSSH user certificates to offer (CertificateFile), each signed by the identity file holding its key. Without it, each identity file's `KEY-cert.pub` is offered after the key. */
  certificateFile?: string | string[];
  identitiesOnly?: boolean;
  /** Only for tests and for a prompt's answer; never read from settings. */
  password?: string;
  /** Private key contents, for callers that hold the key in memory (tests, demo). */
  privateKey?: string | Buffer;
  passphrase?: string;
  /** macOS: the key's passphrase may be kept in the Keychain (UseKeychain); a key that needs one is then pointed at `ssh-add --apple-load-keychain`. */
  useKeychain?: boolean;
  /** Path of an ssh-agent socket or Windows named pipe; defaults to SSH_AUTH_SOCK (on Windows, then the OpenSSH agent's pipe, then Pageant's). `false` disables the agent. */
  identityAgent?: string | false;
  proxyJump?: string;
  /** Command whose stdin/stdout carry the SSH connection (ProxyCommand), %h %p %r %n not yet expanded. */
  proxyCommand?: string;
  /** Remove a stale Unix socket file before listening on it (StreamLocalBindUnlink). */
  streamLocalBindUnlink?: boolean;
  userKnownHostsFile?: string | string[];
  /** System-wide known_hosts, read but never written (GlobalKnownHostsFile). Defaults to /etc/ssh/ssh_known_hosts and ssh_known_hosts2. */
  globalKnownHostsFile?: string | string[];
  strictHostKeyChecking?: 'yes' | 'accept-new' | 'no';
  /** Seconds of silence from the server before a keepalive probe; 0 disables. */
  serverAliveInterval?: number;
  serverAliveCountMax?: number;
  /** The algorithm lists, already assembled (`+`, `-`, `^` applied) and limited to what ssh2 can use. */
  ciphers?: string[];
  macs?: string[];
  kexAlgorithms?: string[];
  hostKeyAlgorithms?: string[];
  /**
   * HostKeyAlgorithms was written as a list (or with `^`), so it is offered as it is; unset, or
   * with `+` or `-`, ssh puts certificate algorithms first when a @cert-authority line names the host.
   */
  hostKeyAlgorithmsVerbatim?: boolean;
  /** Key algorithms offered for publickey logins: keys of other types are not offered. */
  pubkeyAcceptedAlgorithms?: string[];
  /** The name host keys are looked up and remembered under in known_hosts, instead of host:port. */
  hostKeyAlias?: string;
  /** Write new known_hosts lines hashed (`|1|salt|hash`), as ssh does with HashKnownHosts yes. */
  hashKnownHosts?: boolean;
  /** Seconds to wait for the TCP connection and the SSH handshake. */
  connectTimeout?: number;
}

export interface ServerSource {
  list(): ServerConfig[];
  get(name: string): ServerConfig | undefined;
  /**
   * Settings for a ProxyJump hop that is not a listed server (`ProxyJump bastion.corp`),
   * computed as ssh would from patterns such as `Host *.corp`. Optional.
   */
  resolveHost?(hostName: string): ServerConfig | undefined;
  /** The error for a name get() does not know: a broken entry's own problem, or what exists. Optional. */
  unknownServerError?(name: string): Error;
  /**
   * A promise to await before get(name) when the source still has work for it that should not
   * block (a command of the config to run), or undefined when get() answers at once. Optional.
   */
  whenReady?(name: string): Promise<void> | undefined;
}

export type HostKeyAnswer = 'trust-remember' | 'trust-once' | 'reject';

export interface HostKeyQuestion {
  server: string;
  host: string;
  port: number;
  keyType: string;
  /** `SHA256:…` as OpenSSH prints it. */
  fingerprint: string;
}

/** What only a person can answer. Every method may be missing; the engine then fails clearly. */
export interface Prompts {
  password?(server: string, user: string): Promise<string | undefined>;
  /** `retry` is a note for the person to see before answering: why it is asked again (the last passphrase was wrong), or where the passphrase may be (the macOS Keychain). */
  passphrase?(server: string, keyPath: string, retry?: string): Promise<string | undefined>;
  keyboardInteractive?(
    server: string,
    name: string,
    instructions: string,
    prompts: { prompt: string; echo: boolean }[],
  ): Promise<string[] | undefined>;
  hostKey?(question: HostKeyQuestion): Promise<HostKeyAnswer>;
  /**
   * A security key held by the agent is about to sign for `server`: the person should touch it.
   * `key` names it as ssh does ("ED25519-SK SHA256:…"); the returned function is called when
   * the signing ends (signed, refused or failed), to take the notice away.
   */
  touchKey?(server: string, key: string): () => void;
}

export type TunnelType = 'local' | 'remote' | 'dynamic';
export const TUNNEL_TYPES: readonly TunnelType[] = ['local', 'remote', 'dynamic'];

/**
 * Who opened a tunnel: the tree and the agent tools show it; only a person's are restored after a
 * reload. `extension`: for another part of VS Code (an extension through the API, a task, a launch
 * configuration's variable), held while it is used.
 */
export type TunnelOrigin = 'settings' | 'sshConfig' | 'person' | 'agent' | 'extension';

export type TunnelState = 'connecting' | 'active' | 'reconnecting' | 'failed' | 'closed';

/**
 * Why a tunnel closed, carried by its last change event: `person` (the close command, the tree,
 * another process asking for a person), `agent` (an agent tool), `settings` (its entry changed or
 * went away), `shutdown` (the program or window ends), `failed` (it could not open), `cancelled`
 * (its open was cancelled), `replaced` (a restart closes the old one), `extension` (what it was
 * opened for let go of it: the last handle of an extension, a task that ended).
 */
export type CloseReason = 'person' | 'agent' | 'settings' | 'shutdown' | 'failed' | 'cancelled' | 'replaced' | 'extension';

export interface TunnelSpec {
  server: string;
  type: TunnelType;
  localHost?: string;
  localPort: number;
  remoteHost?: string;
  remotePort?: number;
  name?: string;
  /** Unix socket: local type listens on it (instead of localHost:localPort); remote type connects each connection to it. */
  localPath?: string;
  /** Unix socket on the server: local type opens direct-streamlocal to it; remote type has the server listen on it. */
  remotePath?: string;
  /** Remote type only: the server's port is a SOCKS proxy reaching what this machine can (`-R [addr:]port`). */
  socks?: boolean;
  /** Defaults to `person`. */
  openedBy?: TunnelOrigin;
  /** Local type only: while no connection runs, check now and then that something listens at the target (targetError says when not). */
  watchRemotePort?: boolean;
}

export interface TunnelStats {
  /** Bytes from the SSH side delivered to the local socket. */
  bytesIn: number;
  /** Bytes from the local socket sent into SSH. */
  bytesOut: number;
  connectionsTotal: number;
  connectionsActive: number;
  /** Of the active ones, those waiting for the SSH connection to come up (at start or during a redial). */
  connectionsWaiting: number;
  errors: number;
}

export interface TunnelInfo {
  id: string;
  /** The given name, or the default one: what it forwards, with the bound ports (`L 45123 → db:5432`), distinct within its manager. */
  name: string;
  /** Whether the name was given (in the spec) rather than made from what the tunnel forwards. */
  nameGiven: boolean;
  server: string;
  type: TunnelType;
  state: TunnelState;
  localHost: string;
  localPort: number;
  remoteHost?: string;
  remotePort?: number;
  /** The local Unix socket, when one replaces localHost:localPort. */
  localPath?: string;
  /** The server's Unix socket, when one replaces remoteHost:remotePort. */
  remotePath?: string;
  /** A remote tunnel whose server port is a SOCKS proxy. */
  socks?: boolean;
  stats: TunnelStats;
  createdAt: number;
  lastActivity: number;
  lastError?: string;
  /**
   * Why the last connection could not reach where the tunnel leads (-L: the server could not
   * connect to remoteHost:remotePort; -R: nothing answered at localHost:localPort here), until a
   * connection reaches it again. The tunnel itself stays active.
   */
  targetError?: string;
  openedBy: TunnelOrigin;
  /** The target is checked while the tunnel is idle (watchRemotePort). */
  watchRemotePort?: boolean;
  /** Set on the event of a closed tunnel: why it closed. */
  closeReason?: CloseReason;
}

export type ServerState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'failed';

export interface ServerStatus {
  name: string;
  state: ServerState;
  tunnels: number;
  /** Channels open on its SSH connection now (forwarded connections, both ways), while it has one. */
  channels?: number;
  lastError?: string;
  /** The code of the last error when it had one (HOST_KEY_CHANGED, AUTH_FAILED, …), so callers need not read its wording. */
  lastErrorCode?: string;
  /** While reconnecting: the number of the next redial (1 for the first) and when it is due (ms since the epoch). */
  attempt?: number;
  nextAttemptAt?: number;
}
