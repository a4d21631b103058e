// Owns `bisect commits`: find the commit of a user's kernel tree that brought
// a leak in (or, with `fix`, took it out). git bisect is the search engine,
// run with --no-checkout in a throwaway bare clone in the run directory; each
// step is built in leaklab's private checkout (objects dir outside the tree,
// so steps build incrementally). The user's tree is only read.
import { join, basename } from 'node:path';
import { rm } from 'node:fs/promises';
import { treeKernel, type Catalog } from '../kernel/catalog.ts';
import { gitTopLevel, resolveCommit, isAncestor, refuseUncommitted, git, describeCommit, NO_GC } from '../kernel/git-tree.ts';
import { judgeKernel, type JudgeOptions, type StepResult } from './judge-kernel.ts';
import { endpointProblem, stepProblem, type BisectResult, type Direction } from './result.ts';
import { run, runAllowFail } from '../util/exec.ts';
import { LeaklabError } from '../util/errors.ts';
import { writeOutput, RUNS_DIR_WHERE } from '../util/output.ts';
import type { Context } from '../util/context.ts';

export interface CommitBisectOptions extends JudgeOptions {
  tree: string;
  good: string;
  bad: string;
  direction: Direction;
  configFrom?: string;
}

interface CommitInputs {
  top: string;
  good: string;
  bad: string;
  old: string;
  new: string;
}

/** Checks the tree and refs; every input error is raised before anything is built. */
export async function checkCommitInputs(ctx: Context, tree: string, goodRef: string, badRef: string, direction: Direction): Promise<CommitInputs> {
  const top = await gitTopLevel(ctx, tree);
  await refuseUncommitted(ctx, top, 'no bisect step would include them', 'commit or stash them first, so the bisect tests what you think it tests');
  const good = await resolveCommit(ctx, top, goodRef);
  const bad = await resolveCommit(ctx, top, badRef);
  const [older, newer, olderRef, newerRef] = direction === 'introduced' ? [good, bad, goodRef, badRef] : [bad, good, badRef, goodRef];
  if (good === bad || !(await isAncestor(ctx, top, older, newer))) {
    throw new LeaklabError(
      'usage',
      `${direction === 'introduced' ? '--good' : '--bad'} ${olderRef} is not an ancestor of ${direction === 'introduced' ? '--bad' : '--good'} ${newerRef}`,
      {
        hint:
          direction === 'introduced'
            ? 'good (no leak) must be the older commit; if the leak went away over time, add --fix (then --bad is the older one)'
            : 'with --fix, bad (leaks) must be the older commit and good (fixed) the newer one',
      },
    );
  }
  return { top, good, bad, old: older, new: newer };
}

