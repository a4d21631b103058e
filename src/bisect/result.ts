// Owns what a bisect ends with: the outcome, its exit code, and the check
// that an end really is on the side the user claimed.
import type { StepResult } from './judge-kernel.ts';

/** 'introduced': find where the leak came in; 'fixed' (--fix): where it went away. */
export type Direction = 'introduced' | 'fixed';

export type BisectOutcome = 'found' | 'ends-wrong' | 'flaky' | 'ambiguous' | 'inconclusive';

export const BISECT_EXIT: Record<BisectOutcome, number> = {
  found: 0,
  /** A kernel whose runs gave no verdict (inconclusive) even after retries: no verdict. */
  inconclusive: 2,
  'ends-wrong': 3,
  flaky: 4,
  ambiguous: 5,
};

export interface BisectResult {
  outcome: BisectOutcome;
  why: string;
  direction: Direction;
  /** Every kernel judged, in order (the two ends first). */
  steps: StepResult[];
  /** Commit bisect. */
  tree?: string;
  first?: { commit: string; subject: string; diffstat: string; parent: string };
  /** Version bisect. */
  firstKernel?: string;
  /** When commits (or kernels) that do not build hide the answer: where it may be. */
  candidates?: string[];
  /** Set when the answer should not be trusted, with why. */
  suspect?: string;
  log?: string;
}

/** Why an end does not behave as claimed, or undefined when it does. */
export function endpointProblem(step: StepResult, expected: 'leak' | 'no-leak', flag: string): { outcome: BisectOutcome; why: string } | undefined {
  if (step.state === expected) return undefined;
  const rate = step.figures.length ? ` (${step.figures.join('; ')})` : '';
  if (step.state === 'skip')
    return { outcome: 'ends-wrong', why: `${flag} ${step.kernel} does not build, so it cannot anchor the bisect: ${step.why?.split('\n')[0]}` };
  if (step.state === 'flaky' || step.state === 'inconclusive') return { outcome: step.state, why: `${flag} ${stepProblem(step)}` };
  return {
    outcome: 'ends-wrong',
    why: `${flag} ${step.kernel} ${step.state === 'leak' ? 'leaks' : 'does not leak'}${rate}, but it was given as the end that ${expected === 'leak' ? 'leaks' : 'does not leak'}; nothing to bisect between these ends (if the leak went the other way between them, run again with --fix, or without it)`,
  };
}

/** Why a step stops the bisect: runs that contradict each other, or runs without a verdict. */
export function stepProblem(step: StepResult): string {
  return step.state === 'flaky'
    ? `${step.kernel} gave contradicting runs (${step.why}); repeat with more --runs, or raise the scenario's packets`
    : `${step.kernel} gave no verdict (${step.why}); check its runs' result.json, or adjust the scenario's thresholds or packets`;
}
