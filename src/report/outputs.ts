// Owns writing every output a run asked for, in one place: report.json in
// the run directory, --json FILE, --junit FILE and --report DIR (and the job
// summary); and checking, before any guest runs, that each can be written.
import { join, resolve } from 'node:path';
import { writeJsonReport, type RunReport } from './json.ts';
import { junitXml } from './junit.ts';
import { writeRunReport } from './run-report.ts';
import { checkOutputFile, checkOutputDir, writeOutput, RUNS_DIR_WHERE } from '../util/output.ts';

export type { RunReport } from './json.ts';

export interface OutputOptions {
  /** The run directory (gets report.json); absent for merged reports. */
  runDir?: string;
  json?: string;
  junit?: string;
  report?: string;
  /** GitHub Actions' job summary file (the configuration's stepSummary): report.md is appended to it. */
  stepSummary?: string;
}

export const STEP_SUMMARY_WHERE = 'GITHUB_STEP_SUMMARY';

export async function writeReports(report: RunReport, out: OutputOptions): Promise<void> {
  if (out.runDir) await writeJsonReport(join(out.runDir, 'report.json'), report, RUNS_DIR_WHERE);
  if (out.json) await writeJsonReport(resolve(out.json), report, '--json');
  if (out.junit) await writeOutput(resolve(out.junit), await junitXml(report.results), '--junit');
  if (out.report) await writeRunReport(resolve(out.report), report.results, out.stepSummary);
}

/**
 * Fails early, naming the path, when an output cannot be written (a
 * directory given for a file, a device that refuses writes, a full or
 * read-only filesystem): before anything is built or booted.
 */
export async function checkOutputs(out: Omit<OutputOptions, 'runDir'>): Promise<void> {
  if (out.json) await checkOutputFile(resolve(out.json), '--json');
  if (out.junit) await checkOutputFile(resolve(out.junit), '--junit');
  if (out.report) await checkOutputDir(resolve(out.report), '--report');
  if (out.stepSummary) await checkOutputFile(resolve(out.stepSummary), STEP_SUMMARY_WHERE);
}
