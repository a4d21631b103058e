// The version bisect's search: the first kernel on the new side, in the
// binary-search minimum of judgements, around kernels that do not build.
import test from 'ava';
import { searchFirstNew, type Side } from '../../src/bisect/search.ts';
import { stepDecision } from '../../src/bisect/judge-kernel.ts';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import { judge } from '../../src/verdict/verdict.ts';
import { recordedMeasurement } from '../helpers/fixtures.ts';

/** Judges from a table: 'o' old, 'n' new, 's' does not build, 'f' flaky. Records what was judged. */
function table(states: string) {
  const judged: number[] = [];
  const judge = async (i: number): Promise<Side> => {
    judged.push(i);
    return ({ o: 'old', n: 'new', s: 'skip', f: 'flaky' } as const)[states[i] as 'o' | 'n' | 's' | 'f'];
  };
  return { judged, judge };
}

test('finds the first new kernel at every position in ceil(log2(n-1)) judgements', async (t) => {
  for (const n of [2, 3, 5, 8, 17, 33]) {
    for (let first = 1; first < n; first++) {
      const { judged, judge } = table('o'.repeat(first) + 'n'.repeat(n - first));
      const r = await searchFirstNew(n, judge);
      t.deepEqual(r, { kind: 'found', first, lastOld: first - 1 }, `n=${n} first=${first}`);
      t.true(judged.length <= Math.ceil(Math.log2(n - 1)), `n=${n} first=${first}: ${judged.length} judged`);
      t.is(new Set(judged).size, judged.length, 'no kernel judged twice');
    }
  }
});

test('steps around a kernel that does not build', async (t) => {
  // The first pick (the middle, 5) does not build.
  const { judged, judge } = table('ooooosoonnn');
  t.deepEqual(await searchFirstNew(11, judge), { kind: 'found', first: 8, lastOld: 7 });
  t.is(judged[0], 5);
  t.true(judged.length <= Math.ceil(Math.log2(10)) + 1, `${judged.length} judged`);
});

test('a kernel that does not build next to the change leaves candidates, not a guess', async (t) => {
  const { judge } = table('oooosnnn');
  t.deepEqual(await searchFirstNew(8, judge), { kind: 'ambiguous', candidates: [4, 5] });
});

test('a flaky kernel stops the search where it is', async (t) => {
  const { judge } = table('ooofnnnn');
  const r = await searchFirstNew(8, judge);
  t.deepEqual(r, { kind: 'flaky', at: 3 });
});

test('a bisect step (recorded runs): inconclusive runs say nothing either way, a retry that decides settles it', async (t) => {
  const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
  const v = (run: string, s = seed) => judge(s, recordedMeasurement(run, seed));
  const tolerant = { ...seed, thresholds: { ...seed.thresholds, tolerance: 0.06 } };
  const undecided = v('seed-v6.1-keep-1-in-16', tolerant);
  t.is(undecided.verdict, 'inconclusive');
  const [reverted, fixed, in100, in1000] = ['seed-v6.1-fix-reverted', 'seed-v6.1', 'seed-v6.1-keep-1-in-100', 'seed-v6.1-keep-1-in-1000'].map((r) => v(r));
  t.is(stepDecision([undecided], 1), undefined);
  t.is(stepDecision([undecided, fixed], 1), 'no-leak');
  t.is(stepDecision([undecided, reverted], 1), 'leak');
  t.is(stepDecision([reverted, fixed], 1), 'flaky');
  // Two runs must agree: a LEAK and a clean run that could not have seen it are one LEAK so far.
  t.is(stepDecision([in100, in1000], 2), undefined);
  t.is(stepDecision([in100, in1000, in100], 2), 'leak');
  t.is(stepDecision([fixed, fixed], 2), 'no-leak');
});
