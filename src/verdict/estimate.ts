// Owns the statistics of one cache's counts: objects kept per packet as an
// estimate with a confidence interval. Every sample is taken after a route
// flush and settling, so the change of the count across one phase (idle or
// traffic) is what that phase kept. The model, fitted by least squares:
//
//   kept in phase j = drift + rate[segment of j] x packets received in j + noise
//
// `drift` is what every phase keeps whatever the traffic (host churn in a
// container, a guest command's own allocations), measured by the idle
// phases; the noise is the scatter left around the fit, measured in the
// same run, never assumed (floored at half an object: counts are integers).
// The interval adds the counting spread of the kept objects themselves
// (Poisson: a leak that keeps an object now and then scatters by sqrt(n)),
// and its upper end is never below the exact Poisson limit for the objects
// seen, so "no leak" always says how small a leak could have been missed.
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import gammaQuantile from '@stdlib/stats-base-dists-gamma-quantile';

/** One phase's contribution: objects kept (change of the settled count) for packets received. */
export interface Increment {
  objects: number;
  packets: number;
  /** 0 before any mid-run change, i after the i-th. */
  segment: number;
  traffic: boolean;
}

export interface RateEstimate {
  /** Objects kept per packet received. */
  rate: number;
  /** The interval at `level` (two-sided). */
  low: number;
  high: number;
  level: number;
  packets: number;
  /** Objects kept by the traffic: the increments' sum less the drift of as many phases. */
  kept: number;
  trafficPhases: number;
}

export interface Fit {
  segments: RateEstimate[];
  /** Objects every phase keeps regardless of traffic (from the idle phases). */
  drift: number;
  /** Standard deviation of one phase's count around the fit (objects), after the floor. */
  noise: number;
  /** Degrees of freedom left for the noise. */
  df: number;
}

/** Counts are integers: no run can claim less noise than this (objects per phase). */
export const NOISE_FLOOR = 0.5;

/** Fits drift and one rate per segment; `level` is the two-sided confidence of each interval. */
export function fitRates(incs: Increment[], segmentCount: number, level: number): Fit {
  // A segment in which the kernel counted no unit of work (a counter the
  // workload never moved) says nothing of its rate: its phases inform only
  // the drift, and its own rate is unbounded (never a "no leak").
  const counted = Array.from({ length: segmentCount }, (_, s) => incs.some((inc) => inc.segment === s && inc.packets > 0));
  const column = counted.map((c, s) => (c ? 1 + counted.slice(0, s).filter(Boolean).length : -1));
  const p = 1 + counted.filter(Boolean).length;
  const rows = incs.map((inc) => {
    const x = new Array<number>(p).fill(0);
    x[0] = 1;
    if (column[inc.segment] > 0) x[column[inc.segment]] = inc.packets;
    return x;
  });
  const ys = incs.map((inc) => inc.objects);
  const xtx = Array.from({ length: p }, (_, a) => Array.from({ length: p }, (_, b) => rows.reduce((s, x) => s + x[a] * x[b], 0)));
  const xty = Array.from({ length: p }, (_, a) => rows.reduce((s, x, j) => s + x[a] * ys[j], 0));
  const inv = invert(xtx);
  if (!inv) throw new Error('fitRates: the run needs an idle phase (the protocol guarantees one)');
  const beta = inv.map((row) => row.reduce((s, v, b) => s + v * xty[b], 0));
  const rss = rows.reduce((s, x, j) => s + (ys[j] - x.reduce((t, v, a) => t + v * beta[a], 0)) ** 2, 0);
  const df = incs.length - p;
  const noise = Math.max(NOISE_FLOOR, df > 0 ? Math.sqrt(rss / df) : 0);
  // With no residual degrees of freedom the floor is all there is: treat it as one.
  const t = tQuantile(1 - (1 - level) / 2, Math.max(df, 1));
  const segments = Array.from({ length: segmentCount }, (_, s) => {
    const mine = incs.filter((inc) => inc.segment === s);
    const packets = mine.reduce((a, inc) => a + inc.packets, 0);
    const kept = mine.reduce((a, inc) => a + inc.objects, 0) - beta[0] * mine.length;
    const trafficPhases = mine.filter((i) => i.traffic).length;
    if (column[s] < 0) return { rate: 0, low: -Infinity, high: Infinity, level, packets, kept, trafficPhases };
    const rate = beta[column[s]];
    const varNoise = noise ** 2 * inv[column[s]][column[s]];
    const varCount = packets > 0 ? Math.max(rate, 0) / packets : 0;
    const half = t * Math.sqrt(varNoise + varCount);
    const high = Math.max(rate + half, poissonUpper(Math.max(0, Math.round(kept)), level) / Math.max(packets, 1));
    return { rate, low: rate - half, high, level, packets, kept, trafficPhases };
  });
  return { segments, drift: beta[0], noise, df };
}

/**
 * Whether a count kept from the first sample to the last (both after a
 * flush and settling, the last after an idle phase) lies above `allowed`
 * beyond what the noise of two samples explains, at `level`.
 */
export function keptBeyondNoise(kept: number, allowed: number, fit: Pick<Fit, 'noise' | 'df'>, level: number): boolean {
  const t = tQuantile(1 - (1 - level) / 2, Math.max(fit.df, 1));
  return kept - t * fit.noise * Math.SQRT2 > allowed;
}

/** Exact upper limit of a Poisson mean after seeing k events (two-sided level). */
export function poissonUpper(k: number, level: number): number {
  return gammaQuantile(1 - (1 - level) / 2, k + 1, 1);
}

/** Gauss-Jordan inverse of a small symmetric matrix; undefined when singular. */
function invert(m: number[][]): number[][] | undefined {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) pivot = r;
    if (Math.abs(a[pivot][c]) < 1e-12 * Math.max(1, Math.abs(a[c][c]))) return undefined;
    [a[c], a[pivot]] = [a[pivot], a[c]];
    const d = a[c][c];
    for (let j = 0; j < 2 * n; j++) a[c][j] /= d;
    for (let r = 0; r < n; r++) {
      if (r === c || a[r][c] === 0) continue;
      const f = a[r][c];
      for (let j = 0; j < 2 * n; j++) a[r][j] -= f * a[c][j];
    }
  }
  return a.map((row) => row.slice(n));
}
