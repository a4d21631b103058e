// Owns `minimize` as a piece of work: confirm the scenario leaks on the
// kernel, shrink it to the ingredients the leak needs (shrink.ts), check the
// minimal scenario's traffic (traffic-checks.ts), and write what a suite
// can keep: the minimal scenario and, as controls, every variant of it that
// does not leak. Every variant is a scenario file in the run directory
// (variants/), run like any other; nothing is judged by anything but a run.
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { ScenarioInput } from '../scenario/schema.ts';
import type { Scenario } from '../scenario/scenario.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import { ingredientsOf, without, type Ingredient } from './ingredients.ts';
import { trafficChecks, type TrafficCheck } from './traffic-checks.ts';
import { shrink, onceEach, type Finding, type Judge, type Trial } from './shrink.ts';
import { runVariant, type VariantRun } from './variant-run.ts';
import { renamed, writeScenarioFile } from './variant-file.ts';
import { mapPool } from '../util/pool.ts';
import { writingTo, RUNS_DIR_WHERE } from '../util/output.ts';
import type { Context } from '../util/context.ts';

export type MinimizeOutcome = 'minimized' | 'does not leak' | 'no verdict';

export interface CheckResult {
  id: TrafficCheck['id'];
  label: string;
  notApplicable?: string;
  run?: VariantRun;
  /** The control written for a check that does not leak. */
  control?: string;
}

export interface MinimizeReport {
  outcome: MinimizeOutcome;
  scenario: string;
  scenarioFile: string;
  kernel: string;
  /** The scenario as given, on the kernel. */
  original: VariantRun;
  findings: (Finding & { control?: string })[];
  checks: CheckResult[];
  minimalFile?: string;
  controlsDir?: string;
  controls: string[];
  /** Guest runs of variants (the scenario as given not counted; a retry with more packets counts). */
  variantRuns: number;
  /** Ingredients tried (wholes and their parts). */
  ingredients: number;
}

export interface MinimizeOptions {
  scenario: Scenario;
  /** The file's own words, which variants are made from. */
  input: ScenarioInput;
  kernel: KernelArtifact;
  runDir: string;
  jobs: number;
  retries: number;
}

export async function minimize(ctx: Context, opts: MinimizeOptions): Promise<MinimizeReport> {
  const { scenario, input, kernel } = opts;
  const base = {
    scenario: scenario.name,
    scenarioFile: scenario.file,
    kernel: kernel.name,
    findings: [],
    checks: [],
    controls: [],
    variantRuns: 0,
    ingredients: 0,
  };
  ctx.progress.step('minimize', `${scenario.name} as given on ${kernel.name}`);
  const original = await runVariant(ctx, scenario, join(opts.runDir, 'as-given'), { kernel, caches: [], retries: opts.retries });
  ctx.progress.step('minimize', `as given: ${original.figures}`);
  if (original.state !== 'leak') return { ...base, outcome: original.state === 'no-leak' ? 'does not leak' : 'no verdict', original };

  let variants = 0;
  let runs = 0;
  const variantsDir = join(opts.runDir, 'variants');
  await writingTo(variantsDir, RUNS_DIR_WHERE, () => mkdir(variantsDir, { recursive: true }));
  const judge: Judge = onceEach(
    async (trial) => {
      const n = ++variants;
      const run = await runTrial(ctx, trial, n, { ...opts, caches: original.leaking ?? [], dir: variantsDir });
      runs += run.runDirs.length;
      ctx.progress.step('minimize', `variant ${n}: ${trial.what}: ${run.figures}`);
      return run;
    },
    [[input, original]],
  );
  const ingredients = ingredientsOf(input);
  ctx.progress.step('minimize', `${ingredients.length} ingredients to take away one at a time: ${ingredients.map((x) => x.label).join('; ') || 'none'}`);
  const shrunk = await shrink(input, judge, opts.jobs);
  const minimalRun = await judge({ input: shrunk.minimal, what: 'the minimal scenario', slug: 'minimal' });
  const checks = await mapPool(trafficChecks(shrunk.minimal), opts.jobs, (c) => runCheck(c, judge));
  const written = await writeOutputs(opts, shrunk.minimal, minimalRun, shrunk.findings, checks, shrunk.removed);
  return { ...base, outcome: 'minimized', original, ...written, variantRuns: runs, ingredients: shrunk.tried };
}

