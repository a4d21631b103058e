// Owns building a kernel from source, step by step: the tree
// (source-tree.ts), the config (kconfig.ts), the patches (patch-set.ts) and
// kbuild (kbuild.ts), one build per source tree at a time (util/lock.ts);
// objects of patched files are compiled afresh (stale-objects.ts).
// Finished kernels are cached by content (source + config + patches); the
// object directory is shared by every variant of the same source and config,
// so a one-file patch rebuilds in seconds. A kernel built before from the
// same inputs (build-inputs.ts) is taken as it is: no lock, nothing written.
import { readFile, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogKernel, SourceKernel } from './catalog.ts';
import type { KernelArtifact } from './artifact.ts';
import { parseKernelConfig, assertConfigMeets, missingRequirements, wantedFor, type Requirement } from './requirements.ts';
import { explainOptions } from './kconfig-explain.ts';
import { cachedDir, cachePath } from '../util/cache.ts';
import { runAllowFail, requireTool } from '../util/exec.ts';
import { sha256, sha256File, short } from '../util/hash.ts';
import { acquireLock } from '../util/lock.ts';
import { sourceTree } from './source-tree.ts';
import { readFragments, makeConfig } from './kconfig.ts';
import { readPatches, applyPatches, revertPatches } from './patch-set.ts';
import { make } from './kbuild.ts';
import { forgetStaleObjects, assertSourcesUnchanged, recordObjdirState } from './stale-objects.ts';
import { OBJDIR_PREFIX, type SourceTree } from './source-types.ts';
import { buildInputsKey, builtBefore, recordBuild } from './build-inputs.ts';
import type { Context } from '../util/context.ts';

export async function buildFromSource(ctx: Context, k: SourceKernel & CatalogKernel, reqs: Requirement[]): Promise<KernelArtifact> {
  for (const [tool, pkg] of [
    ['make', 'make'],
    ['gcc', 'gcc'],
    ['flex', 'flex'],
    ['bison', 'bison'],
    ['bc', 'bc'],
    ['patch', 'patch'],
  ])
    await requireTool(tool, pkg);
  const tree = await sourceTree(ctx, k);
  const patches = await readPatches(k);
  const fragments = await readFragments(k);
  const base = k.config.base ?? 'tinyconfig';
  const configInputs = [base, ...fragments.map((f) => f.name + '\n' + f.text)];
  // The object dir outlives the content of its source dir (bisect steps,
  // patched variants) so builds are incremental; the config is remade
  // whenever the content changes, since Kconfig files may have changed.
  const objdir = objdirOf(ctx, tree, sha256(tree.objdirKey, ...configInputs));
  const configKey = sha256(tree.key, ...configInputs);
  const inputsKey = await buildInputsKey(ctx, [tree.key, ...configInputs, ...patches.map((p) => p.text)]);
  const before = await builtBefore(ctx, inputsKey);
  if (before) return artifact(k, before, objdir);
  // One lock per source tree: patches change the tree every objdir builds from.
  const lock = await acquireLock(ctx, cachePath(ctx, 'locks', `${short(sha256(tree.dir))}.lockdir`), k.name);
  try {
    await tree.prepare();
    await makeConfig(ctx, k, tree, objdir, base, fragments, configKey);
    const configPath = join(objdir, '.config');
    const configText = await readFile(configPath, 'utf8');
    // Fail before a long build when the scenario cannot run on this config (saying why, from the tree's Kconfig).
    const config = parseKernelConfig(configText);
    const missing = missingRequirements(config, reqs, false);
    const explained = missing.length > 0 ? await explainOptions(ctx, tree.dir, objdir, base, fragments, wantedFor(missing)) : undefined;
    assertConfigMeets(k, configPath, config, reqs, false, explained);
    const artifactKey = 'src-' + short(sha256(tree.key, configText, ...patches.map((p) => p.text)));
    const dir = await cachedDir(ctx, 'kernels', artifactKey, async (tmp) => {
      await applyPatches(ctx, k, tree, patches);
      try {
        const patched = await forgetStaleObjects(tree, objdir, patches, (line) => ctx.progress.step(k.name, line));
        await make(ctx, k, tree.dir, objdir, sha256(...configInputs), patched.uncached);
        await assertSourcesUnchanged(k, tree.dir, patched);
        await copyFile(join(objdir, 'arch/x86/boot/bzImage'), join(tmp, 'bzImage'));
        await copyFile(configPath, join(tmp, 'config'));
        // Attribution resolves stack frames to file:line with vmlinux's line tables (when the config has DEBUG_INFO).
        await copyFile(join(objdir, 'vmlinux'), join(tmp, 'vmlinux'));
        const release = (await readFile(join(objdir, 'include/config/kernel.release'), 'utf8')).trim();
        await writeFile(
          join(tmp, 'meta.json'),
          JSON.stringify(
            {
              source: tree.identity,
              sourceKey: tree.key,
              // Where the build read its sources: vmlinux's line tables name files under it.
              sourceDir: tree.dir,
              configBase: base,
              fragments: fragments.map((f) => f.name),
              patches: patches.map((p) => ({ name: p.name, sha256: sha256(p.text) })),
              release,
              compiler: (await runAllowFail(ctx, 'gcc', ['--version'], { timeoutMs: 10_000, what: 'gcc --version' })).stdout.split('\n')[0],
              bzImageSha256: await sha256File(join(tmp, 'bzImage')),
              configSha256: sha256(configText),
            },
            null,
            2,
          ),
        );
      } finally {
        await revertPatches(ctx, k, tree, patches);
      }
      // Two builds on one tree would have mixed their patches: nothing made then is cached.
      lock.assertHeld();
      await recordObjdirState(tree, objdir, patches);
    });
    await recordBuild(ctx, inputsKey, artifactKey);
    return artifact(k, dir, objdir);
  } finally {
    await lock.release();
  }
}

/**
 * Where a tree's builds of one config compile. Inside the tree when it is
 * leaklab's own (Debian's source unpacked in the cache, a private clone): a
 * subdirectory of the source makes Kbuild name every source file relative
 * to it (srctree := ..), so two trees with the same files and config give
 * the compiler the same command lines, and ccache (kbuild.ts) serves the
 * second from the first. A user's working tree is never written to: its
 * builds go to the cache's objdirs/.
 */
function objdirOf(ctx: Context, tree: SourceTree, key: string): string {
  if (tree.kind === 'worktree') return cachePath(ctx, 'objdirs', `${short(tree.objdirKey)}-${short(key)}`);
  return join(tree.dir, `${OBJDIR_PREFIX}${short(key)}`);
}

/** A cached kernel (kernels/KEY) as the artifact of catalog kernel `k`. */
async function artifact(k: CatalogKernel, dir: string, objdir: string): Promise<KernelArtifact> {
  const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8'));
  return {
    name: k.name,
    bzImage: join(dir, 'bzImage'),
    configPath: join(dir, 'config'),
    vmlinux: meta.sourceDir === undefined ? undefined : { path: join(dir, 'vmlinux'), sourceDir: meta.sourceDir },
    objdir,
    release: meta.release,
    provenance: {
      origin: 'source',
      source: meta.source,
      bzImageSha256: meta.bzImageSha256,
      configSha256: meta.configSha256,
      compiler: meta.compiler,
      patches: meta.patches.map((p: { name: string; sha256: string }) => `${p.name}@${short(p.sha256)}`).join(' ') || 'none',
    },
  };
}
