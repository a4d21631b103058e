// Owns the judgement of a patch validation from repeated runs, by rates:
// per kernel the runs must not contradict each other (a run's "no leak"
// upper end below another run's LEAK interval is flaky), then the
// two-sided outcome (FIX HOLDS / PARTIAL FIX / FIX DOES NOT HOLD / BASE
// DOES NOT REPRODUCE / FLAKY), its confidence, and regressions in the rest
// of the suite. FIX HOLDS needs every patched run clean at the tolerance;
// a patched kernel that still leaks, at a rate whose interval lies below
// every base run's, is a PARTIAL FIX.
import type { JudgedResult } from '../run/result.ts';
import { agreement } from '../verdict/agreement.ts';
import type { VerdictKind } from '../verdict/verdict.ts';
import { fmtRate, perUnit } from '../verdict/figures.ts';

export type Outcome = 'FIX HOLDS' | 'PARTIAL FIX' | 'FIX DOES NOT HOLD' | 'BASE DOES NOT REPRODUCE' | 'FLAKY';

export const OUTCOME_EXIT: Record<Outcome, number> = {
  'FIX HOLDS': 0,
  'FIX DOES NOT HOLD': 1,
  'BASE DOES NOT REPRODUCE': 3,
  FLAKY: 4,
  'PARTIAL FIX': 6,
};

export interface Side {
  kernel: string;
  /** The verdict every run agreed on, or 'flaky'. */
  consensus: VerdictKind | 'flaky';
  counts: Record<VerdictKind, number>;
  runs: number;
  /** Objects kept per unit of work of each run, with its interval. */
  rates: number[];
  /** "obj/packet", "obj/connection", ...: what the rates are per. */
  per: string;
  lows: number[];
  highs: number[];
}

export function side(kernel: string, results: JudgedResult[]): Side {
  const counts: Record<VerdictKind, number> = { leak: 0, 'no-leak': 0, inconclusive: 0 };
  for (const r of results) counts[r.verdict.verdict]++;
  const est = results.map((r) => r.verdict.deciding.estimate);
  const s: Side = {
    kernel,
    counts,
    runs: results.length,
    consensus: 'inconclusive',
    rates: est.map((e) => e.rate),
    lows: est.map((e) => e.low),
    highs: est.map((e) => e.high),
    per: perUnit({ unit: results[0]?.verdict.unit }),
  };
  s.consensus = agreement(results.map((r) => r.verdict));
  return s;
}

/**
 * One-sided Fisher exact test for "every base run leaked, no patched run
 * did": the chance of that split if the patch changed nothing is
 * 1 / C(2n, n). Confidence is its complement (n=3: 95 %, n=5: 99.6 %).
 */
export function confidence(runsPerSide: number): number {
  let c = 1;
  for (let i = 1; i <= runsPerSide; i++) c = (c * (runsPerSide + i)) / i;
  return 1 - 1 / c;
}

/** The fewest runs per side that reach `level` confidence. */
export function runsFor(level: number): number {
  let n = 1;
  while (confidence(n) < level) n++;
  return n;
}

export function outcome(base: Side, patched: Side | undefined): { outcome: Outcome; why: string } {
  if (base.consensus === 'flaky') return { outcome: 'FLAKY', why: `base runs disagree (${describeCounts(base)})` };
  if (base.consensus !== 'leak')
    return {
      outcome: 'BASE DOES NOT REPRODUCE',
      why: `base ${base.kernel} gave ${describeCounts(base)} in ${base.runs} runs: the patch cannot be judged on it`,
    };
  if (!patched) throw new Error('outcome: the patched side is needed once the base leaks');
  if (patched.consensus === 'flaky') return { outcome: 'FLAKY', why: `patched runs disagree (${describeCounts(patched)})` };
  if (patched.consensus === 'no-leak')
    return {
      outcome: 'FIX HOLDS',
      why: `leak in ${base.counts.leak}/${base.runs} base runs, none in ${patched.runs}/${patched.runs} patched runs (each < ${fmtRate(Math.max(...patched.highs))} ${patched.per})`,
    };
  if (patched.consensus === 'leak' && Math.max(...patched.highs) < Math.min(...base.lows)) {
    const b = mean(base.rates);
    const p = mean(patched.rates);
    return {
      outcome: 'PARTIAL FIX',
      why: `base ${fmtRate(b)} -> patched ${fmtRate(p)} ${patched.per}: leak reduced ${p > 0 ? `${Number((b / p).toPrecision(2))}x` : ''}, not gone`,
    };
  }
  return {
    outcome: 'FIX DOES NOT HOLD',
    why: `patched ${patched.kernel} gave ${describeCounts(patched)} in ${patched.runs} runs (${patched.rates.map((r) => fmtRate(r)).join(', ')} ${patched.per})`,
  };
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

export function describeCounts(s: Side): string {
  return (Object.entries(s.counts) as [VerdictKind, number][])
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}

/** A scenario that did not leak on the base but leaks (in any run) once patched. */
export function isRegression(base: Side, patched: Side): boolean {
  return base.consensus === 'no-leak' && patched.counts.leak > 0;
}
