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
  /** Another process serves the tunnel, or has ended while asked to act on one. */
  | 'SERVED_ELSEWHERE'
  | 'PEER_GONE';

/** Failures that waiting does not fix (a host key refused, a login refused): security and credentials win over availability. */
export const REFUSALS: readonly string[] = ['HOST_KEY_CHANGED', 'HOST_KEY_REVOKED', 'HOST_KEY_UNKNOWN', 'AUTH_FAILED'] satisfies TunnelErrorCode[];

/** An error whose message a person can act on; `code` lets callers offer a way out. */
export class TunnelError extends Error {
  constructor(
    readonly code: TunnelErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'TunnelError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
