import type { Client } from 'ssh2';
import { clientSocket, sendKeepalive } from '../ssh2';
import type { ServerConfig } from '../base/types';

const DEFAULT_ALIVE_INTERVAL = 15;
const DEFAULT_ALIVE_COUNT = 2;
/** After a wake from sleep, how long the server has at most to answer a probe (less if ServerAlive* says less). */
const WAKE_GRACE_MS = 5000;

/**
 * OpenSSH's ServerAliveInterval: after that much silence from the server send a probe;
 * any traffic from the server counts as alive; after ServerAliveCountMax silent intervals
 * the connection is dead. A tick much later than scheduled means the machine slept or the
 * clock jumped: probe at once. `dead` gets why; the caller drops the connection.
 * Returns the timer to clear, or undefined when ServerAliveInterval is 0 (off).
 */
export function startKeepalive(client: Client, config: ServerConfig, dead: (why: string) => void): NodeJS.Timeout | undefined {
  const intervalMs = (config.serverAliveInterval ?? DEFAULT_ALIVE_INTERVAL) * 1000;
  const countMax = Math.max(1, config.serverAliveCountMax ?? DEFAULT_ALIVE_COUNT);
  if (intervalMs <= 0) return undefined;
  const sock = clientSocket(client);
  let rx = 0;
  sock?.on('data', () => rx++);
  let seenRx = 0;
  let lastRxAt = Date.now();
  let lastProbeAt = 0;
  let lastTick = Date.now();
  let wakeDeadline = 0;
  const tickMs = Math.min(1000, intervalMs / 2);
  const wakeGraceMs = Math.min(WAKE_GRACE_MS, intervalMs * countMax);
  const timer = setInterval(() => {
    const now = Date.now();
    const slept = now - lastTick > Math.max(tickMs * 3, 3000);
    lastTick = now;
    if (slept) {
      // Woken from sleep (or the clock jumped): the path may be gone. Ask now, once the bytes that
      // came during the sleep are read (they run before setImmediate): they do not answer this probe.
      wakeDeadline = now + wakeGraceMs;
      lastRxAt = now; // the sleep is not the server's silence: only the grace decides
      setImmediate(() => {
        seenRx = rx;
        lastProbeAt = Date.now();
        sendKeepalive(client);
      });
      return;
    }
    if (rx !== seenRx) {
      seenRx = rx;
      lastRxAt = now;
      wakeDeadline = 0;
      return;
    }
    if (wakeDeadline && now >= wakeDeadline) {
      return dead(`No answer from the server within ${wakeGraceMs / 1000}s after the machine woke`);
    }
    const silence = now - lastRxAt;
    if (silence >= intervalMs * countMax && lastProbeAt > lastRxAt) {
      return dead(`No answer from the server for ${Math.round(silence / 1000)}s (ServerAliveInterval ${intervalMs / 1000}s × ServerAliveCountMax ${countMax})`);
    }
    if (silence >= intervalMs && now - lastProbeAt >= intervalMs) {
      lastProbeAt = now;
      sendKeepalive(client);
    }
  }, tickMs);
  timer.unref();
  return timer;
}
