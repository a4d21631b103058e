// Owns `leaklab clean`: every backend sweeps what killed leaklab runs left
// behind (guests and containers of running leaklab processes are kept), the
// cache loses its unfinished entries, and on request every backend removes
// leaklab's images it keeps outside the cache.
import { BACKENDS, BACKEND_NAMES } from '../run/backends.ts';
import { LeaklabError } from '../util/errors.ts';
import { removeOrphanedTemps } from '../util/cache.ts';
import type { Context } from '../util/context.ts';

export async function cleanCommand(ctx: Context, opts: { images?: boolean }): Promise<number> {
  for (const name of BACKEND_NAMES) {
    const backend = BACKENDS[name];
    try {
      const swept = await backend.sweep(ctx);
      process.stdout.write(`${swept.what}: ${swept.count}\n`);
      if (opts.images && backend.removeImages) process.stdout.write(`${name} images removed: ${await backend.removeImages(ctx)}\n`);
    } catch (err) {
      // A backend that cannot be reached (no Docker engine) has nothing of ours to sweep; --images asked for it, so it fails.
      if (!(err instanceof LeaklabError) || opts.images) throw err;
      process.stdout.write(`${name}: not checked (${err.message})\n`);
    }
  }
  process.stdout.write(`unfinished cache entries removed: ${await removeOrphanedTemps(ctx)}\n`);
  return 0;
}