/** Writes the trial as variants/NN-slug.yaml (what was run stays there to rerun) and runs it. */
async function runTrial(ctx: Context, trial: Trial, n: number, opts: MinimizeOptions & { caches: string[]; dir: string }): Promise<VariantRun> {
  const name = `${opts.scenario.name}-v${String(n).padStart(2, '0')}-${trial.slug}`;
  const comment = [`Variant ${n} of ${opts.scenario.file}, run by leaklab minimize on ${opts.kernel.name}: ${trial.what}.`];
  const { file, scenario, problems } = await writeScenarioFile(opts.dir, renamed(trial.input, name, opts.input.kernels), comment);
  if (!scenario) return { scenario: name, file, runDirs: [], state: 'undecided', figures: `not run: not a valid scenario (${problems})` };
  return runVariant(ctx, scenario, join(opts.dir, name), { kernel: opts.kernel, caches: trial.anyCache ? [] : opts.caches, retries: opts.retries });
}

async function runCheck(c: TrafficCheck, judge: Judge): Promise<CheckResult> {
  const result = { id: c.id, label: c.label };
  if (!c.input) return { ...result, notApplicable: c.notApplicable };
  return { ...result, run: await judge({ input: c.input, what: c.label, slug: c.slug, anyCache: true }) };
}

/**
 * The minimal scenario (expected to leak on the kernel) and its controls
 * (expected not to leak anywhere): the minimal scenario without each needed
 * ingredient, and each traffic check that did not leak. Each written file is
 * loaded back as a user's would be.
 */
async function writeOutputs(
  opts: MinimizeOptions,
  minimal: ScenarioInput,
  minimalRun: VariantRun,
  findings: Finding[],
  checks: CheckResult[],
  removed: string[],
): Promise<Pick<MinimizeReport, 'findings' | 'checks' | 'minimalFile' | 'controlsDir' | 'controls'>> {
  const { scenario, kernel } = opts;
  const kernels = [kernel.name, ...opts.input.kernels.filter((k) => k !== kernel.name)];
  const name = `${scenario.name}-minimal`;
  const minimalFile = await writeChecked(
    opts.runDir,
    renamed(minimal, name, kernels, { [kernel.name]: 'leak' }, `the minimal trigger of ${scenario.name} (leaklab minimize on ${kernel.name})`),
    minimalComment(opts, minimalRun, findings),
  );
  const controlsDir = join(opts.runDir, 'controls');
  await writingTo(controlsDir, RUNS_DIR_WHERE, () => mkdir(controlsDir, { recursive: true }));
  const control = async (input: ScenarioInput, slug: string, what: string, run: VariantRun) =>
    writeChecked(controlsDir, renamed(input, `${scenario.name}-control-${slug}`, kernels, { '*': 'no-leak' }, `control: ${name}, ${what}`), [
      `Control written by leaklab minimize: the minimal scenario ${name}, ${what}.`,
      `On ${kernel.name}: ${run.figures} (${run.runDirs[0] ?? 'not run'}).`,
    ]);
  const withControls: (Finding & { control?: string })[] = [];
  for (const f of findings) {
    const x: Ingredient = f.ingredient;
    const own = f.need === 'needed' ? await control(without(opts.input, [...removed, x.id]), x.slug, `${x.label}: ${x.change}`, f.run) : undefined;
    withControls.push({ ...f, control: own });
  }
  const checked: CheckResult[] = [];
  for (const c of checks) {
    const check = trafficChecks(minimal).find((t) => t.id === c.id)!;
    const own = c.run?.state === 'no-leak' ? await control(check.input!, check.slug, `traffic ${c.label}`, c.run) : undefined;
    checked.push({ ...c, control: own });
  }
  const controls = [...withControls.map((f) => f.control), ...checked.map((c) => c.control)].filter((f): f is string => f !== undefined);
  return { findings: withControls, checks: checked, minimalFile, controlsDir, controls };
}

function minimalComment(opts: MinimizeOptions, run: VariantRun, findings: Finding[]): string[] {
  const line = (f: Finding) => `  ${f.ingredient.label} (${f.ingredient.change}: ${f.run.figures})`;
  const of = (need: Finding['need']) => findings.filter((f) => f.need === need).map(line);
  const section = (title: string, lines: string[]) => (lines.length ? [title, ...lines] : []);
  return [
    `Minimal scenario: leaklab minimize took ${opts.scenario.file} apart on ${opts.kernel.name}.`,
    `On ${opts.kernel.name}: ${run.figures}.`,
    ...section('Needed (the leak stops without each):', of('needed')),
    ...section('Taken away (the leak shows without each):', of('not needed')),
    ...section('Kept, undecided (a variant without it gave no verdict):', of('undecided')),
  ];
}

/** Writes a scenario file and checks it loads: a file minimize writes that does not load is a leaklab bug. */
async function writeChecked(dir: string, input: ScenarioInput, comment: string[]): Promise<string> {
  const { file, problems } = await writeScenarioFile(dir, input, comment);
  if (problems) throw new Error(`leaklab minimize wrote ${file}, which does not load: ${problems}`);
  return file;
}
