// Owns `leaklab matrix`: print a GitHub Actions matrix (JSON) of the suite's
// shards, one shard per kernel (cells that boot the same kernel share a job,
// so it is built once) unless --max-jobs packs them into fewer. Each entry
// names the --shard to pass to `leaklab run`.
import { loadScenarios } from '../scenario/load.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { loadCatalog } from '../kernel/catalog.ts';
import { expandGiven } from '../kernel/series.ts';
import { knownRecipes } from '../image/recipe.ts';
import { planCells, checkCellKernels } from '../run/suite.ts';
import { shardCells } from '../run/shard.ts';
import { wholeNumber, parseBackend, kernelNames } from './options.ts';
import type { Context } from '../util/context.ts';

export interface MatrixOptions {
  kernel: string[];
  backend?: string;
  maxJobs?: string;
}

export async function matrixCommand(ctx: Context, paths: string[], opts: MatrixOptions): Promise<number> {
  const given = kernelNames('--kernel', opts.kernel);
  const scenarios: Scenario[] = [];
  const known = await knownRecipes(ctx.config.imagesDir);
  for (const p of paths) scenarios.push(...(await loadScenarios(p, known)));
  // A series given with -k stands for its kernels (a Debian series: what the archive has now, each version pinned).
  const { catalog, names: kernels } = await expandGiven(ctx, await loadCatalog(ctx.config.catalogFile), given);
  const cells = planCells(scenarios, { kernels, backends: parseBackend(opts.backend) });
  checkCellKernels(catalog, cells, kernels !== undefined);
  const groups = new Set(cells.map((c) => c.group)).size;
  const maxJobs = opts.maxJobs === undefined ? groups : wholeNumber('--max-jobs', opts.maxJobs, 1, 256, 'leave it out for one job per kernel');
  const count = Math.min(groups, maxJobs);
  const shards = shardCells(cells, count);
  const include = shards.map((s, i) => ({
    shard: `${i + 1}/${count}`,
    kernels: [...new Set(s.map((c) => c.where))].join(', '),
    cells: s.length,
  }));
  process.stdout.write(JSON.stringify({ include }) + '\n');
  return 0;
}
