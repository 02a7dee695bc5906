// What the API rejects with: one error type (name SshTunnelsError) with the engine's code and
// message, or the code of a refusal (NOT_ALLOWED, UNKNOWN_TUNNEL, INVALID_SPEC), as api/ssh-tunnels.d.ts says.
import type * as Published from 'ssh-tunnels-api';
import { errorMessage, TunnelError } from '../../engine';
import { ToolError } from '../../tools';

export class SshTunnelsError extends Error implements Published.SshTunnelsError {
  override readonly name = 'SshTunnelsError' as const;

  constructor(
    readonly code: Published.SshTunnelsErrorCode,
    message: string,
    readonly freePort?: number,
  ) {
    super(message);
  }
}

const TOOL_CODES: Record<ToolError['code'], Published.SshTunnelsErrorCode> = {
  INVALID_INPUT: 'INVALID_SPEC',
  UNKNOWN_SERVER: 'UNKNOWN_SERVER',
  NOT_ALLOWED: 'NOT_ALLOWED',
  PORT_IN_USE: 'PORT_IN_USE',
  CANCELLED: 'CANCELLED',
  FAILED: 'FAILED',
};

/** Any failure as the API's error: the engine's code and message kept, a free port passed on. */
export function apiError(err: unknown): SshTunnelsError {
  if (err instanceof SshTunnelsError) return err;
  if (err instanceof TunnelError) {
    const suggestion = err.details.suggestion;
    // COMMAND_REFUSED comes only from listing a server's ports, which the API does not offer.
    const code = err.code === 'COMMAND_REFUSED' ? 'FAILED' : err.code;
    return new SshTunnelsError(code, err.message, typeof suggestion === 'number' ? suggestion : undefined);
  }
  if (err instanceof ToolError) return new SshTunnelsError(TOOL_CODES[err.code], err.message);
  return new SshTunnelsError('FAILED', errorMessage(err));
}
