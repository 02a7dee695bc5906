/**
 * Small corrections to ssh2's channels. Each keeps ssh2's behaviour and only removes work it
 * did for nothing.
 */
import { Readable } from 'node:stream';
import { notFunctions, type Ssh2Internals } from './internals';

interface ChannelLike {
  type: string;
  server: boolean;
  writableEnded: boolean;
  end(): void;
  close(): void;
  destroy(): ChannelLike;
}

type ChannelClass = new (client: object, info: object) => { stderr: object };

const CHANNEL_TYPE = Symbol('ssh2 channel type');

/** Channel types that carry a byte stream and never stderr (RFC 4254 7.2; OpenSSH's streamlocal ones). */
const STREAM_CHANNELS = new Set(['direct-tcpip', 'forwarded-tcpip', 'direct-streamlocal@openssh.com', 'forwarded-streamlocal@openssh.com']);

/**
 * What a stream channel has for stderr: inert, like ssh2's own SFTP `fakeStderr`. ssh2 reads
 * `readable` before it ends or closes a stderr, and drops extended data into `push`
 * (true: the window still adjusts). `_channel` ignores what ssh2's stderr constructor stores.
 */
export const NO_STDERR = Object.freeze({
  readable: false,
  writable: false,
  push: () => true,
  once: () => NO_STDERR,
  on: () => NO_STDERR,
  emit: () => false,
  end: () => undefined,
  get _channel() {
    return undefined;
  },
  set _channel(_: unknown) {
    // Shared by every stream channel: it must not hold on to one of them.
  },
});

/** Set while a client stream channel is being constructed: its stderr is to be NO_STDERR. */
let inertStderrNext = false;
/** Stderr Readables ssh2 has built since install (session channels only). */
let stderrStreamsBuilt = 0;
/** What ssh2's `ClientStderr` extends once installed, so a later check knows it for ours. */
let installedStderrBase: unknown;

/** How many stderr streams ssh2 has built since the adapter was installed: tcpip channels add none. */
export function stderrStreamCount(): number {
  return stderrStreamsBuilt;
}

const side = () => ({ id: 0, window: 0, packetSize: 0, state: 'open' });

/** ssh2's `ClientStderr` class (not exported), found from a session channel's stderr. */
function clientStderrClass(found: Ssh2Internals): (new (...args: unknown[]) => object) | undefined {
  const Channel = found.Channel as unknown as ChannelClass;
  const stderr = new Channel({}, { type: 'session', incoming: side(), outgoing: side() }).stderr;
  const ctor = (Object.getPrototypeOf(stderr) as { constructor?: unknown } | null)?.constructor;
  return typeof ctor === 'function' && ctor.prototype instanceof Readable ? (ctor as new (...args: unknown[]) => object) : undefined;
}

export function channelShapeProblems(found: Ssh2Internals): string[] {
  const proto = found.Channel?.prototype;
  const problems = notFunctions('Channel.prototype', proto, ['end', 'close', 'destroy', '_read']);
  if (proto && Object.getOwnPropertyDescriptor(proto, 'type')?.set === undefined && 'type' in proto) problems.push('Channel.prototype.type already exists');
  if (typeof found.Channel !== 'function') return [...problems, 'Channel is not a constructor'];
  const ClientStderr = clientStderrClass(found);
  if (!ClientStderr) problems.push("a session Channel's stderr is not a Readable");
  else if (Object.getPrototypeOf(ClientStderr) !== Readable && Object.getPrototypeOf(ClientStderr) !== installedStderrBase) problems.push('ClientStderr does not extend Readable directly');
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

  // ssh2 builds a stderr Readable for every client channel; a tcpip channel never carries
  // stderr, yet built, ended and closed one (a tick and two events) with every connection.
  // The constructor sets `server` and `type`, then builds `new ClientStderr(...)`, whose
  // `super()` is made to hand back NO_STDERR for a stream channel instead of a Readable.
  // The type is kept under a symbol: defining an own `type` on each channel cost as much as the rest of its set-up.
  Object.defineProperty(proto, 'type', {
    configurable: true,
    get(this: ChannelLike & { [CHANNEL_TYPE]?: string }) {
      return this[CHANNEL_TYPE];
    },
    set(this: ChannelLike & { [CHANNEL_TYPE]?: string }, value: string) {
      this[CHANNEL_TYPE] = value;
      inertStderrNext = !this.server && STREAM_CHANNELS.has(value);
    },
  });
  const ClientStderr = clientStderrClass(found)!;
  function StderrBase(this: unknown, ...args: unknown[]): object {
    if (inertStderrNext) {
      inertStderrNext = false;
      return NO_STDERR;
    }
    stderrStreamsBuilt++;
    return Reflect.construct(Readable, args, new.target);
  }
  Object.setPrototypeOf(StderrBase, Readable); // Readable's statics, as before
  Object.setPrototypeOf(ClientStderr, StderrBase);
  installedStderrBase = StderrBase;
}

/** Problems seen in channels built after `installChannelFixes`: the constructor must still set `type` before it builds stderr. */
export function channelProbeProblems(found: Ssh2Internals): string[] {
  const Channel = found.Channel as unknown as ChannelClass;
  const before = stderrStreamsBuilt;
  const tcpip = new Channel({}, { type: 'direct-tcpip', incoming: side(), outgoing: side() });
  const built = stderrStreamsBuilt - before;
  const session = new Channel({}, { type: 'session', incoming: side(), outgoing: side() });
  const problems: string[] = [];
  if (tcpip.stderr !== NO_STDERR || built !== 0) problems.push('a direct-tcpip Channel still gets a stderr stream');
  if (!(session.stderr instanceof Readable) || inertStderrNext) problems.push('a session Channel lost its stderr stream');
  return problems;
}
