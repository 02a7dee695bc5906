export type TunnelErrorCode =
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
  /** The server ran no command of ours (ForceCommand, a restricted shell), or has no tool that tells what it needs. */
  | 'COMMAND_REFUSED'
  /** Another process serves the tunnel, or has ended while asked to act on one. */
  | 'SERVED_ELSEWHERE'
  | 'PEER_GONE';

/** Failures that waiting does not fix (a host key refused, a login refused): security and credentials win over availability. */
export const REFUSALS: readonly string[] = ['HOST_KEY_CHANGED', 'HOST_KEY_REVOKED', 'HOST_KEY_UNKNOWN', 'AUTH_FAILED'] satisfies TunnelErrorCode[];

/**
 * What broke an SSH connection, or a dial of one, below its TunnelError code: `unreachable` (no
 * TCP connection), `timeout` (no answer within ConnectTimeout), `closed` (the server or the path
 * closed it), `reset` (the socket broke), `silent` (keepalives unanswered), `corrupt` (a packet
 * failed its integrity check), `protocol` (anything else ssh2 reports), `algorithms` (none in
 * common), `proxy` (the ProxyCommand ended), `jump` (a jump host could not reach the next hop).
 */
export type LinkFailure = 'unreachable' | 'timeout' | 'closed' | 'reset' | 'silent' | 'corrupt' | 'protocol' | 'algorithms' | 'proxy' | 'jump';

/** Failures that end once the server answers again: only after these does a redial follow a probe's answer. */
export const NETWORK_FAILURES: readonly LinkFailure[] = ['unreachable', 'timeout', 'closed', 'reset', 'silent'];

/** Socket error codes of a broken or unreachable network path. */
const NETWORK_ERRNOS: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN']);

/**
 * The link failure of an error ssh2 or a socket reported: a socket error (ssh2's level
 * `client-socket`, or an errno of a broken path) is `reset`, ssh2's own error for a connection
 * closed before the server's greeting is `closed`, its timeout `timeout`; the rest is `protocol`.
 */
export function socketFailure(err: unknown): LinkFailure {
  const e = err as (NodeJS.ErrnoException & { level?: string }) | undefined;
  if (e?.level === 'client-socket' || (e?.code !== undefined && NETWORK_ERRNOS.has(e.code))) return 'reset';
  if (e?.level === 'client-timeout') return 'timeout';
  // ssh2 gives this one no code: its message is the only mark (client.js, makeError).
  if (e?.level === 'protocol' && e.message === 'Connection lost before handshake') return 'closed';
  return 'protocol';
}

/** An error whose message a person can act on; `code` lets callers offer a way out. */
export class TunnelError extends Error {
  constructor(
    readonly code: TunnelErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** For a failed dial: what broke the link, where the session decides how to redial. */
    readonly failure?: LinkFailure,
  ) {
    super(message);
    this.name = 'TunnelError';
  }
}

/** The link failure behind an error of a dial, when it has one. */
export function linkFailureOf(err: unknown): LinkFailure | undefined {
  if (!(err instanceof TunnelError)) return undefined;
  return err.failure ?? (err.code === 'TIMEOUT' ? 'timeout' : undefined);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
