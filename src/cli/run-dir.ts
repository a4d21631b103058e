// Owns what every command that starts guests does before its first guest:
// first of all, remove what a killed leaklab left on this host (guests,
// unfinished cache entries); once the input is checked, let each backend it
// uses check itself (run/backends.ts) and check the cache can be written;
// then make the run's own directory.
import { resolve, join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { beforeRun, sweepLocal } from '../run/backends.ts';
import type { Backend } from '../scenario/scenario.ts';
import { makeUserDir } from '../util/dirs.ts';
import { CACHE_HINT, removeOrphanedTemps } from '../util/cache.ts';
import { checkOutputDir, writingTo, RUNS_DIR_WHERE } from '../util/output.ts';
import type { Context } from '../util/context.ts';

/** First thing a command that starts guests does, before reading its input: a bad input must not keep a killed run's leftovers. */
export async function sweepLeftovers(ctx: Context): Promise<void> {
  await sweepLocal(ctx);
  const temps = await removeOrphanedTemps(ctx);
  if (temps > 0)
    process.stderr.write(`leaklab: removed ${temps} unfinished cache entr${temps === 1 ? 'y' : 'ies'} left by a leaklab process that was killed\n`);
}

/** Once the input is checked and the backends it uses are known. */
export async function checkEnvironment(ctx: Context, backends: Iterable<Backend>): Promise<void> {
  await beforeRun(ctx, backends);
  // A cache that cannot be written would fail every kernel one by one: say it once, up front.
  await makeUserDir(ctx.config.cacheRoot, 'the cache directory', CACHE_HINT);
}

/**
 * Makes runsDir/<timestamp>-<label><random> (unique even within one
 * millisecond), and checks it takes a file: a full or read-only filesystem
 * is refused before any guest runs, and leaves no run directory behind.
 * From then on the command's progress is also written to its run.log.
 */
export async function makeRunDir(ctx: Context, runsDir: string, label: string): Promise<string> {
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
  // Every step line, timestamped, whatever the screen shows (--quiet too).
  ctx.progress.logTo(join(runDir, 'run.log'));
  return runDir;
}
