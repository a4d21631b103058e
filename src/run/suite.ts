// Owns running a suite: the plan of cells (every scenario on each of its
// kernels or the ones the user picked, and in a container when asked),
// preparing each kernel once, one run directory per cell, results in order.
import { join, basename } from 'node:path';
import type { Scenario, Backend } from '../scenario/scenario.ts';
import { loadCatalog, findKernel, type Catalog } from '../kernel/catalog.ts';
import { prepareKernel } from '../kernel/prepare.ts';
import { compileWorkloads } from '../image/guest-programs.ts';
import { scenarioRequirements, type Requirement } from '../kernel/requirements.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import { runCell as runOneCell } from './run-scenario.ts';
import { BACKENDS, BACKEND_NAMES } from './backends.ts';
import type { Cell } from './cell.ts';
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
  // So is a program that does not compile: it is compiled (and cached) before any kernel is built.
  await compileWorkloads(
    ctx,
    plan.map((c) => c.s),
  );
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
      // A full or read-only filesystem fails every kernel alike: it ends the run, with one message.
      if (!(err instanceof LeaklabError) || err.kind === 'interrupted' || err.kind === 'filesystem') throw err;
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
    const cell = plan[i];
    throwIfAborted(ctx.signal);
    const runDir = join(opts.runDir, cell.s.name, cell.dir);
    const kernel = cell.bootsKernel ? prepared.get(cell.k) : undefined;
    const r =
      kernel instanceof LeaklabError
        ? failedCell({ scenario: cell.s.name, scenarioFile: cell.s.file, kernel: cell.k, backend: cell.backend, runDir }, kernel)
        : await runOneCell(ctx, cell, { kernel, runDir, runId: basename(opts.runDir) });
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

/** Each scenario's cells on each of its backends (or the given ones), in registry order: scenario x kernel for QEMU, one container cell per scenario. */
export function planCells(scenarios: Scenario[], opts: PlanOptions): Cell[] {
  return scenarios.flatMap((s) => {
    const backends = opts.backends ?? s.backends;
    return BACKEND_NAMES.filter((b) => backends.includes(b)).flatMap((b) => BACKENDS[b].cells(s, opts.kernels ?? s.kernels));
  });
}
