// Owns `leaklab run`: load scenarios, run the suite, print a line per
// result as it comes, write the JSON report, return the exit code.
import { resolve, join, dirname } from 'node:path';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { LeaklabError } from '../util/errors.ts';
import { reapOrphanedGuests } from '../guest/qemu/reaper.ts';
import { parseJobs } from './jobs.ts';
import { bootTimeoutMs } from '../run/run-scenario.ts';
import { chooseAccel } from '../guest/qemu/accel.ts';
import { loadScenarios } from '../scenario/load.ts';
import { runSuite } from '../run/suite.ts';
import { exitCodeFor, type RunResult } from '../run/result.ts';
import { resultLine, summaryLine } from '../report/text.ts';
import { writeJsonReport } from '../report/json.ts';
import { setQuiet } from '../util/progress.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { loadCatalog, findKernel } from '../kernel/catalog.ts';

export interface RunOptions {
  kernel: string[];
  json?: string;
  runsDir: string;
  quiet?: boolean;
  jobs: string;
}

export async function runCommand(paths: string[], opts: RunOptions): Promise<number> {
  setQuiet(!!opts.quiet);
  const reaped = await reapOrphanedGuests();
  if (reaped > 0) process.stderr.write(`leaklab: stopped ${reaped} QEMU guest(s) left running by a leaklab process that was killed\n`);
  const startedAt = new Date();
  const scenarios: Scenario[] = [];
  for (const p of paths) scenarios.push(...await loadScenarios(p));
  const seen = new Map<string, string>();
  for (const s of scenarios) {
    if (seen.has(s.name)) throw new LeaklabError('scenario', `scenario ${s.name} is given twice (${seen.get(s.name)} and ${s.file})`, { hint: 'name each scenario once; scenario names must be unique in a run' });
    seen.set(s.name, s.file);
  }
  if (opts.json) await mkdir(dirname(resolve(opts.json)), { recursive: true });
  // Bad input is refused before anything is built, booted or written.
  const catalog = await loadCatalog();
  for (const s of scenarios) for (const k of opts.kernel.length ? opts.kernel : s.kernels) findKernel(catalog, k);
  const jobs = parseJobs(opts.jobs);
  bootTimeoutMs();
  await chooseAccel();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  await mkdir(resolve(opts.runsDir), { recursive: true });
  // mkdtemp: two runs started in the same millisecond still get their own dir.
  const runDir = await mkdtemp(join(resolve(opts.runsDir), `${stamp}-`));
  process.stderr.write(`leaklab: run directory ${runDir}\n`);
  const width = Math.max(20, ...scenarios.flatMap((s) => (opts.kernel.length ? opts.kernel : s.kernels).map((k) => k.length + 2)));
  let lastScenario = '';
  const results: RunResult[] = await runSuite(scenarios, {
    kernels: opts.kernel.length ? opts.kernel : undefined,
    runDir,
    catalog,
    jobs,
    onResult: (r) => {
      if (r.scenario !== lastScenario) {
        process.stdout.write(`${r.scenario}:\n`);
        lastScenario = r.scenario;
      }
      process.stdout.write(`  ${resultLine(r, width)}\n`);
    },
  });
  const exitCode = exitCodeFor(results);
  process.stdout.write(`${summaryLine(results)}\n`);
  const report = {
    leaklab: '0.1.0', startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(),
    command: process.argv.slice(2), runDir, exitCode, results,
  };
  await writeJsonReport(join(runDir, 'report.json'), report);
  if (opts.json) await writeJsonReport(resolve(opts.json), report);
  return exitCode;
}
