// Owns `leaklab bisect versions|commits`: options, checking all input before
// a run directory is made, output (text on stdout, report.json) and the
// outcome's exit code.
import { wholeNumber, kernelNames } from './options.ts';
import { resolve, join } from 'node:path';
import { loadCatalog, findKernel, type Catalog } from '../kernel/catalog.ts';
import { expandKernelNames } from '../kernel/series.ts';
import { scenarioRequirements } from '../kernel/requirements.ts';
import { loadScenarioFile } from '../scenario/load.ts';
import { checkRecipes, knownRecipes } from '../image/recipe.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { bisectVersions } from '../bisect/bisect-versions.ts';
import { bisectCommits, checkCommitInputs } from '../bisect/bisect-commits.ts';
import { BISECT_EXIT, type BisectResult, type Direction } from '../bisect/result.ts';
import type { JudgeOptions } from '../bisect/judge-kernel.ts';
import { bisectText } from '../report/bisect.ts';
import { writeJsonReport } from '../report/json.ts';
import { checkOutputs } from '../report/outputs.ts';
import { RUNS_DIR_WHERE } from '../util/output.ts';
import { sweepLeftovers, checkEnvironment, makeRunDir } from './run-dir.ts';
import { LeaklabError } from '../util/errors.ts';
import { VERSION } from '../util/paths.ts';
import type { Context } from '../util/context.ts';

interface CommonOptions {
  fix?: boolean;
  runs: string;
  retries: string;
  json?: string;
  runsDir: string;
  quiet?: boolean;
}

export interface VersionsCliOptions extends CommonOptions {
  kernels: string;
}
export interface CommitsCliOptions extends CommonOptions {
  tree: string;
  good: string;
  bad: string;
  configFrom?: string;
}

export async function bisectVersionsCommand(ctx: Context, scenarioFile: string, opts: VersionsCliOptions): Promise<number> {
  const { scenario, catalog: loaded, direction, count } = await common(ctx, scenarioFile, opts);
  const { catalog, names: kernels } = await kernelList(ctx, loaded, opts.kernels);
  const runDir = await makeRunDir(ctx, opts.runsDir, 'bisect-');
  const result = await bisectVersions(ctx, catalog, { ...judgeOptions(scenario, count, runDir), kernels, direction });
  return finish(result, scenario, runDir, opts.json);
}

export async function bisectCommitsCommand(ctx: Context, scenarioFile: string, opts: CommitsCliOptions): Promise<number> {
  const { scenario, catalog, direction, count } = await common(ctx, scenarioFile, opts);
  await checkCommitInputs(ctx, resolve(opts.tree), opts.good, opts.bad, direction);
  const runDir = await makeRunDir(ctx, opts.runsDir, 'bisect-');
  const result = await bisectCommits(ctx, catalog, {
    ...judgeOptions(scenario, count, runDir),
    tree: resolve(opts.tree),
    good: opts.good,
    bad: opts.bad,
    direction,
    configFrom: opts.configFrom,
  });
  return finish(result, scenario, runDir, opts.json);
}

async function common(
  ctx: Context,
  scenarioFile: string,
  opts: CommonOptions,
): Promise<{ scenario: Scenario; catalog: Catalog; direction: Direction; count: { runs: number; retries: number } }> {
  await sweepLeftovers(ctx);
  await checkEnvironment(ctx, ['qemu']);
  const runs = wholeNumber('--runs', opts.runs, 1, 20);
  const retries = wholeNumber('--retries', opts.retries, 0, 20);
  const scenario = await loadScenarioFile(scenarioFile, await knownRecipes(ctx.config.imagesDir));
  // A missing image recipe, or an output that cannot be written, is refused before any kernel is built.
  await checkRecipes(ctx.config.imagesDir, [scenario]);
  await checkOutputs({ json: opts.json });
  return { scenario, catalog: await loadCatalog(ctx.config.catalogFile), direction: opts.fix ? 'fixed' : 'introduced', count: { runs, retries } };
}

function judgeOptions(scenario: Scenario, count: { runs: number; retries: number }, runDir: string): JudgeOptions {
  return { scenario, requirements: scenarioRequirements(scenario), runs: count.runs, retries: count.retries, runDir };
}

/** --kernels a,b,c (oldest first) or the name of a catalog series (a Debian series asked of the archive). */
async function kernelList(ctx: Context, loaded: Catalog, spec: string): Promise<{ catalog: Catalog; names: string[] }> {
  const { catalog, names } = await expandKernelNames(ctx, loaded, kernelNames('--kernels', [spec])!);
  for (const k of names) findKernel(catalog, k);
  if (names.length < 2) {
    throw new LeaklabError('usage', `--kernels ${spec}: a bisect needs at least two kernels, oldest first`, {
      hint: `give a comma-separated list, or a series from ${catalog.file}${catalog.series.size ? ` (${[...catalog.series.keys()].join(', ')})` : ''}`,
    });
  }
  return { catalog, names };
}

async function finish(result: BisectResult, scenario: Scenario, runDir: string, json?: string): Promise<number> {
  const exitCode = BISECT_EXIT[result.outcome];
  process.stdout.write(bisectText(result, scenario.name) + '\n');
  const report = { leaklab: VERSION, command: process.argv.slice(2), runDir, exitCode, scenario: scenario.name, bisect: result };
  await writeJsonReport(join(runDir, 'report.json'), report, RUNS_DIR_WHERE);
  if (json) await writeJsonReport(resolve(json), report, '--json');
  return exitCode;
}
