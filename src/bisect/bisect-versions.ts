// Owns `bisect versions`: a binary search (search.ts) over catalog kernels ordered
// oldest to newest, naming the first that leaks (or, with --fix, the first that no
// longer leaks). Both ends are checked first; a kernel that does not build
// is skipped and the search goes on around it.
import { findKernel, type Catalog } from '../kernel/catalog.ts';
import { judgeKernel, type JudgeOptions, type StepResult } from './judge-kernel.ts';
import { endpointProblem, stepProblem, type BisectResult, type Direction } from './result.ts';
import { searchFirstNew } from './search.ts';
import type { Context } from '../util/context.ts';

export interface VersionBisectOptions extends JudgeOptions {
  kernels: string[];
  direction: Direction;
}

export async function bisectVersions(ctx: Context, catalog: Catalog, opts: VersionBisectOptions): Promise<BisectResult> {
  const names = opts.kernels;
  const [oldState, newState] = opts.direction === 'introduced' ? (['no-leak', 'leak'] as const) : (['leak', 'no-leak'] as const);
  const steps: StepResult[] = [];
  const judge = async (i: number) => {
    const s = await judgeKernel(ctx, findKernel(catalog, names[i]), opts);
    steps.push(s);
    return s;
  };
  const base = { direction: opts.direction, steps };
  ctx.progress.step('bisect', `checking the ends: ${names[0]} should be ${oldState}, ${names[names.length - 1]} should be ${newState}`);
  const problem =
    endpointProblem(await judge(0), oldState, 'the oldest kernel') ?? endpointProblem(await judge(names.length - 1), newState, 'the newest kernel');
  if (problem) return { ...base, outcome: problem.outcome, why: problem.why };

  const what = newState === 'leak' ? 'leaks' : 'no longer leaks';
  let unjudged: StepResult | undefined;
  const found = await searchFirstNew(names.length, async (i, left) => {
    ctx.progress.step('bisect', `${left} kernel(s) left to decide between (about ${Math.ceil(Math.log2(left + 1))} step(s)): trying ${names[i]}`);
    const s = await judge(i);
    if (s.state === 'flaky' || s.state === 'inconclusive') {
      unjudged = s;
      return 'flaky';
    }
    return s.state === 'skip' ? 'skip' : s.state === newState ? 'new' : 'old';
  });
  if (found.kind === 'flaky') return { ...base, outcome: unjudged!.state as 'flaky' | 'inconclusive', why: stepProblem(unjudged!) };
  if (found.kind === 'ambiguous') {
    const candidates = found.candidates.map((i) => names[i]);
    return {
      ...base,
      outcome: 'ambiguous',
      why: `kernels that do not build hide the answer: the first that ${what} is one of ${candidates.join(', ')}`,
      candidates,
    };
  }
  return {
    ...base,
    outcome: 'found',
    firstKernel: names[found.first],
    why: `${names[found.first]} is the first kernel that ${what} (${names[found.lastOld]} before it does not)`,
  };
}
