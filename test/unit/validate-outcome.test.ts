import test from 'ava';
import { confidence, runsFor, outcome, isRegression, side, type Side } from '../../src/validate/outcome.ts';
import { sideText } from '../../src/report/validation.ts';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import { judge } from '../../src/verdict/verdict.ts';
import type { JudgedResult } from '../../src/run/result.ts';
import { recordedMeasurement } from '../helpers/fixtures.ts';

const s = (consensus: Side['consensus'], leak: number, noLeak: number, inconclusive = 0, rate = consensus === 'leak' ? 1 : 0, half = 0.05): Side => {
  const runs = leak + noLeak + inconclusive;
  return {
    kernel: 'k',
    consensus,
    counts: { leak, 'no-leak': noLeak, inconclusive },
    runs,
    rates: Array(runs).fill(rate),
    lows: Array(runs).fill(rate - half),
    highs: Array(runs).fill(rate + half),
  };
};

test('confidence is the complement of the one-sided Fisher exact p for an all-vs-none split', (t) => {
  t.is(confidence(1), 0.5);
  t.true(Math.abs(confidence(3) - 0.95) < 1e-12, 'C(6,3) = 20');
  t.true(Math.abs(confidence(5) - (1 - 1 / 252)) < 1e-12);
  t.is(runsFor(0.95), 3);
  t.is(runsFor(0.99), 5);
});

test('two-sided outcomes', (t) => {
  t.is(outcome(s('leak', 3, 0), s('no-leak', 0, 3)).outcome, 'FIX HOLDS');
  t.is(outcome(s('leak', 3, 0), s('leak', 3, 0)).outcome, 'FIX DOES NOT HOLD');
  t.is(outcome(s('leak', 3, 0), s('inconclusive', 0, 0, 3)).outcome, 'FIX DOES NOT HOLD');
  t.is(outcome(s('no-leak', 0, 3), undefined).outcome, 'BASE DOES NOT REPRODUCE');
  const flakyBase = outcome(s('flaky', 2, 1), undefined);
  t.is(flakyBase.outcome, 'FLAKY');
  t.regex(flakyBase.why, /2 leak, 1 no-leak/);
  t.is(outcome(s('leak', 3, 0), s('flaky', 1, 2)).outcome, 'FLAKY');
});

test('a patched kernel that still leaks, below every base interval, is a PARTIAL FIX with its reduction', (t) => {
  const partial = outcome(s('leak', 3, 0, 0, 1), s('leak', 3, 0, 0, 0.0625, 0.007));
  t.is(partial.outcome, 'PARTIAL FIX');
  t.regex(partial.why, /base 1\.00 -> patched 0\.06[23] obj\/packet: leak reduced 16x, not gone/);
  // Overlapping intervals: the patch did not measurably reduce the leak.
  t.is(outcome(s('leak', 3, 0, 0, 1, 0.1), s('leak', 3, 0, 0, 0.95, 0.1)).outcome, 'FIX DOES NOT HOLD');
});

test('a regression is a scenario clean on the base that leaks in any patched run', (t) => {
  t.true(isRegression(s('no-leak', 0, 3), s('flaky', 1, 2)));
  t.false(isRegression(s('no-leak', 0, 3), s('no-leak', 0, 3)));
  t.false(isRegression(s('leak', 3, 0), s('leak', 3, 0)));
});

test('a side is shown with its figures: a clean side by its weakest detection limit, a leaking one by its rate and the span of its intervals', async (t) => {
  const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
  const runsOf = (run: string, n: number) => Array.from({ length: n }, () => ({ verdict: judge(seed, recordedMeasurement(run, seed)) }) as JudgedResult);
  t.regex(sideText(side('v6.1-fix-reverted', runsOf('seed-v6.1-fix-reverted', 3))), /^LEAK \+1\.00 obj\/packet \[0\.9\d, 1\.0\d\] \(3\/3 runs\)$/);
  t.regex(sideText(side('v6.1', runsOf('seed-v6.1', 3))), /^no leak < 0\.00\d\d obj\/packet \(3\/3 runs\)$/);
  t.regex(sideText(side('v6.1-keep-1-in-16', runsOf('seed-v6.1-keep-1-in-16', 1))), /^LEAK \+0\.06\d obj\/packet \[0\.0\d+, 0\.0\d+\] \(1\/1 runs\)$/);
});
