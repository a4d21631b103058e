// Owns `leaklab run`: load scenarios, run the suite, print a line per
// result as it comes, write the JSON report, return the exit code.
import { compileWorkloads } from '../image/guest-programs.ts';
import { LeaklabError } from '../util/errors.ts';
import { parseJobs } from './jobs.ts';
import { sweepLeftovers, checkEnvironment, makeRunDir } from './run-dir.ts';
import { loadScenarios } from '../scenario/load.ts';
import { runSuite, planCells, checkCellKernels } from '../run/suite.ts';
import { exitCodeFor, type RunResult } from '../run/result.ts';
import { resultLine, summaryLine, rerunLines } from '../report/text.ts';
import { sparkline } from '../report/chart.ts';
import { matrixText } from '../report/run-report.ts';
import { writeReports, checkOutputs, type RunReport } from '../report/outputs.ts';
import { parseShard, shardCells, suiteId } from '../run/shard.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { parseBackend, kernelNames, projectOverrides } from './options.ts';
import { loadCatalog } from '../kernel/catalog.ts';
import { expandGiven } from '../kernel/series.ts';
import { VERSION } from '../util/paths.ts';
import { checkRecipes, knownRecipes } from '../image/recipe.ts';
import type { Context } from '../util/context.ts';

export interface RunOptions {
  kernel: string[];
  json?: string;
  runsDir: string;
  quiet?: boolean;
  jobs: string;
  backend?: string;
  shard?: string;
  junit?: string;
  report?: string;
  packetsPerSecond?: string;
  memory?: string;
  /** --attribute / --no-attribute; undefined: each scenario's attribute:. */
  attribute?: boolean;
}

/** --backend qemu|docker|all; undefined: each scenario's own backends. */
export async function runCommand(ctx: Context, paths: string[], opts: RunOptions): Promise<number> {
  await sweepLeftovers(ctx);
  const given = kernelNames('--kernel', opts.kernel);
  const project = projectOverrides(opts);
  const startedAt = new Date();
  const scenarios: Scenario[] = [];
  const known = await knownRecipes(ctx.config.imagesDir);
  for (const p of paths) scenarios.push(...(await loadScenarios(p, known)));
  for (const s of scenarios) {
    s.project = { ...s.project, ...project };
    s.attribute = opts.attribute ?? s.attribute;
  }
  const seen = new Map<string, string>();
  for (const s of scenarios) {
    if (seen.has(s.name))
      throw new LeaklabError('scenario', `scenario ${s.name} is given twice (${seen.get(s.name)} and ${s.file})`, {
        hint: 'name each scenario once; scenario names must be unique in a run',
      });
    seen.set(s.name, s.file);
  }
  // Bad input is refused before anything is built, booted or written.
  // A series given with -k stands for its kernels (a Debian series: what the archive has now, each version pinned).
  const { catalog, names: kernels } = await expandGiven(ctx, await loadCatalog(ctx.config.catalogFile), given);
  await checkRecipes(ctx.config.imagesDir, scenarios);
  await compileWorkloads(ctx, scenarios);
  const backends = parseBackend(opts.backend);
  const planned = planCells(scenarios, { kernels, backends });
  const shard = opts.shard ? parseShard(opts.shard) : undefined;
  const cells = shard ? shardCells(planned, shard.count)[shard.index - 1] : planned;
  if (shard && cells.length === 0) {
    // More shards than groups of cells: legal (the job has nothing to do), but likely a wrong n.
    process.stderr.write(
      `leaklab: shard ${shard.index}/${shard.count} has no cells: the suite makes ${shardCells(planned, shard.count).filter((x) => x.length > 0).length} non-empty shards of ${shard.count} (leaklab matrix prints the right count)\n`,
    );
  }
  await checkOutputs({ json: opts.json, junit: opts.junit, report: opts.report, stepSummary: ctx.config.stepSummary });
  checkCellKernels(catalog, planned, kernels !== undefined);
  // Each backend must answer before anything is made (and what a killed run left behind an engine is removed).
  await checkEnvironment(ctx, new Set(cells.map((c) => c.backend)));
  const jobs = parseJobs(opts.jobs);
  const runDir = await makeRunDir(ctx, opts.runsDir, '');
  const width = Math.max(20, ...cells.map((c) => c.nameWidth));
  let lastScenario = '';
  const results: RunResult[] = await runSuite(ctx, cells, {
    runDir,
    catalog,
    jobs,
    onResult: (r) =>
      ctx.progress.above(() => {
        if (r.scenario !== lastScenario) {
          process.stdout.write(`${r.scenario}:\n`);
          lastScenario = r.scenario;
        }
        process.stdout.write(`  ${resultLine(r, width)}\n`);
        // A compact chart for people watching; CI logs keep one line per result.
        if (process.stdout.isTTY && sparkline(r)) process.stdout.write(`  ${' '.repeat(width)} ${sparkline(r)}\n`);
      }),
  });
  const exitCode = exitCodeFor(results);
  // The suite at a glance: a scenario x kernel matrix (colour only on a terminal, and never against NO_COLOR).
  const matrix = matrixText(results, process.stdout.isTTY === true && !ctx.config.noColor);
  if (matrix.length > 0) process.stdout.write(`\n${matrix.join('\n')}\n\n`);
  process.stdout.write(`${summaryLine(results)}\n`);
  for (const line of rerunLines(results)) process.stdout.write(`${line}\n`);
  const report: RunReport = {
    leaklab: VERSION,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command: process.argv.slice(2),
    runDir,
    exitCode,
    suite: {
      id: suiteId(planned),
      cells: planned.length,
      shard: shard ? `${shard.index}/${shard.count}` : undefined,
      positions: cells.map((c) => planned.indexOf(c)),
    },
    results,
  };
  await writeReports(report, { runDir, json: opts.json, junit: opts.junit, report: opts.report, stepSummary: ctx.config.stepSummary });
  return exitCode;
}
