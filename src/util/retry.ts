// Owns waiting for something to happen: one loop with an interval, a
// deadline and an abort signal, instead of a hand-written loop per caller.

export interface RetryOptions {
  /** Wait between attempts. */
  intervalMs: number;
  /** Give up this long after the first attempt. */
  timeoutMs: number;
  /** Stops waiting at once (the attempt in flight finishes first). */
  signal?: AbortSignal;
}

/**
 * Calls `attempt` until it returns something other than undefined, and
 * returns that; undefined when the time is up or the signal aborted. An
 * attempt that throws ends the wait with its error.
 */
export async function retryUntil<T>(attempt: () => Promise<T | undefined> | T | undefined, opts: RetryOptions): Promise<T | undefined> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (opts.signal?.aborted) return undefined;
    const value = await attempt();
    if (value !== undefined) return value;
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await sleep(Math.min(opts.intervalMs, left), opts.signal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // An abort before the wait starts would never fire its event.
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
