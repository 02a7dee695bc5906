// What bench/editorLoop.ts (the bench's side) and bench/editorLoopHost.ts (run in VS Code's
// extension host) share: the parameters passed in, the samples written back.

/** What bench/editorLoop.ts passes in env SSH_TUNNELS_EDITOR_LOOP. */
export interface EditorLoopParams {
  server: string;
  iperfPort: number;
  /** The echo service the churn phase connects to, and the bundled bench/editorChurn.ts. */
  echoPort: number;
  churnScript: string;
  churnSeconds: number;
  idleSeconds: number;
  bulkSeconds: number;
  rounds: number;
  /** monitorEventLoopDelay's sampling interval. */
  resolutionMs: number;
  /** Where the samples are written, as JSON (EditorLoopSample[]). */
  out: string;
  /** When set: a CPU profile of each phase is written here (<phase>-<round>-<view>.cpuprofile). */
  profileDir?: string;
}

export interface EditorLoopSample {
  round: number;
  view: 'hidden' | 'visible';
  phase: 'idle' | 'bulk' | 'churn';
  /** Whether the tunnels view was visible when the phase ended (the stats refresh timer runs only then). */
  treeVisible: boolean;
  seconds: number;
  /** Event-loop delay, ms. */
  p50: number;
  p99: number;
  max: number;
  /** Garbage collection pauses in the phase: the longest and the sum, ms, and by kind (minor, major, incremental, weakcb). */
  gcMaxMs: number;
  gcTotalMs: number;
  gcByKind: Record<string, { count: number; maxMs: number; totalMs: number }>;
  /** The extension host's V8 heap in use when the phase ended, MB. */
  heapMB: number;
  /** Tree items refreshed during the phase (the 2 s stats timer while the view is visible). */
  treeRefreshes: number;
  /** Turns that ran late by more than STALL_MS, longest first (at most 5), and how many there were. */
  stalls: Stall[];
  stallCount: number;
  /**
   * The delay less the time the main thread waited for a CPU, p99 and max (ms): what remains
   * when the machine's other processes are taken out (NaN without /proc/…/schedstat).
   */
  ownP99: number;
  ownMax: number;
  /** Tunnel change events the engine fired during the phase (what the tree and the status bar listen to). */
  tunnelEvents: number;
  /** Bulk only: iperf3's received rate, and the extension host's CPU seconds per GB carried. */
  mbps?: number;
  cpuSecondsPerGB?: number;
  /** Churn only: connections per second made, and the extension host's CPU ms per connection. */
  connPerSecond?: number;
  cpuMsPerConnection?: number;
}

/**
 * A late timer, taken apart with the main thread's scheduler counters
 * (/proc/self/task/PID/schedstat): `runMs` on a CPU (our JavaScript, and GC on the main
 * thread), `waitMs` runnable but waiting for a CPU (the machine's other processes), `gcMs` of
 * garbage collection within it.
 */
export interface Stall {
  delayMs: number;
  runMs: number;
  waitMs: number;
  gcMs: number;
}

/** A timer this late (beyond its interval) is a stall worth taking apart. */
export const STALL_MS = 15;
