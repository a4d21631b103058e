// Owns what validate-patch compares: the base kernel (a catalog kernel built
// from source, or a commit of the user's git tree) and the patched kernel
// (the base plus patch files, or the far end of a git range A..B in the
// tree), with each patch's identity and the files it changes.
import { resolve, basename } from 'node:path';
import { readFile, stat } from 'node:fs/promises';
import { sourceKernels, treeKernel, type Catalog, type CatalogKernel, type SourceKernel } from '../kernel/catalog.ts';
import { patchedFiles } from '../kernel/patch-set.ts';
import { gitTopLevel, resolveCommit, isAncestor, refuseUncommitted, git } from '../kernel/git-tree.ts';
import { LeaklabError } from '../util/errors.ts';
import { exists } from '../util/cache.ts';
import { sha256 } from '../util/hash.ts';
import type { Context } from '../util/context.ts';

export interface PatchInput {
  /** The patch file, or "A..B in TREE" for a git range. */
  path: string;
  sha256: string;
  /** Files the patch changes (paths in the kernel tree). */
  files: string[];
}

export interface ValidationKernels {
  base: SourceKernel & CatalogKernel;
  patched: SourceKernel & CatalogKernel;
  patches: PatchInput[];
}

const RANGE = /^([^\s.][^\s]*)\.\.([^\s.][^\s]*)$/;

/** Reads --source and --patch into the two kernels to compare; every input error is raised here. */
export async function validationKernels(ctx: Context, catalog: Catalog, source: string, patchArgs: string[], configFrom?: string): Promise<ValidationKernels> {
  if (patchArgs.length === 0)
    throw new LeaklabError('usage', 'no patch given', { hint: 'give --patch FILE (repeatable) or, with a tree as --source, --patch A..B' });
  const ranges: string[] = [];
  for (const p of patchArgs) if (RANGE.test(p) && !(await exists(p))) ranges.push(p);
  const range = ranges.length === 1 && patchArgs.length === 1 ? ranges[0] : undefined;
  if (ranges.length > 0 && !range) {
    throw new LeaklabError('usage', 'give either patch files or one git range A..B, not both', { hint: 'a git range is the only --patch when it is used' });
  }
  if (catalog.kernels.has(source)) {
    if (range)
      throw new LeaklabError('usage', `--patch ${range} is a git range, which needs --source to be a kernel git tree (not the catalog kernel ${source})`, {
        hint: 'export it as a patch file (git format-patch --stdout A..B > fix.patch), or give the tree as --source',
      });
    const base = await pinnedToCommit(ctx, catalogSourceKernel(catalog, source));
    const patches = await readPatchFiles(patchArgs);
    return { base, patched: withPatches(base, patches), patches };
  }
  if (!(await isDirectory(source))) {
    throw new LeaklabError('usage', `--source ${source} is neither a catalog kernel nor a directory`, {
      hint: `use one of: ${sourceKernels(catalog)
        .map((k) => k.name)
        .join(', ')} (catalog entries with source:), or the path of a kernel git tree`,
    });
  }
  const top = await gitTopLevel(ctx, resolve(source));
  const name = (commit: string) => `${basename(top)}@${commit.slice(0, 12)}`;
  if (range) {
    const [, from, to] = RANGE.exec(range)!;
    const a = await resolveCommit(ctx, top, from);
    const b = await resolveCommit(ctx, top, to);
    if (a === b || !(await isAncestor(ctx, top, a, b))) {
      throw new LeaklabError('usage', `--patch ${range}: ${from} is not an ancestor of ${to} in ${top}`, {
        hint: 'give OLD..NEW where NEW contains the fix on top of OLD (see git log --oneline NEW)',
      });
    }
    const diff = await git(ctx, top, ['diff', a, b], 'git diff');
    if (!diff) throw new LeaklabError('usage', `--patch ${range} changes no file`, { hint: 'give a range whose commits change the kernel' });
    const files = (await git(ctx, top, ['diff', '--name-only', a, b], 'git diff --name-only')).split('\n').filter(Boolean);
    const count = (await git(ctx, top, ['rev-list', '--count', `${a}..${b}`], 'git rev-list')).trim();
    return {
      base: treeKernel(catalog, { tree: top, commit: a, name: name(a), configFrom }),
      patched: treeKernel(catalog, { tree: top, commit: b, name: name(b), configFrom }),
      patches: [{ path: `${range} (${count} commit${count === '1' ? '' : 's'}) in ${top}`, sha256: sha256(diff), files }],
    };
  }
  await refuseUncommitted(ctx, top, 'the base is the committed HEAD, so they would be left out', 'commit or stash them (or pass them as another --patch)');
  const head = await resolveCommit(ctx, top, 'HEAD');
  const base = treeKernel(catalog, { tree: top, commit: head, name: name(head), configFrom });
  const patches = await readPatchFiles(patchArgs);
  return { base, patched: withPatches(base, patches), patches };
}

/**
 * A catalog kernel built from a user's working tree is pinned to its HEAD:
 * the patched build happens at a commit (in leaklab's clone), so the base
 * must be that same commit, and uncommitted changes are refused up front.
 */
async function pinnedToCommit(ctx: Context, k: SourceKernel & CatalogKernel): Promise<SourceKernel & CatalogKernel> {
  if (!('tree' in k.source) || k.source.ref !== undefined) return k;
  const top = await gitTopLevel(ctx, resolve(k.labDir, k.source.tree));
  await refuseUncommitted(ctx, top, 'the base is the committed HEAD, so they would be left out', 'commit or stash them (or pass them as another --patch)');
  return { ...k, source: { tree: top, ref: await resolveCommit(ctx, top, 'HEAD') } };
}

function withPatches(base: SourceKernel & CatalogKernel, patches: PatchInput[]): SourceKernel & CatalogKernel {
  const label = patches.length === 1 ? basename(patches[0].path).replace(/\.(patch|diff)$/, '') : `${patches.length}-patches`;
  return { ...base, name: `${base.name}+${label}`, patches: [...(base.patches ?? []), ...patches.map((p) => p.path)] };
}

/** The catalog kernel to patch: it must be one leaklab builds from source. */
export function catalogSourceKernel(catalog: Catalog, name: string): SourceKernel & CatalogKernel {
  const k = catalog.kernels.get(name)!;
  if (k.kind !== 'source') {
    throw new LeaklabError(
      'usage',
      `--source ${name} is a ${{ package: 'Debian package', rpm: 'kernel RPM', image: 'prebuilt bzImage' }[k.kind]}: a patch needs a kernel leaklab builds from source`,
      {
        hint: `use one of: ${sourceKernels(catalog)
          .map((s) => s.name)
          .join(', ')} (catalog entries with source:), or the path of a kernel git tree`,
      },
    );
  }
  return k;
}

async function readPatchFiles(paths: string[]): Promise<PatchInput[]> {
  return Promise.all(
    paths.map(async (p) => {
      const path = resolve(p);
      if (!(await exists(path)))
        throw new LeaklabError('usage', `patch not found: ${path}`, {
          hint: 'give the path of a unified diff (e.g. from git format-patch), or with a tree as --source a range A..B',
        });
      const text = await readFile(path, 'utf8');
      if (!/^@@ /m.test(text))
        throw new LeaklabError('usage', `${path} is empty: it has no diff hunks`, {
          hint: 'give a unified diff with at least one hunk (git format-patch or diff -u)',
        });
      const files = patchedFiles(text);
      return { path, sha256: sha256(text), files };
    }),
  );
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
