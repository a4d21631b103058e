// Owns `validate-patch`: build a base kernel and base+patch with the same
// config, run the target scenario and the rest of its suite on both, N times,
// and judge the fix two-sided. Any run without a verdict (boot failure,
// guest not answering, ...) aborts the validation: it is never read as
// "no leak".
import { join } from 'node:path';
import { builtHere } from '../kernel/stale-objects.ts';
import type { ValidationKernels, PatchInput } from './patch-input.ts';
import { prepareKernel } from '../kernel/prepare.ts';
import { scenarioRequirements } from '../kernel/requirements.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { runScenarioOnKernel } from '../run/run-scenario.ts';
import { errorOfResult, type JudgedResult } from '../run/result.ts';
import { side, outcome, isRegression, confidence, type Side, type Outcome } from './outcome.ts';
import { throwIfAborted, type Context } from '../util/context.ts';
import { mapPool } from '../util/pool.ts';
import { rateFigures } from '../verdict/figures.ts';

export interface ValidateOptions {
  /** The kernels to compare, from validationKernels(). */
  kernels: ValidationKernels;
  /** The scenario that must leak on the base and not on the patched kernel. */
  target: Scenario;
  /** Further scenarios checked for regressions (the suite, without the target). */
  others: Scenario[];
  runs: number;
  runDir: string;
  /** Guests run side by side (each has its own run dir). */
  jobs: number;
}

export interface ScenarioComparison {
  scenario: string;
  base: Side;
  /** Absent when the base did not reproduce and the patched kernel was not run. */
  patched?: Side;
  regression: boolean;
}

export interface ValidationReport {
  outcome: Outcome;
  why: string;
  confidence: number;
  target: ScenarioComparison;
  others: ScenarioComparison[];
  regressions: string[];
  kernels: { base: KernelArtifact; patched?: KernelArtifact; identicalBzImage: boolean };
  patches: PatchInput[];
  warnings: string[];
  results: JudgedResult[];
}

export async function validatePatch(ctx: Context, opts: ValidateOptions): Promise<ValidationReport> {
  const { base, patched, patches } = opts.kernels;
  const { target, others } = opts;
  const scenarios = [target, ...others];
  const reqs = scenarios.flatMap(scenarioRequirements);
  ctx.progress.step('validate', `base ${base.name}, patched ${patched.name}; ${scenarios.length} scenario(s) x 2 kernels x ${opts.runs} run(s)`);
  const results: JudgedResult[] = [];
  const runAll = async (list: Scenario[], kernels: KernelArtifact[]) => {
    const tasks = [];
    for (let run = 1; run <= opts.runs; run++) for (const s of list) for (const k of kernels) tasks.push({ s, k, run });
    results.push(...(await mapPool(tasks, opts.jobs, (t) => runOnce(ctx, t.s, t.k, t.run, opts))));
  };
  const compare = (s: Scenario, b: KernelArtifact, p?: KernelArtifact): ScenarioComparison => {
    const pick = (k: KernelArtifact) => results.filter((r) => r.scenario === s.name && r.kernel === k.name);
    const bs = side(b.name, pick(b));
    const ps = p ? side(p.name, pick(p)) : undefined;
    return { scenario: s.name, base: bs, patched: ps, regression: ps ? isRegression(bs, ps) : false };
  };

  // The base first: a base that does not leak cannot judge any patch, and
  // then the patched kernel need not even build.
  const baseKernel = await prepareKernel(ctx, base, reqs);
  await runAll([target], [baseKernel]);
  const baseOnly = compare(target, baseKernel);
  if (baseOnly.base.consensus !== 'leak') {
    const judged = outcome(baseOnly.base, undefined);
    return {
      ...judged,
      confidence: 0,
      target: baseOnly,
      others: [],
      regressions: [],
      kernels: { base: baseKernel, identicalBzImage: false },
      patches,
      warnings: [],
      results,
    };
  }

  const warnings = await unbuiltFiles(patches, baseKernel);
  for (const w of warnings) ctx.progress.step('validate', `warning: ${w}`);
  const patchedKernel = await prepareKernel(ctx, patched, reqs);
  const identicalBzImage = baseKernel.provenance.bzImageSha256 === patchedKernel.provenance.bzImageSha256;
  if (identicalBzImage) ctx.progress.step('validate', 'the patched bzImage is identical to the base: the patch changes nothing this config builds');
  await runAll([target], [patchedKernel]);
  await runAll(others, [baseKernel, patchedKernel]);
  const targetCmp = compare(target, baseKernel, patchedKernel);
  const otherCmps = others.map((s) => compare(s, baseKernel, patchedKernel));
  const judged = outcome(targetCmp.base, targetCmp.patched);
  return {
    ...judged,
    confidence: judged.outcome === 'FIX HOLDS' ? confidence(opts.runs) : 0,
    target: targetCmp,
    others: otherCmps,
    regressions: otherCmps.filter((c) => c.regression).map((c) => c.scenario),
    kernels: { base: baseKernel, patched: patchedKernel, identicalBzImage },
    patches,
    warnings,
    results,
  };
}

/** Warns about C files the patch changes that this config does not compile. */
async function unbuiltFiles(patches: PatchInput[], base: KernelArtifact): Promise<string[]> {
  if (!base.objdir) return [];
  const files = new Set(patches.flatMap((p) => p.files).filter((f) => f.endsWith('.c')));
  const unbuilt: string[] = [];
  for (const f of files) if (!(await builtHere(base.objdir, f))) unbuilt.push(f);
  if (unbuilt.length === 0) return [];
  const all = unbuilt.length === files.size;
  return [`the patch changes ${unbuilt.join(', ')}, which this config does not build${all ? ': it cannot change this kernel' : ''}`];
}

/** One run; a run without a verdict aborts the validation (never read as "no leak"). */
async function runOnce(ctx: Context, s: Scenario, k: KernelArtifact, run: number, opts: ValidateOptions): Promise<JudgedResult> {
  throwIfAborted(ctx.signal);
  const r = await runScenarioOnKernel(ctx, s, k, join(opts.runDir, `run-${run}`, s.name, k.name));
  if (r.error) throw errorOfResult(r, `validation aborted: run ${run} of ${s.name} on ${k.name} gave no verdict: ${r.error.message}`);
  ctx.progress.step('validate', `run ${run}/${opts.runs}: ${s.name} on ${k.name}: ${r.verdict.verdict} ${rateFigures(r.verdict)}`);
  return r;
}
