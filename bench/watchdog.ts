// Bounds on every wait of the bench: a tool that stalls (iperf3, a client, ssh, the engine host)
// ends its measurement with an error naming the step, instead of a run that never finishes.

/**
 * Settles as `promise` does, or rejects after `ms` with "`what` within N s" (e.g. "iperf3 gave
 * no result within 24 s"), after `onStall` (which ends the stalled tool).
 */
export function within<T>(promise: Promise<T>, ms: number, what: string, onStall?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onStall?.();
      reject(new Error(`${what} within ${seconds(ms)} s`));
    }, ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Runs `run`; an error it throws is prefixed with `step` ("throughput -L upload (iperf3), engine: …"). */
export async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(message.startsWith(`${name}: `) ? message : `${name}: ${message}`, { cause: err });
  }
}

export function seconds(ms: number): string {
  return Number.isInteger(ms / 1000) ? String(ms / 1000) : (ms / 1000).toFixed(1);
}
