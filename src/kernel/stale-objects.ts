// Owns the objects a build must compile afresh because their sources
// changed since the last build in the same object directory: those made from
// the files this build's patches change, from the files the previous build
// there patched (reverting those patches changed them back), and, in a git
// tree, from the files that differ from the commit built last. Every variant
// of one source and config shares an object directory and the compiler
// cache, and make decides by timestamps: a CI run once booted, as the
// comment-only variant of the fix-reverted kernel, the bytes of the fixed
// kernel (no leak where the answer is a leak). So these objects are removed
// before make, compiled first with the compiler cache off (kbuild.ts), and
// the changed files are checked after make to be as the build found them.
// Nothing a failed check built is kept.
import { readFile, writeFile, rm, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { CatalogKernel } from './catalog.ts';
import type { NamedText, SourceTree } from './source-types.ts';
import { patchedFiles } from './patch-set.ts';
import { exists } from '../util/cache.ts';
import { sha256File } from '../util/hash.ts';
import { LeaklabError } from '../util/errors.ts';

/** In the object directory: what the last build there compiled (its commit, in a git tree) and from which patched files. */
const RECORD = '.leaklab-last-build';

/** Objects kbuild builds only through their directory's own rules (host tools, boot and real-mode code), never as a goal of their own. */
const NOT_OWN_TARGETS = /^(tools|scripts|arch\/[^/]+\/(boot|realmode|tools))\//;

interface BuildRecord {
  revision?: string;
  files: string[];
}

export interface StaleObjects {
  /** Objects (relative to the object directory) to compile with the compiler cache off. */
  uncached: string[];
  /** Each file this build changed (its patches, its commit), with its content's sha256 as make starts. */
  applied: Map<string, string>;
}

/**
 * Removes every object built from a file that changed since the last build
 * in `objdir` (see the top of this file), so make cannot take one as up to
 * date; returns what kbuild.ts compiles without the compiler cache and what
 * assertSourcesUnchanged checks. Call with the tree as make will see it.
 */
export async function forgetStaleObjects(tree: SourceTree, objdir: string, patches: NamedText[], say: (line: string) => void): Promise<StaleObjects> {
  const previous = await readRecord(objdir);
  const current = [...new Set(patches.flatMap((p) => patchedFiles(p.text)))];
  const checkedOut = await changedSinceLastBuild(tree, previous).catch(async (err: unknown) => {
    // Which files changed is unknown: no object is trusted (the compiler cache still serves what it can).
    say(`could not tell which files changed since the last build here (${(err as Error).message.split('\n')[0]}): every object is compiled again`);
    for (const record of await dependencyRecords(objdir, '')) await rm(join(objdir, objectOfRecord(record)), { force: true });
    return [];
  });
  const files = [...new Set([...current, ...checkedOut, ...previous.files])];
  // Until this build ends well, the next one redoes every file of both builds.
  await writeRecord(objdir, { revision: previous.revision, files });
  const present = await existing(tree.dir, files);
  // Patched files are compiled without the compiler cache; a checked-out commit's files only lose their objects (a bisect
  // step's files were mostly compiled in earlier steps: the cache's hits are the speed of a bisect). Host tools and boot
  // code are not kbuild targets of their own (make reaches them through their own rules), nor is a deleted file's object.
  const patchedNow = new Set([...current, ...previous.files]);
  const uncached = (
    await objectsOfSources(
      objdir,
      present.filter((f) => patchedNow.has(f)),
    )
  ).filter((o) => !NOT_OWN_TARGETS.test(o));
  // Every changed file is looked for in the dependency records too: headers, and C files that other C files include.
  const stale = new Set([...(await objectsOfSources(objdir, files)), ...(await objectsIncluding(objdir, files, tree.dir))]);
  for (const o of stale) await rm(join(objdir, o), { force: true });
  const changed = new Set([...current, ...checkedOut]);
  const applied = new Map<string, string>();
  for (const f of present.filter((f) => changed.has(f))) applied.set(f, await sha256File(join(tree.dir, f)));
  return { uncached, applied };
}

/** After a build that went well: what the next build in `objdir` compares against. */
export async function recordObjdirState(tree: SourceTree, objdir: string, patches: NamedText[]): Promise<void> {
  await writeRecord(objdir, { revision: tree.revision, files: [...new Set(patches.flatMap((p) => patchedFiles(p.text)))] });
}

/** The record, or none (a first build, or a record cut short: make's timestamps decide alone, as before it). */
async function readRecord(objdir: string): Promise<BuildRecord> {
  try {
    const record = JSON.parse(await readFile(join(objdir, RECORD), 'utf8'));
    return { revision: typeof record.revision === 'string' ? record.revision : undefined, files: Array.isArray(record.files) ? record.files : [] };
  } catch {
    return { files: [] };
  }
}

async function writeRecord(objdir: string, record: BuildRecord): Promise<void> {
  await writeFile(join(objdir, RECORD), JSON.stringify(record));
}

/** In a git tree, the files that differ from the commit the last build compiled (none without a record of it: make's timestamps decide, as before any record). Throws when git cannot tell. */
async function changedSinceLastBuild(tree: SourceTree, previous: BuildRecord): Promise<string[]> {
  if (!tree.changedSince || !previous.revision || previous.revision === tree.revision) return [];
  return tree.changedSince(previous.revision);
}

async function existing(dir: string, files: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const f of files) if (await exists(join(dir, f))) found.push(f);
  return found;
}

