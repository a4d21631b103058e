// Owns what every command that starts guests does before its first guest:
// check the cache can be written, let each backend it uses check itself and
// sweep what a killed leaklab left (run/backends.ts), and make the run's own
// directory (only once all input has been checked).
import { resolve, join, dirname } from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { beforeRun } from '../run/backends.ts';
import type { Backend } from '../scenario/scenario.ts';
import { makeUserDir } from '../util/dirs.ts';
import { CACHE_HINT } from '../util/cache.ts';
import type { Context } from '../util/context.ts';

export async function reapAndCheckEnvironment(ctx: Context, backends: Iterable<Backend>): Promise<void> {
  await beforeRun(ctx, backends);
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
