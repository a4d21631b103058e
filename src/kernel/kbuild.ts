// Owns running kbuild: make bzImage (and modules) out of tree with fixed
// build stamps, a timeout, progress from its output, and the compiler's
// errors named when it fails.
import { acquireLock } from '../util/lock.ts';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, dirname } from 'node:path';
import type { CatalogKernel } from './catalog.ts';
import { cachePath } from '../util/cache.ts';
import { runAllowFail, tail, hasTool } from '../util/exec.ts';
import { short } from '../util/hash.ts';
import { LeaklabError } from '../util/errors.ts';
import type { Context } from '../util/context.ts';

const BUILD_TIMEOUT_MS = 90 * 60_000;

// Fixed build stamps: the same source and config give the same bzImage, so
// "the patch (or commit) changes nothing in this kernel" can be seen.
const REPRODUCIBLE_BUILD = {
  KBUILD_BUILD_TIMESTAMP: '1970-01-01 00:00:00 UTC',
  KBUILD_BUILD_VERSION: '1',
  KBUILD_BUILD_USER: 'leaklab',
  KBUILD_BUILD_HOST: 'leaklab',
};

/**
 * ccache, when installed: a tree whose object directory is inside it
 * compiles with relative paths (source-build.ts), so the same file with the
 * same config hits the cache from another tree (the first bisect step after
 * Debian's source, a patched variant's untouched files in a fresh tree).
 * NOHASHDIR: the working directory (the object directory, written into the
 * debug info) is left out of the hash, or no two trees would share.
 * Sloppiness: Kbuild writes generated headers right before compiling, which
 * would otherwise turn ccache's direct mode off. Measured on net/ipv6/ of
 * the minimal config (2 cores): gcc 43.7 s; ccache cold 60.0 s in direct
 * mode, 48.1 s in depend mode with the inode cache; warm 17.4 s.
 */
async function compilerCache(ctx: Context): Promise<{ makeArgs: string[]; env: Record<string, string> }> {
  if (!(await hasTool('ccache'))) return { makeArgs: [], env: {} };
  return {
    makeArgs: ['CC=ccache gcc'],
    env: {
      CCACHE_DIR: cachePath(ctx, 'ccache'),
      CCACHE_NOHASHDIR: 'true',
      CCACHE_SLOPPINESS: 'include_file_mtime,include_file_ctime',
      // Depend mode: a miss compiles once (no separate preprocessor run); the inode cache spares rehashing headers.
      CCACHE_DEPEND: 'true',
      CCACHE_INODECACHE: 'true',
      CCACHE_MAXSIZE: '10G',
    },
  };
}

/**
 * Builds one kernel, and only one at a time per cache: make -j uses every
 * core, so two leaklab runs building side by side (a CI job's two test
 * lanes, two users) would each take twice as long and starve their guests.
 * The machine-wide build lock is taken after the source tree's lock and
 * held only around make. `uncached` objects (stale-objects.ts) are
 * compiled first with the compiler cache off.
 */
export async function make(ctx: Context, k: CatalogKernel, srcdir: string, objdir: string, configInputsKey: string, uncached: string[] = []): Promise<void> {
  const lock = await acquireLock(
    ctx,
    cachePath(ctx, 'locks', 'kernel-build.lockdir'),
    k.name,
    undefined,
    'waiting for another kernel build to finish (one at a time: each uses every core)',
  );
  try {
    const cache = await compilerCache(ctx);
    const log = join(objdir, 'build.log');
    await writeFile(log, '');
    if (uncached.length > 0) {
      const what = shortList(uncached);
      ctx.progress.step(k.name, `compiling ${what} afresh (patched since the last build here), without the compiler cache`);
      // The same CC as the full build: Kbuild's recorded command lines stay equal, so make keeps these objects.
      await kbuild(ctx, k, {
        srcdir,
        objdir,
        log,
        targets: uncached,
        makeArgs: cache.makeArgs,
        env: { ...cache.env, CCACHE_DISABLE: 'true' },
        patchedOnly: true,
      });
    }
    await buildBzImage(ctx, k, { srcdir, objdir, log, makeArgs: cache.makeArgs, env: cache.env }, configInputsKey);
  } finally {
    await lock.release();
  }
}

interface KbuildRun {
  srcdir: string;
  objdir: string;
  log: string;
  makeArgs: string[];
  env: Record<string, string>;
}

async function buildBzImage(ctx: Context, k: CatalogKernel, run: KbuildRun, configInputsKey: string): Promise<void> {
  const jobs = String(cpus().length);
  ctx.progress.step(k.name, `building bzImage (make -j${jobs}; log: ${run.log})`);
  let compiled = 0;
  const started = Date.now();
  // A full build's file count, remembered per config, sizes the bar of the next one.
  const stats = cachePath(ctx, 'stats', `build-files-${short(configInputsKey)}`);
  const expected = Number(await readFile(stats, 'utf8').catch(() => '0')) || undefined;
  const task = ctx.progress.task(k.name, expected);
  await kbuild(ctx, k, {
    ...run,
    targets: ['bzImage'],
    onCompiled: () => {
      compiled++;
      task.update(compiled, `building: ${compiled} files compiled, ${Math.round((Date.now() - started) / 1000)} s`);
    },
  }).finally(() => task.end());
  if (compiled > (expected ?? 0) / 2 && compiled > 200) {
    await mkdir(dirname(stats), { recursive: true });
    await writeFile(stats, String(compiled));
  }
  ctx.progress.step(k.name, `built in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** Up to three names, else how many (a line must stay readable). */
function shortList(files: string[]): string {
  return files.length <= 3 ? files.join(', ') : `${files.length} files`;
}

/** One make run in the object directory, appending to the build log; a failure names the compiler's errors. */
async function kbuild(ctx: Context, k: CatalogKernel, run: KbuildRun & { targets: string[]; onCompiled?: () => void; patchedOnly?: boolean }): Promise<void> {
  const r = await runAllowFail(ctx, 'make', ['-C', run.srcdir, `O=${run.objdir}`, `-j${cpus().length}`, ...run.makeArgs, ...run.targets], {
    env: { ...REPRODUCIBLE_BUILD, ...run.env },
    timeoutMs: BUILD_TIMEOUT_MS,
    what: `building ${k.name}`,
    kind: 'kernel-build',
    logFile: run.log,
    onLine: (line) => {
      if (/^\s+CC\s/.test(line)) run.onCompiled?.();
    },
  });
  if (r.exitCode === 0) return;
  // The compiler's own error lines say more than make's closing lines.
  const errors = (r.stdout + '\n' + r.stderr)
    .split('\n')
    .filter((l) => /\berror\b:/i.test(l))
    .slice(0, 6);
  throw new LeaklabError(
    'kernel-build',
    `kernel ${k.name} failed to build${run.patchedOnly ? ` (compiling first what was patched here or in the last build: ${shortList(run.targets)})` : ''}`,
    {
      hint: run.patchedOnly
        ? `a patched file does not compile against this source: fix the patch (the full log: ${run.log})`
        : `read the full log in ${run.log}; fix the source, patch or config fragment`,
      details: errors.length > 0 ? errors.join('\n') : tail(r.stdout + '\n' + r.stderr, 10),
    },
  );
}
