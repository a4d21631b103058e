// The version bisect's search: the first kernel on the new side, in the
// binary-search minimum of judgements, around kernels that do not build.
import test from 'ava';
import { searchFirstNew, type Side } from '../../src/bisect/search.ts';

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
