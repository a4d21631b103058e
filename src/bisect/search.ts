// Owns the binary search of a version bisect, apart from how a kernel is
// judged: given that index 0 is on the old side and the last index on the
// new side, find the first index on the new side, stepping around kernels
// that cannot be judged (skip) and stopping at a flaky one.
export type Side = 'old' | 'new' | 'skip' | 'flaky';

export type SearchResult = { kind: 'found'; first: number; lastOld: number } | { kind: 'ambiguous'; candidates: number[] } | { kind: 'flaky'; at: number };

export async function searchFirstNew(count: number, judge: (i: number, left: number) => Promise<Side>): Promise<SearchResult> {
  let lo = 0;
  let hi = count - 1;
  const skipped = new Set<number>();
  for (;;) {
    const candidates = range(lo + 1, hi).filter((i) => !skipped.has(i));
    if (candidates.length === 0) break;
    // The candidate nearest the middle: a plain binary search when nothing is skipped.
    const middle = (lo + hi) / 2;
    const i = candidates.reduce((best, c) => (Math.abs(c - middle) < Math.abs(best - middle) ? c : best));
    const side = await judge(i, candidates.length);
    if (side === 'flaky') return { kind: 'flaky', at: i };
    if (side === 'skip') skipped.add(i);
    else if (side === 'new') hi = i;
    else lo = i;
  }
  const hidden = range(lo + 1, hi).filter((i) => skipped.has(i));
  if (hidden.length > 0) return { kind: 'ambiguous', candidates: [...hidden, hi] };
  return { kind: 'found', first: hi, lastOld: lo };
}

/** Integers from `from` up to, not including, `to`. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
}
