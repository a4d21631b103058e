// Owns what repeated runs of one kernel say together, for every command that
// repeats runs (validate-patch's sides, bisect's steps): a clean run
// contradicts a leaking one only when its upper end lies below that leak's
// interval; a clean run that could not have seen the leak does not.
import type { Verdict, VerdictKind } from './verdict.ts';

export type Agreement = VerdictKind | 'flaky';

/** LEAK if any run leaks and none contradicts it; no leak if every run is clean; flaky on a contradiction; else inconclusive. */
export function agreement(verdicts: Verdict[]): Agreement {
  const leakLows = verdicts.filter((v) => v.verdict === 'leak').map((v) => v.deciding.estimate.low);
  const cleanHighs = verdicts.filter((v) => v.verdict === 'no-leak').map((v) => v.deciding.estimate.high);
  if (leakLows.length > 0 && cleanHighs.length > 0 && Math.min(...cleanHighs) < Math.max(...leakLows)) return 'flaky';
  if (leakLows.length > 0) return 'leak';
  return verdicts.length > 0 && cleanHighs.length === verdicts.length ? 'no-leak' : 'inconclusive';
}
