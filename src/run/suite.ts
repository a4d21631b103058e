// Owns running a suite: the plan of cells (every scenario on each of its
// kernels or the ones the user picked, and in a container when asked),
// preparing each kernel once, one run directory per cell, results in order.
import { join, basename } from 'node:path';
import type { Scenario, Backend } from '../scenario/scenario.ts';
import { loadCatalog, findKernel, type Catalog } from '../kernel/catalog.ts';
import { prepareKernel } from '../kernel/prepare.ts';
import { scenarioRequirements, type Requirement } from '../kernel/requirements.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import { runScenarioOnKernel, runScenarioInContainer } from './run-scenario.ts';
import { failedCell, type RunResult } from './result.ts';
import { LeaklabError } from '../util/errors.ts';
import { throwIfAborted, type Context } from '../util/context.ts';
import { mapPool } from '../util/pool.ts';

export interface SuiteOptions {
  runDir: string;
  catalog?: Catalog;
  /** Called with each result, in plan order, as soon as it and all before it are ready. */
  onResult?: (r: RunResult) => void;
  /** Guests run side by side. */
  jobs?: number;
}

export interface PlanOptions {
  /** Overrides every scenario's kernels. */
  kernels?: string[];
  /** Overrides every scenario's backends. */
  backends?: Backend[];
}

/** Runs the given cells (from planCells, maybe one shard of them); results in cell order. */
export async function runSuite(ctx: Context, plan: Cell[], opts: SuiteOptions): Promise<RunResult[]> {
  const catalog = opts.catalog ?? (await loadCatalog(ctx.config.catalogFile));
  const vms = plan.filter((c) => c.bootsKernel);
  // Unknown kernel names are bad input: refuse before building anything.
  for (const { k } of vms) findKernel(catalog, k);
  const reqsByKernel = new Map<string, Requirement[]>();
  for (const { s, k } of vms) reqsByKernel.set(k, [...(reqsByKernel.get(k) ?? []), ...scenarioRequirements(s)]);
  // Kernels first, one at a time (a build already uses every core).
  const prepared = new Map<string, KernelArtifact | LeaklabError>();
  for (const { k } of vms) {
    if (prepared.has(k)) continue;
    throwIfAborted(ctx.signal);
    try {
      prepared.set(k, await prepareKernel(ctx, findKernel(catalog, k), reqsByKernel.get(k)!));
    } catch (err) {
      if (!(err instanceof LeaklabError) || err.kind === 'interrupted') throw err;
      prepared.set(k, err);
    }
  }
  // Then the guests, `jobs` at a time; results are reported in plan order:
  // each one once it and every result before it are in.
  const results: RunResult[] = new Array(plan.length);
  let reported = 0;
  // Guests side by side, then the cells that must run alone (containers: they
  // see host-wide slab counts, which any other guest's activity would move).
  const cells = [...plan.keys()];
  const runCell = async (i: number) => {
    const { s, k, backend } = plan[i];
    throwIfAborted(ctx.signal);
    const runDir = join(opts.runDir, s.name, k);
    const kernel = prepared.get(k);
    const r =
      backend === 'docker'
        ? await runScenarioInContainer(ctx, s, runDir, basename(opts.runDir))
        : kernel instanceof LeaklabError
          ? failedCell({ scenario: s.name, scenarioFile: s.file, kernel: k, backend: 'qemu', runDir }, kernel)
          : await runScenarioOnKernel(ctx, s, kernel!, runDir);
    // A guest stopped by Ctrl-C ends in an error that is not the kernel's: report nothing more.
    throwIfAborted(ctx.signal);
    results[i] = r;
    while (results[reported]) opts.onResult?.(results[reported++]);
  };
  await mapPool(
    cells.filter((i) => !plan[i].alone),
    opts.jobs ?? 1,
    runCell,
  );
  await mapPool(
    cells.filter((i) => plan[i].alone),
    1,
    runCell,
  );
  return results;
}

export interface Cell {
  s: Scenario;
  /** The catalog kernel (QEMU), or "docker" for a container on the host's kernel. */
  k: string;
  backend: Backend;
  /** Cells that share a guest kernel, kept together in one shard: the kernel, or the host. */
  group: string;
  /** Where the cell runs, as lists and matrices show it: the kernel, or "host (docker)". */
  where: string;
  /** Boots a catalog kernel (prepared before any guest starts), or runs on the host's. */
  bootsKernel: boolean;
  /** Runs with nothing else at the same time: its slab counts are host-wide. */
  alone: boolean;
}

/**
 * Refuses cells on kernels the catalog does not have, before anything runs;
 * a name from a scenario's own `kernels:` list is blamed on that file.
 */
export function checkCellKernels(catalog: Catalog, cells: Cell[], kernelsGiven: boolean): void {
  for (const c of cells) {
    if (!c.bootsKernel) continue;
    try {
      findKernel(catalog, c.k);
    } catch (err) {
      if (kernelsGiven || !(err instanceof LeaklabError)) throw err;
      throw new LeaklabError('scenario', `${c.s.file}: kernels: ${err.message}`, { hint: `${err.hint}; or fix the scenario's kernels: list` });
    }
  }
}

/** Scenario x kernel for QEMU, plus one container cell per scenario for Docker (named "docker" until it knows the host's release). */
export function planCells(scenarios: Scenario[], opts: PlanOptions): Cell[] {
  return scenarios.flatMap((s) => {
    const backends = opts.backends ?? s.backends;
    return [
      ...(backends.includes('qemu')
        ? (opts.kernels ?? s.kernels).map((k) => ({ s, k, backend: 'qemu' as const, group: k, where: k, bootsKernel: true, alone: false }))
        : []),
      ...(backends.includes('docker')
        ? [{ s, k: 'docker', backend: 'docker' as const, group: 'docker:host', where: 'host (docker)', bootsKernel: false, alone: true }]
        : []),
    ];
  });
}