/** Throws when a changed file is no longer as make found it: something else wrote to the tree during the build. */
export async function assertSourcesUnchanged(k: CatalogKernel, treeDir: string, patched: StaleObjects): Promise<void> {
  for (const [file, applied] of patched.applied) {
    const now = await sha256File(join(treeDir, file)).catch(() => 'missing');
    if (now !== applied)
      throw new LeaklabError('kernel-build', `kernel ${k.name}: ${file} changed while it was being built; the build is not kept`, {
        hint: `another program wrote to ${treeDir} during the build (leaklab's builds of one tree take turns): stop it and run again`,
      });
  }
}

function objectOf(source: string): string {
  return source.replace(/\.[cS]$/, '.o');
}

function isCompiledSource(file: string): boolean {
  return /\.[cS]$/.test(file);
}

/** The object each C or assembler file compiles to, where this configuration builds it. */
async function objectsOfSources(objdir: string, files: string[]): Promise<string[]> {
  const objects: string[] = [];
  for (const f of files.filter(isCompiledSource)) if (await builtHere(objdir, f)) objects.push(objectOf(f));
  return objects;
}

/**
 * Whether the configuration of `objdir` compiles `source` (a .c or .S file
 * of the tree): its object is there, or its dependency record is (a build
 * that failed after removing the object leaves the record).
 */
export async function builtHere(objdir: string, source: string): Promise<boolean> {
  const o = objectOf(source);
  return (await exists(join(objdir, o))) || exists(join(objdir, o.replace(/([^/]+)$/, '.$1.cmd')));
}

/** Objects whose recorded dependencies (Kbuild's .NAME.o.cmd files) name any of `files` (paths in the tree at `treeDir`). */
async function objectsIncluding(objdir: string, files: string[], treeDir: string): Promise<string[]> {
  if (files.length === 0) return [];
  const objects: string[] = [];
  for (const record of await dependencyRecords(objdir, '')) {
    const text = await readFile(join(objdir, record), 'utf8').catch(() => '');
    if (namesAny(text, files, objdir, treeDir)) objects.push(objectOfRecord(record));
  }
  return objects;
}

/**
 * Whether a dependency record names one of `files` (paths in the tree at
 * `treeDir`). Its paths are relative to the object directory: through the
 * tree (`../include/net/ip6_fib.h`), some up and down again
 * (`../arch/x86/boot/compressed/../string.h`), or the compiler's own
 * (absolute): each is resolved to a path in the tree first.
 */
export function namesAny(record: string, files: string[], objdir: string, treeDir: string): boolean {
  const wanted = new Set(files);
  for (const word of record.split(/[\s:=()\\,]+/)) if (word.includes('/') && wanted.has(posix.relative(treeDir, posix.resolve(objdir, word)))) return true;
  return false;
}

/** The object a dependency record (dir/.NAME.o.cmd) is of: dir/NAME.o. */
function objectOfRecord(record: string): string {
  return record.replace(/(^|\/)\.([^/]+\.o)\.cmd$/, '$1$2');
}

/**
 * Every .NAME.o.cmd under `dir` (relative to objdir). A walk of its own, not
 * readdir's recursive mode: Kbuild links `source` to the tree, and that mode
 * follows the link round the tree and back until memory runs out.
 */
export async function dependencyRecords(objdir: string, dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(objdir, dir), { withFileTypes: true })) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...(await dependencyRecords(objdir, path)));
    else if (entry.isFile() && /^\.[^/]+\.o\.cmd$/.test(entry.name)) found.push(path);
  }
  return found;
}
