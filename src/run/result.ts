// Owns the result of one scenario on one kernel, and the exit code a whole
// run ends with (0 all as expected, 1 a verdict contradicts, 2 no verdict).
import type { Verdict } from '../verdict/verdict.ts';
import type { Measurement } from '../measure/protocol.ts';
import type { Expectation } from '../scenario/scenario.ts';
import { ExitCode, type ErrorKind } from '../util/errors.ts';

export interface RunResult {
  scenario: string;
  scenarioFile: string;
  kernel: string;
  backend: string;
  runDir: string;
  release?: string;
  provenance?: Record<string, string>;
  verdict?: Verdict;
  samples?: Measurement;
  expectation?: Expectation;
  /** undefined when there is no expectation for this kernel. */
  asExpected?: boolean;
  why?: string;
  error?: { kind: ErrorKind; message: string; hint?: string; details?: string };
  /** Kernel messages that mean trouble, from the console. */
  troubles: string[];
  seconds: { prepare: number; boot: number; measure: number; total: number };
}

/** How a result's kernel is named wherever it is shown: a container's host kernel says so. */
export function cellName(r: Pick<RunResult, 'kernel' | 'backend'>): string {
  return r.backend === 'docker' ? `${r.kernel} (docker)` : r.kernel;
}

export function exitCodeFor(results: RunResult[]): number {
  if (results.some((r) => r.error || r.verdict?.verdict === 'inconclusive')) return ExitCode.noVerdict;
  if (results.some((r) => r.asExpected === false)) return ExitCode.expectationFailed;
  return ExitCode.ok;
}
