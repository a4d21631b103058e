// Owns the machine-readable report: every sample, verdict, expectation,
// error and kernel provenance of a run, as one JSON document.
import type { RunResult } from '../run/result.ts';
import { writeOutput, type Where } from '../util/output.ts';

/** The report of `leaklab run` (one per shard in CI; `report merge` joins them). */
export interface RunReport {
  leaklab: string;
  startedAt: string;
  finishedAt: string;
  command: string[];
  runDir: string;
  exitCode: number;
  /** Which suite (scenarios' content and cells planned) and which shard of it. */
  suite: { id: string; cells: number; shard?: string; /** Where each result sits in the whole suite's plan. */ positions: number[] };
  results: RunResult[];
}

/** Writes atomically, so a reader never sees half a report; `where` names the option that chose the path (for the message when it cannot be written). */
export async function writeJsonReport(path: string, report: RunReport | Record<string, unknown>, where: Where): Promise<void> {
  await writeOutput(path, JSON.stringify(report, null, 2) + '\n', where);
}
