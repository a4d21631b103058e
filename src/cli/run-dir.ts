// Owns what every command that boots guests does before its first guest:
// reap guests a killed leaklab left behind, check the environment knobs, and
// make the run's own directory (only once all input has been checked).
import { resolve, join, dirname } from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { reapOrphanedGuests } from '../guest/qemu/reaper.ts';
import { chooseAccel } from '../guest/qemu/accel.ts';
import { makeUserDir } from '../util/dirs.ts';
import { CACHE_HINT } from '../util/cache.ts';
import type { Context } from '../util/context.ts';

export async function reapAndCheckEnvironment(ctx: Context): Promise<void> {
  const reaped = await reapOrphanedGuests();
  if (reaped > 0) process.stderr.write(`leaklab: stopped ${reaped} QEMU guest(s) left running by a leaklab process that was killed\n`);
  await chooseAccel(ctx.config.accel);
  // A cache that cannot be written would fail every kernel one by one: say it once, up front.
  await makeUserDir(ctx.config.cacheRoot, 'the cache directory', CACHE_HINT);
}

/** Makes runsDir/<timestamp>-<label><random> (unique even within one millisecond) and --json's directory. */
export async function makeRunDir(runsDir: string, label: string, json?: string): Promise<string> {
  if (json) await makeUserDir(dirname(resolve(json)), 'the directory for --json', 'give --json a path you can write to');
  await makeUserDir(resolve(runsDir), 'the runs directory', 'give --runs-dir (or LEAKLAB_RUNS) a directory you can write to');
  const runDir = await mkdtemp(join(resolve(runsDir), `${new Date().toISOString().replace(/[:.]/g, '-')}-${label}`));
  process.stderr.write(`leaklab: run directory ${runDir}\n`);
  return runDir;
}
