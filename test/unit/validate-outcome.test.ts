import test from 'ava';
import { confidence, runsFor, outcome, isRegression, side, describeCounts, type Side } from '../../src/validate/outcome.ts';
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
    per: 'obj/packet',
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

test("runs of one kernel (recorded): they agree unless a clean run's upper end lies below a LEAK run's interval", async (t) => {
  const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
  const run = (name: string, s = seed) => ({ verdict: judge(s, recordedMeasurement(name, seed)) }) as JudgedResult;
  // Recorded: fix reverted LEAK [0.95, 1.05]; 1 in 16 LEAK [0.049, 0.076]; 1 in 100 LEAK [0.0047, 0.016];
  // fixed v6.1 no leak < 0.0018; 1 in 1000 (2048 packets) no leak < 0.0076.
  const [reverted, in16, in100, fixed, in1000] = [
    'seed-v6.1-fix-reverted',
    'seed-v6.1-keep-1-in-16',
    'seed-v6.1-keep-1-in-100',
    'seed-v6.1',
    'seed-v6.1-keep-1-in-1000',
  ].map((n) => run(n));
  t.is(side('k', [reverted, reverted]).consensus, 'leak');
  t.is(side('k', [fixed, fixed, fixed]).consensus, 'no-leak');
  t.is(side('k', [reverted, fixed]).consensus, 'flaky');
  // A clean run that could not have seen this leak does not contradict it.
  t.is(side('k', [in100, in1000]).consensus, 'leak');
  // The most telling clean run and the most telling leak decide: < 0.0018 contradicts [0.0047, ...].
  t.is(side('k', [in100, in1000, fixed]).consensus, 'flaky');
  t.is(side('k', [in100, in16, in1000]).consensus, 'flaky', '< 0.0076 contradicts [0.049, 0.076]');
  // Clean and undecided runs, no leak: not enough to call it clean.
  const undecided = run('seed-v6.1-keep-1-in-16', { ...seed, thresholds: { ...seed.thresholds, tolerance: 0.06 } });
  t.is(undecided.verdict.verdict, 'inconclusive');
  const mixed = side('k', [fixed, undecided]);
  t.is(mixed.consensus, 'inconclusive');
  t.is(describeCounts(mixed), '1 no-leak, 1 inconclusive');
  t.deepEqual(mixed.rates.length, 2);
});

test('outcome texts: what a reader needs to act on, with the numbers', (t) => {
  const notReproduced = outcome(s('no-leak', 0, 3), undefined);
  t.is(notReproduced.why, 'base k gave 3 no-leak in 3 runs: the patch cannot be judged on it');
  t.throws(() => outcome(s('leak', 3, 0), undefined), { message: /patched side is needed/ });
  t.regex(outcome(s('leak', 3, 0), s('flaky', 1, 2)).why, /^patched runs disagree \(1 leak, 2 no-leak\)$/);
  t.is(outcome(s('leak', 3, 0), s('no-leak', 0, 3, 0, 0, 0.0018)).why, 'leak in 3/3 base runs, none in 3/3 patched runs (each < 0.0018 obj/packet)');
  t.is(outcome(s('leak', 3, 0), s('leak', 1, 0)).why, 'patched k gave 1 leak in 1 runs (1.00 obj/packet)');
  // A patched interval reaching into the base's is not a partial fix: the reduction is not measured.
  const touching = outcome(s('leak', 1, 0, 0, 1, 0.05), s('leak', 1, 0, 0, 0.9, 0.06));
  t.is(touching.outcome, 'FIX DOES NOT HOLD');
});