export async function bisectCommits(ctx: Context, catalog: Catalog, opts: CommitBisectOptions): Promise<BisectResult> {
  const inputs = await checkCommitInputs(ctx, opts.tree, opts.good, opts.bad, opts.direction);
  const { top } = inputs;
  const kernelAt = (commit: string) => treeKernel(catalog, { tree: top, commit, name: `${basename(top)}@${commit.slice(0, 12)}`, configFrom: opts.configFrom });
  const [oldState, newState] = opts.direction === 'introduced' ? (['no-leak', 'leak'] as const) : (['leak', 'no-leak'] as const);
  const steps: StepResult[] = [];
  const judge = async (commit: string) => {
    const s = await judgeKernel(ctx, kernelAt(commit), opts, commit);
    steps.push(s);
    return s;
  };

  // Both ends first: a bisect between ends that do not behave as claimed finds nothing.
  ctx.progress.step(
    'bisect',
    `checking the ends: ${await describeCommit(ctx, top, inputs.old)} should be ${oldState}, ${await describeCommit(ctx, top, inputs.new)} should be ${newState}`,
  );
  const problem =
    endpointProblem(await judge(inputs.old), oldState, opts.direction === 'introduced' ? '--good' : '--bad') ??
    endpointProblem(await judge(inputs.new), newState, opts.direction === 'introduced' ? '--bad' : '--good');
  const base = { direction: opts.direction, tree: top, steps };
  if (problem) return { ...base, outcome: problem.outcome, why: problem.why };

  // git bisect in a throwaway bare clone: it only chooses commits.
  const repo = join(opts.runDir, 'bisect.git');
  const unregister = ctx.cleanup.add(`bisect repo ${repo}`, () => rm(repo, { recursive: true, force: true }));
  try {
    // --shared: no copy of the objects (even across filesystems); the repository is thrown away at the end.
    await run(ctx, 'git', ['clone', '--quiet', ...NO_GC, '--bare', '--shared', top, repo], { timeoutMs: 10 * 60_000, what: 'git clone --bare', kind: 'tree' });
    const [termOld, termNew] = opts.direction === 'introduced' ? ['good', 'bad'] : ['leaking', 'fixed'];
    let out = await git(
      ctx,
      repo,
      ['bisect', 'start', '--no-checkout', `--term-old=${termOld}`, `--term-new=${termNew}`, inputs.new, inputs.old],
      'git bisect start',
    );
    for (;;) {
      const found = /^([0-9a-f]{40}) is the first \w+ commit/m.exec(out);
      if (found) {
        return { ...base, ...(await firstCommitResult(ctx, top, found[1], steps, judge)), log: join(opts.runDir, 'bisect.log') };
      }
      if (/only 'skip'ped commits left/.test(out)) {
        const candidates = [...out.matchAll(/^([0-9a-f]{40})$/gm)].map((m) => m[1]);
        return {
          ...base,
          outcome: 'ambiguous',
          why: `commits that do not build hide the answer: the first ${newState === 'leak' ? 'leaking' : 'fixed'} commit is one of ${candidates.length}`,
          candidates,
          log: join(opts.runDir, 'bisect.log'),
        };
      }
      const left = /Bisecting: (\d+) revisions? left to test after this \(roughly (\d+) steps?\)/.exec(out);
      const commit = (await git(ctx, repo, ['rev-parse', 'BISECT_HEAD'], 'git rev-parse BISECT_HEAD')).trim();
      ctx.progress.step(
        'bisect',
        `step ${steps.length - 1}: ${await describeCommit(ctx, top, commit)}${left ? ` (${left[1]} left after this, about ${left[2]} more step(s))` : ''}`,
      );
      const s = await judge(commit);
      if (s.state === 'flaky' || s.state === 'inconclusive') {
        return { ...base, outcome: s.state, why: stepProblem(s), log: join(opts.runDir, 'bisect.log') };
      }
      const mark = s.state === 'skip' ? 'skip' : s.state === newState ? termNew : termOld;
      out = await bisectMark(ctx, repo, mark, commit);
    }
  } finally {
    // Kept whatever happened (a step that failed to boot, Ctrl-C): the user can replay up to there.
    await saveLog(ctx, repo, opts.runDir).catch(() => {});
    unregister();
    await rm(repo, { recursive: true, force: true });
  }
}

/**
 * Marks a commit; git bisect exits 2 when only skipped commits are left,
 * which is an answer (a list of candidates), not a failure.
 */
async function bisectMark(ctx: Context, repo: string, mark: string, commit: string): Promise<string> {
  const r = await runAllowFail(ctx, 'git', ['-C', repo, 'bisect', mark, commit], { timeoutMs: 10 * 60_000, what: `git bisect ${mark}`, kind: 'tree' });
  const out = r.stdout + r.stderr;
  if (r.exitCode !== 0 && !/only 'skip'ped commits left/.test(out)) {
    throw new LeaklabError('tree', `git bisect ${mark} ${commit.slice(0, 12)} failed (exit ${r.exitCode})`, {
      hint: 'this is unexpected; the bisect log in the run directory shows the steps so far',
      details: out.trim(),
    });
  }
  return out;
}

async function saveLog(ctx: Context, repo: string, runDir: string): Promise<void> {
  await writeOutput(join(runDir, 'bisect.log'), await git(ctx, repo, ['bisect', 'log'], 'git bisect log'), RUNS_DIR_WHERE);
}

/** The first changed commit, with its diffstat, and whether its kernel differs from its parent's at all. */
async function firstCommitResult(
  ctx: Context,
  top: string,
  commit: string,
  steps: StepResult[],
  judge: (c: string) => Promise<StepResult>,
): Promise<Pick<BisectResult, 'outcome' | 'why' | 'first' | 'suspect'>> {
  const subject = (await git(ctx, top, ['log', '-1', '--format=%s', commit], 'git log')).trim();
  const diffstat = (await git(ctx, top, ['show', '--stat', '--format=', commit], 'git show --stat')).trimEnd();
  const parent = (await git(ctx, top, ['rev-parse', `${commit}^`], 'git rev-parse')).trim();
  const mine = steps.find((s) => s.commit === commit);
  // The parent was usually tested on the way; if not, building it (no runs needed) would do, but judging it also confirms the edge.
  const theirs = steps.find((s) => s.commit === parent) ?? (await judge(parent));
  const suspect =
    mine?.bzImageSha256 !== undefined && mine.bzImageSha256 === theirs.bzImageSha256
      ? "its kernel is byte-identical to its parent's: the difference seen is not in this commit (flaky runs?) — the result is suspect"
      : undefined;
  return { outcome: 'found', first: { commit, subject, diffstat, parent }, suspect, why: `first ${mine?.state === 'leak' ? 'leaking' : 'fixed'} commit found` };
}
