// Owns `leaklab minimize`: options, checking all input before a run
// directory is made, the kernel it runs on (-k, else the scenario's first
// kernel expected to leak, else its first), output (text on stdout,
// report.json in the run directory) and the outcome's exit code.
import { resolve, join } from 'node:path';
import { wholeNumber } from './options.ts';
import { parseJobs } from './jobs.ts';
import { sweepLeftovers, checkEnvironment, makeRunDir } from './run-dir.ts';
import { loadScenarioInput } from '../scenario/load.ts';
import { expectationFor, type Scenario } from '../scenario/scenario.ts';
import { checkRecipes, knownRecipes } from '../image/recipe.ts';
import { loadCatalog, findKernel } from '../kernel/catalog.ts';
import { prepareKernel } from '../kernel/prepare.ts';
import { scenarioRequirements } from '../kernel/requirements.ts';
import { minimize, type MinimizeOutcome } from '../minimize/minimize.ts';
import { minimizeText } from '../report/minimize.ts';
import { writeJsonReport } from '../report/json.ts';
import { checkOutputs } from '../report/outputs.ts';
import { RUNS_DIR_WHERE } from '../util/output.ts';
import { LeaklabError, ExitCode } from '../util/errors.ts';
import { VERSION } from '../util/paths.ts';
import type { Context } from '../util/context.ts';

export const MINIMIZE_EXIT: Record<MinimizeOutcome, number> = { minimized: ExitCode.ok, 'no verdict': ExitCode.noVerdict, 'does not leak': 3 };

export interface MinimizeCliOptions {
  kernel?: string;
  jobs: string;
  retries: string;
  json?: string;
  runsDir: string;
  quiet?: boolean;
}

export async function minimizeCommand(ctx: Context, scenarioFile: string, opts: MinimizeCliOptions): Promise<number> {
  await sweepLeftovers(ctx);
  const jobs = parseJobs(opts.jobs);
  const retries = wholeNumber('--retries', opts.retries, 0, 5);
  const { input, scenario } = await loadScenarioInput(scenarioFile, await knownRecipes(ctx.config.imagesDir));
  if (scenario.backends.length === 1 && scenario.backends[0] === 'docker')
    throw new LeaklabError('usage', `${scenarioFile} runs in containers only (backends: [docker]); minimize boots catalog kernels in QEMU guests`, {
      hint: 'add qemu to its backends:, and give -k a catalog kernel',
    });
  // A missing image recipe, a kernel not in the catalog, or an output that cannot be written is refused before any guest runs.
  await checkRecipes(ctx.config.imagesDir, [scenario]);
  await checkOutputs({ json: opts.json });
  const catalog = await loadCatalog(ctx.config.catalogFile);
  const kernelName = opts.kernel ?? defaultKernel(scenario);
  const entry = findKernel(catalog, kernelName);
  await checkEnvironment(ctx, ['qemu']);
  const runDir = await makeRunDir(ctx, opts.runsDir, 'minimize-');
  const kernel = await prepareKernel(ctx, entry, scenarioRequirements(scenario));
  const report = await minimize(ctx, { scenario, input, kernel, runDir, jobs, retries });
  const exitCode = MINIMIZE_EXIT[report.outcome];
  process.stdout.write(minimizeText(report) + '\n');
  const json = { leaklab: VERSION, command: process.argv.slice(2), runDir, exitCode, minimize: report };
  await writeJsonReport(join(runDir, 'report.json'), json, RUNS_DIR_WHERE);
  if (opts.json) await writeJsonReport(resolve(opts.json), json, '--json');
  return exitCode;
}

/** The scenario's first kernel it expects to leak on, else its first kernel. */
function defaultKernel(s: Scenario): string {
  return s.kernels.find((k) => expectationFor(s, k)?.verdict === 'leak') ?? s.kernels[0];
}
