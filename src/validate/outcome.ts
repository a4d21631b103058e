// Owns the judgement of a patch validation from repeated runs: per kernel the
// verdicts must agree across runs (else flaky), then the two-sided outcome
// (FIX HOLDS / FIX DOES NOT HOLD / BASE DOES NOT REPRODUCE / FLAKY), its
// confidence, and regressions in the rest of the suite.
import type { RunResult } from '../run/result.ts';
import type { VerdictKind } from '../verdict/verdict.ts';

export type Outcome = 'FIX HOLDS' | 'FIX DOES NOT HOLD' | 'BASE DOES NOT REPRODUCE' | 'FLAKY';

export const OUTCOME_EXIT: Record<Outcome, number> = {
  'FIX HOLDS': 0,
  'FIX DOES NOT HOLD': 1,
  'BASE DOES NOT REPRODUCE': 3,
  FLAKY: 4,
};

export interface Side {
  kernel: string;
  /** The verdict every run agreed on, or 'flaky'. */
  consensus: VerdictKind | 'flaky';
  counts: Record<VerdictKind, number>;
  runs: number;
  /** Objects kept per packet of each run. */
  rates: number[];
}

export function side(kernel: string, results: RunResult[]): Side {
  const counts: Record<VerdictKind, number> = { leak: 0, 'no-leak': 0, inconclusive: 0 };
  for (const r of results) counts[r.verdict!.verdict]++;
  const seen = (Object.keys(counts) as VerdictKind[]).filter((k) => counts[k] > 0);
  return {
    kernel, counts, runs: results.length,
    consensus: seen.length === 1 ? seen[0] : 'flaky',
    rates: results.map((r) => r.verdict!.deciding.keptPerPacket),
  };
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
  if (base.consensus !== 'leak') return { outcome: 'BASE DOES NOT REPRODUCE', why: `base ${base.kernel} gave ${base.consensus} in ${base.runs}/${base.runs} runs: the patch cannot be judged on it` };
  if (!patched) throw new Error('outcome: the patched side is needed once the base leaks');
  if (patched.consensus === 'flaky') return { outcome: 'FLAKY', why: `patched runs disagree (${describeCounts(patched)})` };
  if (patched.consensus === 'no-leak') return { outcome: 'FIX HOLDS', why: `leak in ${base.runs}/${base.runs} base runs, none in ${patched.runs}/${patched.runs} patched runs` };
  return { outcome: 'FIX DOES NOT HOLD', why: `patched ${patched.kernel} gave ${patched.consensus} in ${patched.runs}/${patched.runs} runs` };
}

export function describeCounts(s: Side): string {
  return (Object.entries(s.counts) as [VerdictKind, number][]).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ');
}

/** A scenario that did not leak on the base but leaks (in any run) once patched. */
export function isRegression(base: Side, patched: Side): boolean {
  return base.consensus === 'no-leak' && patched.counts.leak > 0;
}
