// Owns exclusive locks between leaklab processes, and between jobs of one
// process, on a shared resource (a kernel source tree that patches change).
// proper-lockfile makes the lock a directory with mkdir (atomic: there is no
// moment where a lock exists without its owner, which the pid file this
// replaces had between open and write), keeps its mtime fresh while held,
// and takes over a lock left stale by an owner that died.
import lockfile from 'proper-lockfile';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Context } from './context.ts';
import { LeaklabError } from './errors.ts';
import { reasonOf } from './output.ts';

/** A held lock is refreshed every 5 s; one not refreshed for 30 s is taken over (a busy build machine delays timers: generous). */
const TIMING = { updateMs: 5_000, staleMs: 30_000 };

export interface Lock {
  release(): Promise<void>;
  /** Throws when another run took the lock over while it was held: what was built under it cannot be trusted. */
  assertHeld(): void;
}

/** Takes the lock at `path` (a directory is made there), waiting as long as another live owner holds it. */
export async function acquireLock(
  ctx: Context,
  path: string,
  who: string,
  timing = TIMING,
  waiting = 'waiting for another leaklab run (or job) using this kernel source',
): Promise<Lock> {
  await mkdir(dirname(path), { recursive: true }).catch((err) => {
    throw lockError(path, who, err);
  });
  let lost: Error | undefined;
  const options = (retries: lockfile.LockOptions['retries']): lockfile.LockOptions => ({
    lockfilePath: path,
    realpath: false,
    stale: timing.staleMs,
    update: timing.updateMs,
    retries,
    // Another process took the lock over (ours was not refreshed in time, e.g. the machine slept):
    // remember it, and let the holder refuse to keep what it made, rather than crash in a timer.
    onCompromised: (err) => {
      lost = err;
      ctx.progress.step(who, `warning: the lock ${path} was taken over by another run (${err.message})`);
    },
  });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(path, options(0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw lockError(path, who, err);
    ctx.progress.step(who, waiting);
    release = await lockfile.lock(path, options({ forever: true, minTimeout: 200, maxTimeout: 2_000 })).catch((e) => {
      throw lockError(path, who, e);
    });
  }
  const unregister = ctx.cleanup.add(`lock ${path}`, () => release().catch(() => {}));
  return {
    release: async () => {
      unregister();
      await release().catch(() => {});
    },
    assertHeld: () => {
      if (lost) {
        throw new LeaklabError('tool', `${who}: another run took over the lock on this kernel source while building (${lost.message}); the build is not kept`, {
          hint: 'run again; a machine that sleeps or stalls for over 30 s during a build can lose the lock',
        });
      }
    },
  };
}

/** A lock that cannot be made: the cache is read-only (or full, or not a directory); only building needs one. */
function lockError(path: string, who: string, err: unknown): LeaklabError {
  return new LeaklabError('filesystem', `${who}: cannot take the lock ${path}: ${reasonOf(err)}`, {
    hint: `${who} is not in the cache and building it needs a cache you can write to (one that cannot be written serves only kernels built in it before): set LEAKLAB_CACHE to a directory you can write to`,
    cause: err,
  });
}
