// Benchmark: a commit bisect over 16 commits on a one-file difference (a
// branch bench-16 of the test kernel history: from c0, 15 commits that change
// a text file and, at the 11th, the one that brings the leak in), with the
// tree's object dir already built once but no step's kernel cached: every
// step is a real incremental build. Goal: at most ceil(log2 16) + 2 = 6
// scenario runs, under 6 minutes.
//   node --import=tsx bench/bisect.ts
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelHistory, LEAK_IN } from '../test/helpers/kernel-history.ts';
import { readConfig } from '../src/util/config.ts';

const tree = kernelHistory();
const git = (args: string[], env: Record<string, string> = {}, input?: string) =>
  execFileSync('git', ['-C', tree, ...args], { encoding: 'utf8', input, env: { ...process.env, ...env } }).trim();

/** Makes branch bench-16 with plumbing only (a private index): the history's work tree is not touched. */
function benchBranch(): void {
  if (spawnSync('git', ['-C', tree, 'rev-parse', '--verify', '--quiet', 'bench-16']).status === 0) return;
  const index = join(mkdtempSync(join(tmpdir(), 'leaklab-bench-index-')), 'index');
  const env = {
    GIT_INDEX_FILE: index,
    GIT_AUTHOR_NAME: 'leaklab bench',
    GIT_AUTHOR_EMAIL: 'bench@leaklab.invalid',
    GIT_COMMITTER_NAME: 'leaklab bench',
    GIT_COMMITTER_EMAIL: 'bench@leaklab.invalid',
  };
  git(['read-tree', 'c0'], env);
  let parent = git(['rev-parse', 'c0']);
  for (let i = 1; i <= 16; i++) {
    const date = `2024-02-01T00:${String(i).padStart(2, '0')}:00Z`;
    const blob = git(['hash-object', '-w', '--stdin'], env, `bench change ${i}\n`);
    git(['update-index', '--add', '--cacheinfo', `100644,${blob},Documentation/leaklab-bench.txt`], env);
    if (i === 11) git(['update-index', '--cacheinfo', `100644,${git(['rev-parse', `${LEAK_IN}:net/ipv6/fib6_rules.c`])},net/ipv6/fib6_rules.c`], env);
    const treeId = git(['write-tree'], env);
    parent = git(['commit-tree', treeId, '-p', parent, '-m', i === 11 ? 'bench: the leak comes in' : `bench: change ${i}`], {
      ...env,
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_DATE: date,
    });
  }
  git(['branch', 'bench-16', parent]);
  rmSync(join(index, '..'), { recursive: true, force: true });
}

benchBranch();
const bisect = (dir: string) =>
  spawnSync(
    'node',
    [
      'bin/leaklab.js',
      'bisect',
      'commits',
      '-q',
      '--tree',
      tree,
      '--good',
      'c0',
      '--bad',
      'bench-16',
      'scenarios/fib6-suppress-leak.yaml',
      '--json',
      join(dir, 'r.json'),
      '--runs-dir',
      join(dir, 'runs'),
    ],
    { encoding: 'utf8' },
  );
// The cache the bisect's leaklab uses: the same environment, read the same way.
const kernelsDir = join(readConfig(process.env).cacheRoot, 'kernels');
const historyKernels = () =>
  (existsSync(kernelsDir) ? readdirSync(kernelsDir) : []).filter(
    (k) => existsSync(join(kernelsDir, k, 'meta.json')) && readFileSync(join(kernelsDir, k, 'meta.json'), 'utf8').includes(tree),
  );
// "Already built once": on a cache that never built the history, one untimed bisect builds the object dir.
if (historyKernels().length === 0) {
  console.log('warming up: building the history once (cold build, untimed)');
  const warm = mkdtempSync(join(tmpdir(), 'leaklab-bench-bisect-warm-'));
  bisect(warm);
  rmSync(warm, { recursive: true, force: true });
}
// Forget the built kernels of the history (the object dir stays): steps must build.
for (const k of historyKernels()) rmSync(join(kernelsDir, k), { recursive: true, force: true });
const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-bisect-'));
const t = Date.now();
const r = bisect(dir);
const secs = (Date.now() - t) / 1000;
const b = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')).bisect;
const runs = b.steps.reduce((n: number, s: { verdicts: string[] }) => n + s.verdicts.length, 0);
console.log(r.stdout.split('\n')[0]);
console.log(
  `bisect over 16 commits (one-file difference): ${b.steps.length} kernels built, ${runs} scenario runs (goal <= ${Math.ceil(Math.log2(16)) + 2}), ${secs.toFixed(0)} s (goal < 360 s)`,
);
rmSync(dir, { recursive: true, force: true });
