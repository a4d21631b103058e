// Owns where a source build compiles: Debian's linux-source (installed, or
// a version fetched by debian-source.ts) unpacked in the cache, a commit of a user's git tree in a private clone, or the user's
// working tree itself.
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CatalogKernel, SourceKernel } from './catalog.ts';
import { cachedDir } from '../util/cache.ts';
import { run } from '../util/exec.ts';
import { sha256 } from '../util/hash.ts';
import { gitTopLevel, resolveCommit, describeCommit, refuseUncommitted, privateClone, privateClonePath, checkoutCommit, git } from './git-tree.ts';
import type { SourceTree } from './source-types.ts';
import { restoreTree } from './patch-set.ts';
import { debianSourceTarball } from './debian-source.ts';
import type { Context } from '../util/context.ts';

/**
 * Where and what a build compiles. Three kinds: Debian's linux-source
 * unpacked in the cache; a commit of a user's git tree, checked out in a
 * private clone (with `ref:`, or when patches must be applied); the user's
 * working tree itself, built in place with O= (with uncommitted changes).
 */
export async function sourceTree(ctx: Context, k: SourceKernel & CatalogKernel): Promise<SourceTree> {
  if ('tree' in k.source) {
    const top = await gitTopLevel(ctx, resolve(k.labDir, k.source.tree));
    if (k.source.ref !== undefined || (k.patches ?? []).length > 0) return commitTree(ctx, k, top, k.source.ref);
    const head = await resolveCommit(ctx, top, 'HEAD');
    const diff = await git(ctx, top, ['diff', 'HEAD'], 'git diff');
    const identity = `tree ${top} at ${await describeCommit(ctx, top, head)}${diff ? ' (with uncommitted changes)' : ''}`;
    return { kind: 'worktree', dir: top, key: sha256('tree', head, diff), objdirKey: sha256('worktree', top), identity, prepare: async () => {} };
  }
  const { package: pkg, version, tarball } = await debianSourceTarball(ctx, k, k.source);
  const key = sha256('debian', pkg, version);
  const unpack = () =>
    cachedDir(ctx, 'sources', `${pkg}_${version}`, async (tmp) => {
      ctx.progress.step(k.name, `unpacking ${tarball}`);
      await run(ctx, 'tar', ['-xf', tarball, '-C', tmp, '--strip-components=1'], { timeoutMs: 20 * 60_000, what: `unpacking ${tarball}` });
    });
  const tree: SourceTree = {
    kind: 'debian',
    dir: await unpack(),
    key,
    objdirKey: key,
    identity: `Debian ${pkg} ${version}`,
    prepare: () => restoreTree(ctx, k, tree),
    reset: async () => {
      await rm(tree.dir, { recursive: true, force: true });
      await unpack();
    },
  };
  return tree;
}

/** A commit of the user's tree, built in leaklab's private clone of it. */
export async function commitTree(ctx: Context, k: SourceKernel & CatalogKernel, top: string, ref: string | undefined): Promise<SourceTree> {
  if (ref === undefined) {
    await refuseUncommitted(ctx, top, 'a patched build would leave them out', 'commit (or stash) them, or name the commit to build with ref:');
  }
  const commit = await resolveCommit(ctx, top, ref ?? 'HEAD');
  const dir = privateClonePath(ctx, top);
  return {
    kind: 'git',
    dir,
    key: sha256('git', commit),
    objdirKey: sha256('git-clone', top),
    identity: `tree ${top} at ${await describeCommit(ctx, top, commit)}`,
    prepare: async () => {
      await privateClone(ctx, top);
      await checkoutCommit(ctx, dir, commit);
    },
    reset: () => checkoutCommit(ctx, dir, commit),
    revision: commit,
    // --no-renames: a renamed file's old name too (its objects are as stale as the new one's).
    changedSince: async (revision) =>
      (await git(ctx, dir, ['diff', '--name-only', '--no-renames', revision, commit], 'git diff --name-only')).split('\n').filter(Boolean),
  };
}
