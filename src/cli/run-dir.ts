// Owns what every command that starts guests does before its first guest:
// check the cache can be written, let each backend it uses check itself and
// sweep what a killed leaklab left (run/backends.ts), and make the run's own
// directory (only once all input has been checked).
import { resolve, join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { beforeRun } from '../run/backends.ts';
import type { Backend } from '../scenario/scenario.ts';
import { makeUserDir } from '../util/dirs.ts';
import { CACHE_HINT, removeOrphanedTemps } from '../util/cache.ts';
import { checkOutputDir, writingTo, RUNS_DIR_WHERE } from '../util/output.ts';
import type { Context } from '../util/context.ts';

export async function reapAndCheckEnvironment(ctx: Context, backends: Iterable<Backend>): Promise<void> {
  await beforeRun(ctx, backends);
  // A cache that cannot be written would fail every kernel one by one: say it once, up front.
  await makeUserDir(ctx.config.cacheRoot, 'the cache directory', CACHE_HINT);
  const temps = await removeOrphanedTemps(ctx);
  if (temps > 0)
    process.stderr.write(`leaklab: removed ${temps} unfinished cache entr${temps === 1 ? 'y' : 'ies'} left by a leaklab process that was killed\n`);
}

/**
 * Makes runsDir/<timestamp>-<label><random> (unique even within one
 * millisecond), and checks it takes a file: a full or read-only filesystem
 * is refused before any guest runs, and leaves no run directory behind.
 */
export async function makeRunDir(runsDir: string, label: string): Promise<string> {
  await makeUserDir(resolve(runsDir), 'the runs directory', 'give --runs-dir (or LEAKLAB_RUNS) a directory you can write to');
  const prefix = join(resolve(runsDir), `${new Date().toISOString().replace(/[:.]/g, '-')}-${label}`);
  const runDir = await writingTo(prefix, RUNS_DIR_WHERE, () => mkdtemp(prefix));
  try {
    await checkOutputDir(runDir, RUNS_DIR_WHERE);
  } catch (err) {
    await rm(runDir, { recursive: true, force: true });
    throw err;
  }
  process.stderr.write(`leaklab: run directory ${runDir}\n`);
  return runDir;
}
