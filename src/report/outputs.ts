// Owns writing every output a run asked for, in one place: report.json in
// the run directory, --json FILE, --junit FILE and --report DIR; and
// checking, before any guest runs, that each can be written.
import { writeFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeJsonReport, type RunReport } from './json.ts';
import { junitXml } from './junit.ts';
import { writeRunReport } from './run-report.ts';
import { LeaklabError } from '../util/errors.ts';
import { makeDirs } from '../util/dirs.ts';

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

export async function writeReports(report: RunReport, out: OutputOptions): Promise<void> {
  if (out.runDir) await writeJsonReport(join(out.runDir, 'report.json'), report);
  if (out.json) await writeJsonReport(resolve(out.json), report);
  if (out.junit) await writeFile(resolve(out.junit), await junitXml(report.results));
  if (out.report) await writeRunReport(resolve(out.report), report.results, out.stepSummary);
}

/** Fails early, naming the file, when an output file cannot be written. */
export async function checkWritable(file: string, hint = 'give a path in a directory you can write to'): Promise<void> {
  const probe = `${file}.leaklab-write-test`;
  try {
    await makeDirs(dirname(file));
    await writeFile(probe, '');
    await rm(probe);
  } catch (err) {
    throw new LeaklabError('usage', `cannot write ${file}: ${(err as Error).message}`, { hint });
  }
}

/** Checks early (before any guest runs) that the report directory can be written. */
export async function checkReportDir(dir: string): Promise<void> {
  await checkWritable(join(dir, 'report.html'), 'give a --report directory you can write to');
}
