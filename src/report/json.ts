// Owns the machine-readable report: every sample, verdict, expectation,
// error and kernel provenance of a run, as one JSON document.
import { writeFile, rename } from 'node:fs/promises';
import type { RunResult } from '../run/result.ts';

export interface JsonReport {
  leaklab: string;
  startedAt: string;
  finishedAt: string;
  command: string[];
  runDir: string;
  exitCode: number;
  results: RunResult[];
}

/** Writes atomically, so a reader never sees half a report. */
export async function writeJsonReport(path: string, report: JsonReport | Record<string, unknown>): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(report, null, 2) + '\n');
  await rename(tmp, path);
}
