// Owns running a suite: every scenario on each of its kernels (or the ones
// the user picked), preparing each kernel once, one run directory per
// scenario x kernel, and the results in order.
import { join } from 'node:path';
import type { Scenario } from '../scenario/scenario.ts';
import { loadCatalog, findKernel, type Catalog } from '../kernel/catalog.ts';
import { prepareKernel } from '../kernel/prepare.ts';
import { scenarioRequirements, type Requirement } from '../kernel/requirements.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import { runScenarioOnKernel } from './run-scenario.ts';
import type { RunResult } from './result.ts';
import { LeaklabError } from '../util/errors.ts';
import { throwIfInterrupted } from '../util/cleanup.ts';
import { mapPool } from '../util/pool.ts';

export interface SuiteOptions {
  /** Overrides every scenario's kernels. */
  kernels?: string[];
  runDir: string;
  catalog?: Catalog;
  /** Called with each result, in plan order, as soon as it and all before it are ready. */
  onResult?: (r: RunResult) => void;
  /** Guests run side by side. */
  jobs?: number;
}

export async function runSuite(scenarios: Scenario[], opts: SuiteOptions): Promise<RunResult[]> {
  const catalog = opts.catalog ?? await loadCatalog();
  const plan = scenarios.flatMap((s) => (opts.kernels ?? s.kernels).map((k) => ({ s, k })));
  // Unknown kernel names are bad input: refuse before building anything.
  for (const { k } of plan) findKernel(catalog, k);
  const reqsByKernel = new Map<string, Requirement[]>();
  for (const { s, k } of plan) reqsByKernel.set(k, [...(reqsByKernel.get(k) ?? []), ...scenarioRequirements(s)]);
  // Kernels first, one at a time (a build already uses every core).
  const prepared = new Map<string, KernelArtifact | LeaklabError>();
  for (const { k } of plan) {
    if (prepared.has(k)) continue;
    throwIfInterrupted();
    try {
      prepared.set(k, await prepareKernel(findKernel(catalog, k), reqsByKernel.get(k)!));
    } catch (err) {
      if (!(err instanceof LeaklabError) || err.kind === 'interrupted') throw err;
      prepared.set(k, err);
    }
  }
  // Then the guests, `jobs` at a time; results are reported in plan order.
  const done = new Map<number, RunResult>();
  let reported = 0;
  return mapPool(plan, opts.jobs ?? 1, async ({ s, k }, i) => {
    throwIfInterrupted();
    const kernel = prepared.get(k)!;
    const runDir = join(opts.runDir, s.name, k);
    const r = kernel instanceof LeaklabError ? failedResult(s, k, runDir, kernel) : await runScenarioOnKernel(s, kernel, runDir);
    done.set(i, r);
    while (done.has(reported)) opts.onResult?.(done.get(reported++)!);
    return r;
  });
}

function failedResult(s: Scenario, kernel: string, runDir: string, err: LeaklabError): RunResult {
  return {
    scenario: s.name, scenarioFile: s.file, kernel, backend: 'qemu', runDir, troubles: [],
    error: { kind: err.kind, message: err.message, hint: err.hint, details: err.details },
    seconds: { prepare: 0, boot: 0, measure: 0, total: 0 },
  };
}
