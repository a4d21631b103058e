// Owns reading a user's kernel git tree without ever changing it: checks
// (a repository, refs that exist, ancestry, uncommitted changes) and a
// private checkout of its commits in the cache. The private checkout is a
// local clone (objects hard-linked, so it costs one checkout of files):
// leaklab applies patches and git bisect moves there, never in the user's
// tree, so an interrupted run cannot leave the user's checkout anywhere.
import { realpath, rm } from 'node:fs/promises';
import { run, runAllowFail } from '../util/exec.ts';
import { cachedDir, cachePath, exists } from '../util/cache.ts';
import { sha256, short } from '../util/hash.ts';
import { LeaklabError } from '../util/errors.ts';
import { OBJDIR_PREFIX } from './source-types.ts';
import type { Context } from '../util/context.ts';

const GIT_TIMEOUT_MS = 10 * 60_000;

// Reading a tree must not write to it: no index refresh by git status, and
// no automatic gc (which repacks a kernel's objects for minutes in the background).
const READ_ONLY = ['--no-optional-locks', '-c', 'gc.auto=0'];

/** Options for repositories leaklab makes: they are never gc'ed behind its back. */
export const NO_GC = ['-c', 'gc.auto=0'];

/** Runs git in `dir` and returns its stdout; a failure names `what`. */
export async function git(ctx: Context, dir: string, args: string[], what: string): Promise<string> {
  const r = await run(ctx, 'git', [...READ_ONLY, '-C', dir, ...args], {
    timeoutMs: GIT_TIMEOUT_MS,
    what,
    kind: 'tree',
    hint: `check the tree with: git -C ${dir} status`,
  });
  return r.stdout;
}

async function gitOk(ctx: Context, dir: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  const r = await runAllowFail(ctx, 'git', [...READ_ONLY, '-C', dir, ...args], { timeoutMs: GIT_TIMEOUT_MS, what: `git ${args[0]}`, kind: 'tree' });
  return { ok: r.exitCode === 0, out: r.stdout.trim() };
}

/** The top directory of the git work tree at `dir`, or a clear error. */
export async function gitTopLevel(ctx: Context, dir: string): Promise<string> {
  if (!(await exists(dir))) throw new LeaklabError('tree', `kernel tree not found: ${dir}`, { hint: 'give the path of a kernel git checkout' });
  const top = await gitOk(ctx, dir, ['rev-parse', '--show-toplevel']);
  if (!top.ok)
    throw new LeaklabError('tree', `${dir} is not a git repository`, {
      hint: 'give a kernel git checkout (git clone, or git init && git add -A && git commit in an unpacked source)',
    });
  if (!(await exists(`${top.out}/Makefile`)) || !(await exists(`${top.out}/Kconfig`))) {
    throw new LeaklabError('tree', `${top.out} is not a kernel tree (no top-level Makefile and Kconfig)`, {
      hint: 'give the top directory of a Linux source checkout',
    });
  }
  return realpath(top.out);
}

/** The full commit id `ref` names in `dir`, or a clear error. */
export async function resolveCommit(ctx: Context, dir: string, ref: string): Promise<string> {
  const r = await gitOk(ctx, dir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  if (!r.ok)
    throw new LeaklabError('tree', `"${ref}" is not a commit in ${dir}`, {
      hint: `list what exists with: git -C ${dir} log --oneline -20 (or git tag, git branch)`,
    });
  return r.out;
}

export async function isAncestor(ctx: Context, dir: string, older: string, newer: string): Promise<boolean> {
  return (await gitOk(ctx, dir, ['merge-base', '--is-ancestor', older, newer])).ok;
}

/** Tracked files with uncommitted changes (untracked files do not count). */
export async function uncommittedChanges(ctx: Context, dir: string): Promise<string[]> {
  const out = await git(ctx, dir, ['status', '--porcelain', '--untracked-files=no'], 'git status');
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(3));
}

