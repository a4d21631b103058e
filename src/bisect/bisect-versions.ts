// Owns `bisect versions`: a binary search over catalog kernels ordered oldest
// to newest, naming the first that leaks (or, with --fix, the first that no
// longer leaks). Both ends are checked first; a kernel that does not build
// is skipped and the search goes on around it.
import { findKernel, type Catalog } from '../kernel/catalog.ts';
import { judgeKernel, type JudgeOptions, type StepResult } from './judge-kernel.ts';
import { endpointProblem, type BisectResult, type Direction } from './result.ts';
import { progress } from '../util/progress.ts';

export interface VersionBisectOptions extends JudgeOptions {
  kernels: string[];
  direction: Direction;
}

export async function bisectVersions(catalog: Catalog, opts: VersionBisectOptions): Promise<BisectResult> {
  const names = opts.kernels;
  const [oldState, newState] = opts.direction === 'introduced' ? ['no-leak', 'leak'] as const : ['leak', 'no-leak'] as const;
  const steps: StepResult[] = [];
  const judge = async (i: number) => {
    const s = await judgeKernel(findKernel(catalog, names[i]), opts);
    steps.push(s);
    return s;
  };
  const base = { direction: opts.direction, steps };
  progress('bisect', `checking the ends: ${names[0]} should be ${oldState}, ${names[names.length - 1]} should be ${newState}`);
  const problem = endpointProblem(await judge(0), oldState, 'the oldest kernel') ?? endpointProblem(await judge(names.length - 1), newState, 'the newest kernel');
  if (problem) return { ...base, outcome: problem.outcome, why: problem.why };

  let lo = 0;
  let hi = names.length - 1;
  const skipped = new Set<number>();
  for (;;) {
    const candidates = range(lo + 1, hi).filter((i) => !skipped.has(i));
    if (candidates.length === 0) break;
    // The candidate nearest the middle: a plain binary search when nothing is skipped.
    const middle = (lo + hi) / 2;
    const i = candidates.reduce((best, c) => (Math.abs(c - middle) < Math.abs(best - middle) ? c : best));
    progress('bisect', `${candidates.length} kernel(s) left between ${names[lo]} and ${names[hi]} (about ${Math.ceil(Math.log2(candidates.length + 1))} step(s)): trying ${names[i]}`);
    const s = await judge(i);
    if (s.state === 'flaky') return { ...base, outcome: 'flaky', why: `${s.kernel} gave contradicting runs (${s.why}); repeat with more --runs` };
    if (s.state === 'skip') skipped.add(i);
    else if (s.state === newState) hi = i;
    else lo = i;
  }
  const hidden = range(lo + 1, hi).filter((i) => skipped.has(i));
  const what = newState === 'leak' ? 'leaks' : 'no longer leaks';
  if (hidden.length > 0) {
    const candidates = [...hidden, hi].map((i) => names[i]);
    return { ...base, outcome: 'ambiguous', why: `kernels that do not build hide the answer: the first that ${what} is one of ${candidates.join(', ')}`, candidates };
  }
  return { ...base, outcome: 'found', firstKernel: names[hi], why: `${names[hi]} is the first kernel that ${what} (${names[lo]} before it does not)` };
}

/** Integers from `from` up to, not including, `to`. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
}
