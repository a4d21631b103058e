// Owns finding a source kernel that was built before, without building
// anything: a finished kernel's cache key depends on its final .config,
// which only `make` in the shared object dir can produce (under the source's
// lock, which another run may hold for a whole build). So each build also
// records which kernel its inputs gave (source, base config, fragments,
// patches, toolchain); the next run with the same inputs finds it here with
// no lock, no config step and nothing written (a read-only cache serves it).
import { join } from 'node:path';
import { cachePath, exists, readCachedText, writeCachedText } from '../util/cache.ts';
import { runAllowFail } from '../util/exec.ts';
import { sha256, short } from '../util/hash.ts';
import type { Context } from '../util/context.ts';

const AREA = 'kernel-inputs';

/**
 * The key of a build's inputs. The toolchain is part of it: the final
 * .config records the compiler's and linker's versions, so an upgrade makes
 * another kernel.
 */
export async function buildInputsKey(ctx: Context, parts: string[]): Promise<string> {
  const version = async (tool: string) =>
    (await runAllowFail(ctx, tool, ['--version'], { timeoutMs: 10_000, what: `${tool} --version` })).stdout.split('\n')[0];
  return short(sha256(...parts, await version('gcc'), await version('ld')));
}

/** The cached kernel these inputs gave, if it is still in the cache. */
export async function builtBefore(ctx: Context, inputsKey: string): Promise<string | undefined> {
  const artifactKey = (await readCachedText(ctx, AREA, inputsKey))?.trim();
  if (!artifactKey) return undefined;
  const dir = cachePath(ctx, 'kernels', artifactKey);
  return (await exists(join(dir, 'meta.json'))) ? dir : undefined;
}

/** Records which cached kernel (kernels/KEY) these inputs gave. */
export async function recordBuild(ctx: Context, inputsKey: string, artifactKey: string): Promise<void> {
  if ((await readCachedText(ctx, AREA, inputsKey))?.trim() === artifactKey) return;
  await writeCachedText(ctx, AREA, inputsKey, artifactKey + '\n');
}
