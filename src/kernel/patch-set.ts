// Owns the patches of a source kernel: reading them from the catalog entry,
// applying them to the tree (and recording what was applied in a marker, so
// an interrupted build is undone before the next), reverting them, and
// repairing a tree left patched.
import { readFile, writeFile, rm, utimes } from 'node:fs/promises';
import { join, basename, isAbsolute } from 'node:path';
import type { CatalogKernel, SourceKernel } from './catalog.ts';
import { labPath, entryOf } from './catalog.ts';
import { runAllowFail, tail } from '../util/exec.ts';
import { LeaklabError } from '../util/errors.ts';
import type { SourceTree, NamedText } from './source-types.ts';
import type { Context } from '../util/context.ts';

export async function readPatches(k: SourceKernel & CatalogKernel): Promise<NamedText[]> {
  const patches = k.patches ?? [];
  return Promise.all(
    patches.map(async (p) => {
      // Catalog patches live in patches/ beside the catalog; validate-patch passes absolute paths.
      const path = isAbsolute(p) ? p : labPath(k, 'patches', p);
      const text = await readFile(path, 'utf8').catch(() => {
        throw new LeaklabError('catalog', `kernel ${k.name}: patch not found: ${path}`, {
          hint: `patches are files in ${labPath(k, 'patches')}/ (beside ${k.file})`,
        });
      });
      if (!/^(---|\+\+\+|@@)/m.test(text))
        throw new LeaklabError('catalog', `kernel ${k.name}: ${path} is not a patch (no diff hunks)`, {
          hint: 'give a unified diff, e.g. from git format-patch',
        });
      return { name: basename(p), path, text };
    }),
  );
}

/** The files a patch changes, relative to the tree (its +++ lines, less the a/ b/ prefix that -p1 strips). */
export function patchedFiles(text: string): string[] {
  // Both sides of each file's header: a deleted file has only its old name (+++ /dev/null), a renamed one two names.
  return [...new Set([...text.matchAll(/^(?:\+\+\+|---) (?!\/dev\/null)[^/\s]+\/(\S+)/gm)].map((m) => m[1]))];
}

// A marker in the source tree keeps the text of every patch applied to it,
// so a build interrupted with patches applied is undone before the next one.
const MARKER = '.leaklab-applied-patches';

const patchArgs = ['-p1', '--batch', '--forward', '--no-backup-if-mismatch', '-r', '-'];

export async function patchCmd(ctx: Context, tree: SourceTree, text: string, extra: string[]): Promise<{ exitCode: number; output: string }> {
  const r = await runAllowFail(ctx, 'patch', [...patchArgs, ...extra, '-d', tree.dir], { timeoutMs: 60_000, what: 'patch', input: text });
  return { exitCode: r.exitCode, output: r.stdout + r.stderr };
}

export async function applyPatches(ctx: Context, k: CatalogKernel, tree: SourceTree, patches: NamedText[]): Promise<void> {
  if (patches.length === 0) return;
  const applied: NamedText[] = [];
  for (const p of patches) {
    ctx.progress.step(k.name, `applying ${p.name}`);
    // A dry run first: a patch that fails half-way would leave hunks behind.
    const dry = await patchCmd(ctx, tree, p.text, ['--dry-run']);
    if (dry.exitCode !== 0) {
      await revertPatches(ctx, k, tree, applied);
      throw new LeaklabError('kernel-build', `patch ${p.name} does not apply to ${tree.identity}`, {
        hint: `rebase the patch onto this source, or drop it from ${entryOf(k)}`,
        details: tail(dry.output, 20),
      });
    }
    applied.push(p);
    await writeFile(join(tree.dir, MARKER), JSON.stringify(applied));
    const r = await patchCmd(ctx, tree, p.text, []);
    if (r.exitCode !== 0) {
      await repairTree(ctx, k, tree, applied);
      throw new LeaklabError('kernel-build', `patch ${p.name} failed after a clean dry run`, { details: tail(r.output, 20) });
    }
  }
}

/** Reverts patches newest first; if one will not revert cleanly, re-unpacks the source. */
export async function revertPatches(ctx: Context, k: CatalogKernel, tree: SourceTree, patches: NamedText[]): Promise<void> {
  for (const p of [...patches].reverse()) {
    const dry = await patchCmd(ctx, tree, p.text, ['-R', '--dry-run']);
    if (dry.exitCode !== 0 || (await patchCmd(ctx, tree, p.text, ['-R'])).exitCode !== 0) {
      await repairTree(ctx, k, tree, patches);
      return;
    }
  }
  await rm(join(tree.dir, MARKER), { force: true });
}

/** Undoes patches left applied by an interrupted build. */
export async function restoreTree(ctx: Context, k: CatalogKernel, tree: SourceTree): Promise<void> {
  const marker = await readFile(join(tree.dir, MARKER), 'utf8').catch(() => '');
  if (!marker) return;
  ctx.progress.step(k.name, 'undoing patches left applied by an interrupted build');
  await revertPatches(ctx, k, tree, JSON.parse(marker) as NamedText[]);
}

/**
 * Brings back a source tree whose state is unknown. A re-unpacked tree
 * carries the tarball's old mtimes, so files the patches touched are
 * touched anew: make must rebuild objects that were built from patched code.
 */
export async function repairTree(ctx: Context, k: CatalogKernel, tree: SourceTree, patches: NamedText[]): Promise<void> {
  if (!tree.reset) throw new LeaklabError('kernel-build', `the tree ${tree.dir} could not be restored`, { hint: 'check it with git status' });
  ctx.progress.step(k.name, `source tree in an unknown state: bringing back ${tree.identity}`);
  await tree.reset();
  const now = new Date();
  for (const p of patches) {
    for (const file of patchedFiles(p.text)) await utimes(join(tree.dir, file), now, now).catch(() => {});
  }
}
