// Owns the objects a build must compile afresh because patches changed their
// sources: those made from the files this build's patches change, and from
// the files the previous build in the same object directory patched
// (reverting those patches changed them back). Every variant of one source
// and config shares an object directory and the compiler cache, and make
// decides by timestamps: a CI run once booted, as the comment-only variant
// of the fix-reverted kernel, the bytes of the fixed kernel (no leak where
// the answer is a leak). So these objects are removed before make, compiled
// first with the compiler cache off (kbuild.ts), and the patched files are
// checked after make to be as the patches left them. Nothing a failed check
// built is kept.
import { readFile, writeFile, rm, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogKernel } from './catalog.ts';
import type { NamedText } from './source-types.ts';
import { patchedFiles } from './patch-set.ts';
import { exists } from '../util/cache.ts';
import { sha256File } from '../util/hash.ts';
import { LeaklabError } from '../util/errors.ts';

/** In the object directory: the files the last build there compiled from patched sources. */
const RECORD = '.leaklab-patched-files';

export interface PatchedObjects {
  /** Objects (relative to the object directory) to compile with the compiler cache off. */
  uncached: string[];
  /** Each file this build's patches change, with its content's sha256 once they are applied. */
  applied: Map<string, string>;
}

/**
 * Removes every object built from a file this build's patches or the
 * previous build's changed, so make cannot take one as up to date; returns
 * what kbuild.ts compiles without the compiler cache and what
 * assertPatchedSources checks. Call with the patches applied.
 */
export async function forgetPatchedObjects(treeDir: string, objdir: string, patches: NamedText[]): Promise<PatchedObjects> {
  const current = [...new Set(patches.flatMap((p) => patchedFiles(p.text)))];
  const previous = JSON.parse(await readFile(join(objdir, RECORD), 'utf8').catch(() => '[]')) as string[];
  const files = [...new Set([...current, ...previous])];
  // Until this build ends well, the next one redoes both sets.
  await writeFile(join(objdir, RECORD), JSON.stringify(files));
  const compiled = await objectsOfSources(objdir, files);
  const dependents = await objectsIncluding(
    objdir,
    files.filter((f) => !isCompiledSource(f)),
  );
  for (const o of [...compiled, ...dependents]) await rm(join(objdir, o), { force: true });
  const applied = new Map<string, string>();
  for (const f of current) if (await exists(join(treeDir, f))) applied.set(f, await sha256File(join(treeDir, f)));
  // Host tools (tools/, scripts/) are not kbuild targets of their own: make rebuilds those it removed.
  return { uncached: compiled.filter((o) => !/^(tools|scripts)\//.test(o)), applied };
}

/** After a build that went well: its patched files are what the next build must compile afresh. */
export async function recordPatchedFiles(objdir: string, patches: NamedText[]): Promise<void> {
  await writeFile(join(objdir, RECORD), JSON.stringify([...new Set(patches.flatMap((p) => patchedFiles(p.text)))]));
}

/** Throws when a patched file is no longer as the patches left it: something else wrote to the tree during the build. */
export async function assertPatchedSources(k: CatalogKernel, treeDir: string, patched: PatchedObjects): Promise<void> {
  for (const [file, applied] of patched.applied) {
    const now = await sha256File(join(treeDir, file)).catch(() => 'missing');
    if (now !== applied)
      throw new LeaklabError('kernel-build', `kernel ${k.name}: ${file} changed while it was being built; the build is not kept`, {
        hint: `another program wrote to ${treeDir} during the build (leaklab's builds of one tree take turns): stop it and run again`,
      });
  }
}

function isCompiledSource(file: string): boolean {
  return /\.[cS]$/.test(file);
}

/** The object each C or assembler file compiles to, where this configuration builds it. */
async function objectsOfSources(objdir: string, files: string[]): Promise<string[]> {
  const objects: string[] = [];
  for (const f of files.filter(isCompiledSource)) {
    const o = f.replace(/\.[cS]$/, '.o');
    if (await exists(join(objdir, o))) objects.push(o);
  }
  return objects;
}

/** Objects whose recorded dependencies (Kbuild's .NAME.o.cmd files) name any of `files` (headers and the like). */
async function objectsIncluding(objdir: string, files: string[]): Promise<string[]> {
  if (files.length === 0) return [];
  const entries = (await readdir(objdir, { recursive: true })) as string[];
  const objects: string[] = [];
  for (const entry of entries) {
    const m = /^(.*?)\.([^/]+\.o)\.cmd$/.exec(entry);
    if (!m || !(m[1] === '' || m[1].endsWith('/'))) continue;
    const text = await readFile(join(objdir, entry), 'utf8').catch(() => '');
    if (files.some((f) => text.includes(f))) objects.push(m[1] + m[2]);
  }
  return objects;
}
