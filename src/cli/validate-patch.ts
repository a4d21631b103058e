// Owns `leaklab validate-patch`: options, output (text on stdout, report.md
// and report.json in the run directory) and the outcome's exit code.
import { wholeNumber } from './options.ts';
import { resolve, join, dirname } from 'node:path';
import { validatePatch } from '../validate/validate-patch.ts';
import { OUTCOME_EXIT, runsFor } from '../validate/outcome.ts';
import { validationText, validationMarkdown } from '../report/validation.ts';
import { writeJsonReport } from '../report/json.ts';
import { checkOutputs } from '../report/outputs.ts';
import { writeOutput, RUNS_DIR_WHERE } from '../util/output.ts';
import { parseJobs } from './jobs.ts';
import { loadCatalog } from '../kernel/catalog.ts';
import { validationKernels } from '../validate/patch-input.ts';
import { sweepLeftovers, checkEnvironment, makeRunDir } from './run-dir.ts';
import { loadScenarioFile, loadScenarios } from '../scenario/load.ts';
import { checkRecipes, knownRecipes } from '../image/recipe.ts';
import { VERSION } from '../util/paths.ts';
import type { Context } from '../util/context.ts';

export const DEFAULT_CONFIDENCE = 0.95;

export interface ValidateCliOptions {
  source: string;
  patch: string[];
  configFrom?: string;
  suite?: string | boolean;
  runs?: string;
  jobs: string;
  json?: string;
  runsDir: string;
  quiet?: boolean;
}

export async function validatePatchCommand(ctx: Context, scenario: string, opts: ValidateCliOptions): Promise<number> {
  await sweepLeftovers(ctx);
  await checkEnvironment(ctx, ['qemu']);
  const runs =
    opts.runs === undefined
      ? runsFor(DEFAULT_CONFIDENCE)
      : wholeNumber('--runs', opts.runs, 1, 50, `leave it out for ${runsFor(DEFAULT_CONFIDENCE)} (95 % confidence)`);
  const jobs = parseJobs(opts.jobs);
  // --suite DIR, --no-suite (false), or neither (undefined): the scenario's own directory.
  const suite = opts.suite === false ? false : typeof opts.suite === 'string' ? resolve(opts.suite) : dirname(resolve(scenario));
  // Bad input (scenarios, their image recipes, outputs, kernels, patches) is refused before a run directory is made.
  const known = await knownRecipes(ctx.config.imagesDir);
  const target = await loadScenarioFile(scenario, known);
  const others = suite === false ? [] : (await loadScenarios(suite, known)).filter((s) => s.name !== target.name);
  await checkRecipes(ctx.config.imagesDir, [target, ...others]);
  await checkOutputs({ json: opts.json });
  const kernels = await validationKernels(ctx, await loadCatalog(ctx.config.catalogFile), opts.source, opts.patch ?? [], opts.configFrom);
  const runDir = await makeRunDir(ctx, opts.runsDir, 'validate-');
  const report = await validatePatch(ctx, { kernels, target, others, runs, runDir, jobs });
  const exitCode = report.regressions.length > 0 && report.outcome === 'FIX HOLDS' ? 1 : OUTCOME_EXIT[report.outcome];
  process.stdout.write(validationText(report) + '\n');
  await writeOutput(join(runDir, 'report.md'), validationMarkdown(report, process.argv.slice(2)), RUNS_DIR_WHERE);
  const json = { leaklab: VERSION, command: process.argv.slice(2), runDir, exitCode, validation: report } as Record<string, unknown>;
  await writeJsonReport(join(runDir, 'report.json'), json, RUNS_DIR_WHERE);
  if (opts.json) await writeJsonReport(resolve(opts.json), json, '--json');
  process.stderr.write(`leaklab: report: ${join(runDir, 'report.md')}\n`);
  return exitCode;
}
