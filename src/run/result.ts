// Owns the result of one scenario on one kernel, and the exit code a whole
// run ends with (0 all as expected, 1 a verdict contradicts, 2 no verdict).
import type { Verdict } from '../verdict/verdict.ts';
import type { Attribution } from '../verdict/attribution.ts';
import type { Measurement } from '../measure/protocol.ts';
import type { Expectation } from '../scenario/scenario.ts';
import { ExitCode, LeaklabError, type ErrorKind } from '../util/errors.ts';
import { backendOf } from './backends.ts';

/** What every result says: which scenario ran on which kernel, where, and how long each step took. */
export interface CellInfo {
  scenario: string;
  scenarioFile: string;
  kernel: string;
  backend: string;
  runDir: string;
  release?: string;
  provenance?: Record<string, string>;
  /** Kernel messages that mean trouble, from the console. */
  troubles: string[];
  /** attribution: the second boot that names the code allocating a leak's objects (LEAK verdicts that ask for it). */
  seconds: { prepare: number; boot: number; measure: number; total: number; attribution?: number };
}

/** A run that measured and gave a verdict. */
export interface JudgedResult extends CellInfo {
  verdict: Verdict;
  samples: Measurement;
  expectation?: Expectation;
  /** undefined when there is no expectation for this kernel. */
  asExpected?: boolean;
  why?: string;
  /** Where the leaking objects are allocated (an attribution boot after a LEAK); never part of the verdict. */
  attribution?: Attribution;
  error?: undefined;
}

/** A run without a verdict (boot failure, guest not answering, a panic, a kernel that did not build). */
export interface FailedResult extends CellInfo {
  error: ResultError;
  /** What was measured before it failed, if anything. */
  samples?: Measurement;
  verdict?: undefined;
  asExpected?: undefined;
  expectation?: undefined;
  why?: undefined;
}

export type RunResult = JudgedResult | FailedResult;

export interface ResultError {
  kind: ErrorKind;
  message: string;
  hint?: string;
  details?: string;
}

/** The one pair of conversions between a LeaklabError and a result's error. */
export function resultError(err: LeaklabError): ResultError {
  return { kind: err.kind, message: err.message, hint: err.hint, details: err.details };
}

export function errorOfResult(r: FailedResult, message = r.error.message): LeaklabError {
  return new LeaklabError(r.error.kind, message, { hint: r.error.hint, details: r.error.details });
}

/** A cell that failed before it could start (e.g. its kernel did not build). */
export function failedCell(info: Omit<CellInfo, 'troubles' | 'seconds'>, err: LeaklabError): FailedResult {
  return { ...info, troubles: [], seconds: { prepare: 0, boot: 0, measure: 0, total: 0 }, error: resultError(err) };
}

/** How a result's kernel is named wherever it is shown: a container's host kernel says so. */
export function cellName(r: Pick<RunResult, 'kernel' | 'backend'>): string {
  return backendOf(r.backend)?.displayName(r.kernel) ?? r.kernel;
}

export function exitCodeFor(results: RunResult[]): number {
  if (results.some((r) => r.error || r.verdict?.verdict === 'inconclusive')) return ExitCode.noVerdict;
  if (results.some((r) => r.asExpected === false)) return ExitCode.expectationFailed;
  return ExitCode.ok;
}
