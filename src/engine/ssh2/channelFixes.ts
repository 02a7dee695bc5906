/**
 * Small corrections to ssh2's channels. Each keeps ssh2's behaviour and only removes work it
 * did for nothing.
 */
import { notFunctions, type Ssh2Internals } from './internals';

interface ChannelLike {
  type: string;
  server: boolean;
  writableEnded: boolean;
  end(): void;
  close(): void;
  destroy(): ChannelLike;
}

/** Channel types that carry a byte stream and never stderr (RFC 4254 7.2; OpenSSH's streamlocal ones). */
const STREAM_CHANNELS = new Set(['direct-tcpip', 'forwarded-tcpip', 'direct-streamlocal@openssh.com', 'forwarded-streamlocal@openssh.com']);

/**
 * What a stream channel has for stderr: inert, like ssh2's own SFTP `fakeStderr`. ssh2 reads
 * `readable` before it ends or closes a stderr, and drops extended data into `push`
 * (true: the window still adjusts).
 */
export const NO_STDERR = Object.freeze({
  readable: false,
  writable: false,
  push: () => true,
  once: () => NO_STDERR,
  on: () => NO_STDERR,
  emit: () => false,
  end: () => undefined,
});

export function channelShapeProblems(found: Ssh2Internals): string[] {
  const proto = found.Channel?.prototype;
  const problems = notFunctions('Channel.prototype', proto, ['end', 'close', 'destroy', '_read']);
  if (proto && Object.getOwnPropertyDescriptor(proto, 'stderr')?.set === undefined && 'stderr' in proto) problems.push('Channel.prototype.stderr already exists');
  return problems;
}

export function installChannelFixes(found: Ssh2Internals): void {
  const proto = found.Channel.prototype as unknown as ChannelLike;

  // `Channel.destroy()` calls `end()` even when the writable side has already ended, which is
  // every time a forwarded connection closes normally (stream auto-destroy, then our own
  // discard). Node answers such an `end()` by building an ERR_STREAM_ALREADY_FINISHED error,
  // stack trace and all, and dropping it: about 8% of the engine's CPU per connection.
  proto.destroy = function destroy(this: ChannelLike) {
    if (!this.writableEnded) this.end();
    this.close();
    return this;
  };

  // ssh2 gives every client channel a stderr Readable; a tcpip channel never carries stderr,
  // yet ended and closed that stream (a tick and two events each) with every connection.
  // The Channel constructor sets `type` before `stderr`, so the setter can tell.
  Object.defineProperty(proto, 'stderr', {
    configurable: true,
    get: () => undefined,
    set(this: ChannelLike, value: unknown) {
      const stderr = !this.server && STREAM_CHANNELS.has(this.type) ? NO_STDERR : value;
      Object.defineProperty(this, 'stderr', { value: stderr, writable: true, configurable: true, enumerable: true });
    },
  });
}

/** Problems seen in channels built after `installChannelFixes`: the constructor must still set `type` before `stderr`. */
export function channelProbeProblems(found: Ssh2Internals): string[] {
  const Channel = found.Channel as unknown as new (client: object, info: object) => { stderr: unknown };
  const side = () => ({ id: 0, window: 0, packetSize: 0, state: 'open' });
  const tcpip = new Channel({}, { type: 'direct-tcpip', incoming: side(), outgoing: side() });
  const session = new Channel({}, { type: 'session', incoming: side(), outgoing: side() });
  const problems: string[] = [];
  if (tcpip.stderr !== NO_STDERR) problems.push('a direct-tcpip Channel still gets a stderr stream');
  if (typeof (session.stderr as { on?: unknown } | undefined)?.on !== 'function') problems.push('a session Channel lost its stderr stream');
  return problems;
}