/** Refuses a tree with uncommitted changes, naming a few and saying what they would miss. */
export async function refuseUncommitted(ctx: Context, top: string, consequence: string, hint: string): Promise<void> {
  const changed = await uncommittedChanges(ctx, top);
  if (changed.length === 0) return;
  const some = `${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', ...' : ''}`;
  throw new LeaklabError('tree', `${top} has uncommitted changes (${some}): ${consequence}`, { hint });
}

/** "abc123def012 subject" for messages. */
export async function describeCommit(ctx: Context, dir: string, commit: string): Promise<string> {
  return (await git(ctx, dir, ['log', '-1', '--format=%h %s', commit], 'git log')).trim();
}

/** Where the private clone of `tree` lives (known before it exists, for locking). */
export function privateClonePath(ctx: Context, tree: string): string {
  return cachePath(ctx, 'trees', short(sha256(tree)), 'src');
}

/**
 * Makes or refreshes the private clone of `tree` (its current refs are
 * fetched every time). Call it, and `checkoutCommit`, holding the lock of
 * `privateClonePath(tree)`.
 */
export async function privateClone(ctx: Context, tree: string): Promise<string> {
  const clone = await cachedDir(ctx, 'trees', short(sha256(tree)), async (tmp) => {
    ctx.progress.step('tree', `making a private checkout of ${tree} (your tree is never changed)`);
    await run(ctx, 'git', ['clone', '--quiet', ...NO_GC, '--local', '--no-checkout', tree, `${tmp}/src`], {
      timeoutMs: GIT_TIMEOUT_MS,
      what: `git clone ${tree}`,
      kind: 'tree',
    });
  });
  await removeStaleLocks(ctx, `${clone}/src`);
  // Everything the user's tree can name (branches, tags, remote-tracking
  // branches such as upstream/master, a detached HEAD), as it is now.
  await git(
    ctx,
    `${clone}/src`,
    ['fetch', '--quiet', '--no-tags', 'origin', '+HEAD:refs/leaklab/head', '+refs/*:refs/leaklab/all/*'],
    `git fetch from ${tree}`,
  );
  return `${clone}/src`;
}

/**
 * A git command killed mid-way (Ctrl-C, timeout) leaves *.lock files that
 * would fail every later one. Only leaklab uses the clone, and the caller
 * holds leaklab's lock on it, so any lock file there is stale.
 */
async function removeStaleLocks(ctx: Context, repo: string): Promise<void> {
  const locks = (
    await runAllowFail(ctx, 'find', [`${repo}/.git`, '-maxdepth', '6', '-name', '*.lock', '-type', 'f'], { timeoutMs: 60_000, what: 'find stale git locks' })
  ).stdout
    .split('\n')
    .filter(Boolean);
  await Promise.all(locks.map((l) => rm(l, { force: true })));
}

/** Puts the private clone exactly at `commit`, whatever state it was left in. */
export async function checkoutCommit(ctx: Context, clone: string, commit: string): Promise<void> {
  if (!(await gitOk(ctx, clone, ['cat-file', '-e', `${commit}^{commit}`])).ok) {
    throw new LeaklabError('tree', `commit ${commit.slice(0, 12)} is not reachable from any branch, tag or remote-tracking branch of the tree`, {
      hint: 'give it a branch or tag (git branch leaklab-target COMMIT), then run again',
    });
  }
  // The object directories leaklab keeps in the clone (source-build.ts) are neither a change nor cleaned away.
  const head = await gitOk(ctx, clone, ['rev-parse', 'HEAD']);
  const status =
    head.ok && head.out === commit ? await git(ctx, clone, ['status', '--porcelain', '--', '.', `:(exclude)${OBJDIR_PREFIX}*`], 'git status') : 'moved';
  if (status.trim() === '') return;
  await git(ctx, clone, ['checkout', '--quiet', '--force', '--detach', commit], `git checkout ${commit}`);
  await git(ctx, clone, ['clean', '--quiet', '-fdx', '-e', `/${OBJDIR_PREFIX}*`], 'git clean');
}
