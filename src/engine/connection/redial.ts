import { probeSsh } from './probe';

/** Between a probe that found the server answering and the redial it calls for. */
const PROBE_SETTLE_MS = 200;

export interface ReconnectPolicy {
  /** First delay before a redial, in ms. */
  baseDelayMs: number;
  /** Longest delay between redials, in ms. */
  maxDelayMs: number;
  /** Redials before giving up; Infinity keeps trying. */
  maxAttempts: number;
  /** A first connect that cannot reach the server is redialled as a dropped one is (a command that waits for its server). */
  retryFirstConnect?: boolean;
  /** A refused host key or login is redialled too, instead of stopping (the person fixes known_hosts meanwhile). */
  retryRefusals?: boolean;
}

/** The next redial, while the session waits to reconnect. */
export interface RetrySchedule {
  /** 1 for the first redial. */
  attempt: number;
  /** When it is due (ms since the epoch). */
  at: number;
}

export interface RedialHooks {
  /** Dials; when it fails, the session calls `schedule()` again (or gives up for its own reasons). */
  dial(): void;
  /** Where to probe for the server coming back, or undefined to redial on the timer only (through a ProxyCommand). */
  probeTarget(): { host: string; port: number } | undefined;
  /** Whether a probe's answer may cut the wait short: only after a failure of the network, not a refused login. */
  probeMayCutWait(): boolean;
  /** A redial is scheduled (each failed one schedules the next). */
  scheduled(next: RetrySchedule): void;
  /** `maxAttempts` redials failed: no more are scheduled. */
  gaveUp(attempts: number): void;
}

/**
 * When a dropped connection is dialled again: backoff with jitter between redials, a cheap probe
 * meanwhile that notices the server back within about a second, and a limit on attempts.
 */
export class Redial {
  private timer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private _next: RetrySchedule | undefined;

  constructor(
    private readonly policy: ReconnectPolicy,
    private readonly hooks: RedialHooks,
  ) {}

  /** The redial scheduled last, until the connection is back. */
  get next(): RetrySchedule | undefined {
    return this._next;
  }

  /** Connected: the next drop starts the backoff afresh. */
  reset(): void {
    this.attempts = 0;
    this._next = undefined;
  }

  /** Schedules the next redial (at once with `immediate`), unless one is already waiting. */
  schedule(immediate = false): void {
    if (this.timer) return;
    const { baseDelayMs, maxDelayMs, maxAttempts } = this.policy;
    if (this.attempts >= maxAttempts) {
      this.hooks.gaveUp(this.attempts);
      return;
    }
    const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** this.attempts);
    // Full jitter on the upper half, so many clients do not redial in lockstep.
    const delay = immediate ? 0 : backoff / 2 + Math.random() * (backoff / 2);
    this.attempts++;
    const dueAt = Date.now() + delay;
    this._next = { attempt: this.attempts, at: dueAt };
    this.hooks.scheduled(this._next);
    const redial = () => {
      this.cancel();
      this.hooks.dial();
    };
    if (delay === 0) {
      this.timer = setTimeout(redial, 0);
      return;
    }
    // While waiting out the backoff, a cheap TCP probe notices the server coming back,
    // so the redial happens within about a second of it being reachable again.
    const target = this.hooks.probeTarget();
    if (!target) {
      this.timer = setTimeout(redial, delay);
      return;
    }
    let probing = false;
    const timer = setInterval(() => {
      if (Date.now() >= dueAt) return redial();
      if (probing) return;
      probing = true;
      void probeSsh(target.host, target.port).then((answered) => {
        probing = false;
        if (!answered || this.timer !== timer || !this.hooks.probeMayCutWait()) return;
        // Let the server forget the probe first: under a tight MaxStartups it would refuse the redial.
        clearInterval(timer);
        this.timer = setTimeout(redial, PROBE_SETTLE_MS);
      });
    }, Math.min(1000, Math.max(50, delay / 2)));
    this.timer = timer;
  }

  /** Redials now instead of waiting out the backoff (a wake from sleep, a network change). */
  now(): void {
    this.cancel();
    this.schedule(true);
  }

  /** No redial is waiting any more. */
  cancel(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
