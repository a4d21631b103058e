// Owns the on-disk cache: where it lives, and the one way entries are made
// (built in a temp dir beside the entry, renamed into place when complete),
// so an interrupted or failed build never leaves a half-written entry. A
// temp dir is named after its owner, so one left by a killed leaklab is
// removed by the next run (or `leaklab clean`).
import { rename, rm, stat, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Context } from './context.ts';
import { makeUserDir, makeDirs } from './dirs.ts';
import { ownerTag, removeOrphans } from './owner.ts';
import { asFilesystemError, writingTo } from './output.ts';

/** A path inside the cache (the configuration says where it is). */
export function cachePath(ctx: Pick<Context, 'config'>, ...parts: string[]): string {
  return join(ctx.config.cacheRoot, ...parts);
}

export const CACHE_HINT = 'set LEAKLAB_CACHE to a directory you can write to (default ~/.cache/leaklab)';

/** What a message about a cache that cannot be written tells the user to change. */
const CACHE_WHERE = 'LEAKLAB_CACHE';

/** What marks a temp entry's name: `.KEY.tmp-PID.SCOPE-XXXXXX`. */
const TEMP_MARKER = '.tmp-';

/** The prefix of a temp entry for `key` (mkdtemp adds the random part; a file adds its own). */
export function tempPrefix(key: string): string {
  return `.${key}${TEMP_MARKER}${ownerTag()}`;
}

/** Removes the temp entries of every cache area whose leaklab process is gone (SIGKILL, a crash); returns how many. */
export async function removeOrphanedTemps(ctx: Pick<Context, 'config'>): Promise<number> {
  let removed = 0;
  const areas = await readdir(cachePath(ctx), { withFileTypes: true }).catch(() => []);
  for (const area of areas) if (area.isDirectory()) removed += await removeOrphans(cachePath(ctx, area.name), TEMP_MARKER);
  return removed;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns the cache directory `area/key`, creating it with `fill` if absent.
 * `fill` writes into a fresh temp dir; only a fill that resolves is renamed
 * into place, so the entry either exists complete or not at all.
 */
export async function cachedDir(ctx: Context, area: string, key: string, fill: (dir: string) => Promise<void>): Promise<string> {
  const final = cachePath(ctx, area, key);
  if (await exists(final)) return final;
  await makeUserDir(cachePath(ctx, area), 'the cache directory', CACHE_HINT);
  const tmp = await writingTo(cachePath(ctx, area), CACHE_WHERE, () => mkdtemp(join(cachePath(ctx, area), tempPrefix(key))));
  const unregister = ctx.cleanup.add(`temp dir ${tmp}`, () => rm(tmp, { recursive: true, force: true }));
  try {
    await fill(tmp);
    try {
      await rename(tmp, final);
    } catch (err) {
      // Another run finished the same entry first: theirs is as good as ours.
      if (!(await exists(final))) throw err;
      await rm(tmp, { recursive: true, force: true });
    }
    return final;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // A full disk during a build or an unpack is said as such, naming where.
    throw asFilesystemError(err, (err as NodeJS.ErrnoException).path ?? tmp, CACHE_WHERE);
  } finally {
    unregister();
  }
}

/** The small text file `area/key` (e.g. an index entry), or undefined when there is none. */
export async function readCachedText(ctx: Pick<Context, 'config'>, area: string, key: string): Promise<string | undefined> {
  return readFile(cachePath(ctx, area, key), 'utf8').catch(() => undefined);
}

/** Writes `area/key` atomically: a temp file named after its owner, renamed into place. */
export async function writeCachedText(ctx: Pick<Context, 'config'>, area: string, key: string, text: string): Promise<void> {
  const final = cachePath(ctx, area, key);
  const tmp = cachePath(ctx, area, `${tempPrefix(key)}${randomBytes(4).toString('hex')}`);
  await writingTo(final, CACHE_WHERE, async () => {
    await makeDirs(cachePath(ctx, area));
    try {
      await writeFile(tmp, text);
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  });
}
