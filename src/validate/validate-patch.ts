// Owns `validate-patch`: build a base kernel and base+patch with the same
// config, run the target scenario and the rest of its suite on both, N times,
// and judge the fix two-sided. Any run without a verdict (boot failure,
// guest not answering, ...) aborts the validation: it is never read as
// "no leak".
import { resolve, basename, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { loadCatalog, type Catalog, type CatalogKernel, type SourceKernel } from '../kernel/catalog.ts';
import { prepareKernel } from '../kernel/prepare.ts';
import { scenarioRequirements } from '../kernel/requirements.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import { loadScenarioFile, loadScenarios } from '../scenario/load.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { runScenarioOnKernel } from '../run/run-scenario.ts';
import type { RunResult } from '../run/result.ts';
import { side, outcome, isRegression, confidence, type Side, type Outcome } from './outcome.ts';
import { LeaklabError } from '../util/errors.ts';
import { throwIfInterrupted } from '../util/cleanup.ts';
import { exists } from '../util/cache.ts';
import { progress } from '../util/progress.ts';
import { sha256 } from '../util/hash.ts';
import { mapPool } from '../util/pool.ts';

export interface ValidateOptions {
  source: string;
  patches: string[];
  scenario: string;
  /** Directory of further scenarios checked for regressions; false for none. */
  suite: string | false;
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
  patches: { path: string; sha256: string }[];
  warnings: string[];
  results: RunResult[];
}

export async function validatePatch(opts: ValidateOptions): Promise<ValidationReport> {
  const base = sourceKernel(await loadCatalog(), opts.source);
  const patches = await readPatchFiles(opts.patches);
  const patched: CatalogKernel = {
    ...base,
    name: `${base.name}+${patches.length === 1 ? basename(patches[0].path).replace(/\.(patch|diff)$/, '') : `${patches.length}-patches`}`,
    patches: [...(base.patches ?? []), ...patches.map((p) => p.path)],
  };
  const target = await loadScenarioFile(opts.scenario);
  const others = opts.suite === false ? [] : (await loadScenarios(opts.suite)).filter((s) => s.name !== target.name);
  const scenarios = [target, ...others];
  const reqs = scenarios.flatMap(scenarioRequirements);
  progress('validate', `base ${base.name}, patched ${patched.name}; ${scenarios.length} scenario(s) x 2 kernels x ${opts.runs} run(s)`);
  const results: RunResult[] = [];
  const runAll = async (list: Scenario[], kernels: KernelArtifact[]) => {
    const tasks = [];
    for (let run = 1; run <= opts.runs; run++) for (const s of list) for (const k of kernels) tasks.push({ s, k, run });
    results.push(...await mapPool(tasks, opts.jobs, (t) => runOnce(t.s, t.k, t.run, opts)));
  };
  const compare = (s: Scenario, b: KernelArtifact, p?: KernelArtifact): ScenarioComparison => {
    const pick = (k: KernelArtifact) => results.filter((r) => r.scenario === s.name && r.kernel === k.name);
    const bs = side(b.name, pick(b));
    const ps = p ? side(p.name, pick(p)) : undefined;
    return { scenario: s.name, base: bs, patched: ps, regression: ps ? isRegression(bs, ps) : false };
  };

  // The base first: a base that does not leak cannot judge any patch, and
  // then the patched kernel need not even build.
  const baseKernel = await prepareKernel(base, reqs);
  await runAll([target], [baseKernel]);
  const baseOnly = compare(target, baseKernel);
  if (baseOnly.base.consensus !== 'leak') {
    const judged = outcome(baseOnly.base, undefined);
    return { ...judged, confidence: 0, target: baseOnly, others: [], regressions: [], kernels: { base: baseKernel, identicalBzImage: false }, patches, warnings: [], results };
  }

  const warnings = await unbuiltFiles(patches, baseKernel);
  for (const w of warnings) progress('validate', `warning: ${w}`);
  const patchedKernel = await prepareKernel(patched, reqs);
  const identicalBzImage = baseKernel.provenance.bzImageSha256 === patchedKernel.provenance.bzImageSha256;
  if (identicalBzImage) progress('validate', 'the patched bzImage is identical to the base: the patch changes nothing this config builds');
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
async function unbuiltFiles(patches: { path: string }[], base: KernelArtifact): Promise<string[]> {
  if (!base.objdir) return [];
  const files = new Set<string>();
  for (const p of patches) {
    for (const m of (await readFile(p.path, 'utf8')).matchAll(/^\+\+\+ [^/\s]+\/(\S+\.c)\s*$/gm)) files.add(m[1]);
  }
  const unbuilt: string[] = [];
  for (const f of files) if (!(await exists(join(base.objdir, f.replace(/\.c$/, '.o'))))) unbuilt.push(f);
  if (unbuilt.length === 0) return [];
  const all = unbuilt.length === files.size;
  return [`the patch changes ${unbuilt.join(', ')}, which this config does not build${all ? ': it cannot change this kernel' : ''}`];
}

/** One run; a run without a verdict aborts the validation (never read as "no leak"). */
async function runOnce(s: Scenario, k: KernelArtifact, run: number, opts: ValidateOptions): Promise<RunResult> {
  throwIfInterrupted();
  const r = await runScenarioOnKernel(s, k, join(opts.runDir, `run-${run}`, s.name, k.name));
  if (r.error) {
    throw new LeaklabError(r.error.kind, `validation aborted: run ${run} of ${s.name} on ${k.name} gave no verdict: ${r.error.message}`, {
      hint: r.error.hint, details: r.error.details,
    });
  }
  progress('validate', `run ${run}/${opts.runs}: ${s.name} on ${k.name}: ${r.verdict!.verdict} ${r.verdict!.deciding.keptPerPacket.toFixed(2)} obj/packet`);
  return r;
}

/** The catalog kernel to patch: it must be one leaklab builds from source. */
export function sourceKernel(catalog: Catalog, name: string): SourceKernel & CatalogKernel {
  const buildable = [...catalog.kernels.values()].filter((k) => k.kind === 'source').map((k) => k.name);
  const k = catalog.kernels.get(name);
  if (!k || k.kind !== 'source') {
    const what = !k ? 'is not in the catalog' : `is a ${k.kind === 'package' ? 'Debian package' : 'prebuilt bzImage'}: a patch needs a kernel leaklab builds from source`;
    throw new LeaklabError(k ? 'usage' : 'catalog', `--source ${name} ${what}`, { hint: `use one of: ${buildable.join(', ')} (catalog entries with source:)` });
  }
  return k as SourceKernel & CatalogKernel;
}

export async function readPatchFiles(paths: string[]): Promise<{ path: string; sha256: string }[]> {
  if (paths.length === 0) throw new LeaklabError('usage', 'no patch given', { hint: 'give --patch FILE (repeatable)' });
  return Promise.all(paths.map(async (p) => {
    const path = resolve(p);
    if (!(await exists(path))) throw new LeaklabError('usage', `patch not found: ${path}`, { hint: 'give the path of a unified diff (e.g. from git format-patch)' });
    const text = await readFile(path, 'utf8');
    if (!/^@@ /m.test(text)) throw new LeaklabError('usage', `${path} is empty: it has no diff hunks`, { hint: 'give a unified diff with at least one hunk (git format-patch or diff -u)' });
    return { path, sha256: sha256(text) };
  }));
}

