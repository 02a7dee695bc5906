/**
 * Small corrections to ssh2's data path, applied once when the engine loads. Each one keeps
 * ssh2's behaviour and only removes work it did for nothing.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Channel } = require('ssh2/lib/Channel.js') as { Channel: { prototype: ChannelLike } };

interface ChannelLike {
  writableEnded: boolean;
  end(): void;
  close(): void;
  destroy(): ChannelLike;
}

/**
 * `Channel.destroy()` calls `end()` even when the writable side has already ended, which is
 * every time a forwarded connection closes normally (stream auto-destroy, then our own
 * discard). Node answers such an `end()` by building an ERR_STREAM_ALREADY_FINISHED error,
 * stack trace and all, and dropping it: about 8% of the engine's CPU per connection.
 */
function skipRepeatedEnd(): boolean {
  if (typeof Channel?.prototype.end !== 'function' || typeof Channel.prototype.close !== 'function') return false;
  Channel.prototype.destroy = function destroy(this: ChannelLike) {
    if (!this.writableEnded) this.end();
    this.close();
    return this;
  };
  return true;
}

/** Whether each correction is in place (false if ssh2 no longer looks as expected). */
export const ssh2Fixes = { skipRepeatedEnd: skipRepeatedEnd() };
