// End to end: bisects on a real kernel history (test/helpers/kernel-history.ts:
// linux-source-6.1 plus 24 commits; c11 brings the leak in, c20 takes it
// out, c8 does not build). Every step is a real build and a real guest; the
// number of kernels judged is held to the binary-search minimum.
import test from 'ava';
import { readFileSync, writeFileSync, mkdirSync, symlinkSync, existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { leaklab, qemuProcesses, tempDir, ROOT } from '../helpers/cli.ts';
import { kernelHistory, LEAK_IN, LEAK_OUT, BROKEN } from '../helpers/kernel-history.ts';

const SEED = 'scenarios/fib6-suppress-leak.yaml';

const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();

/** The tree's state a bisect must leave exactly as it was. */
function treeState(dir: string): string {
  return [git(dir, 'rev-parse', 'HEAD'), git(dir, 'status', '--porcelain'), existsSync(join(dir, '.git/BISECT_LOG'))].join('|');
}

function report(path: string) {
  return JSON.parse(readFileSync(path, 'utf8')).bisect;
}

test.before(() => {
  kernelHistory();
});

test(`bisect commits finds ${LEAK_IN}, skipping the commit that does not build, and leaves the tree as it was`, async (t) => {
  const tree = kernelHistory();
  const before = treeState(tree);
  const dir = tempDir(t);
  const json = join(dir, 'b.json');
  const r = await leaklab(['bisect', 'commits', '--tree', tree, '--good', 'c0', '--bad', 'c16', SEED, '--json', json, '--runs-dir', join(dir, 'runs')]);
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr.split('\n').slice(-20).join('\n'));
  const leakIn = git(tree, 'rev-parse', LEAK_IN);
  t.regex(r.stdout, new RegExp(`first leaking commit: ${leakIn} ipv6: fib6_rule_suppress: take the dst reference back out`));
  t.regex(r.stdout, /net\/ipv6\/fib6_rules\.c \| 3 \+\+-/);
  const b = report(json);
  t.is(b.outcome, 'found');
  t.is(b.first.commit, leakIn);
  t.is(b.suspect, undefined);
  // 16 commits: 2 ends + log2(16) = 4 steps; the commit that does not build costs its own
  // build, and git's pick of a neighbour after a skip can cost one step more.
  const skipped = b.steps.filter((s: { state: string }) => s.state === 'skip');
  t.deepEqual(
    skipped.map((s: { commit: string }) => s.commit),
    [git(tree, 'rev-parse', BROKEN)],
  );
  t.true(b.steps.length <= 2 + 4 + 2, `${b.steps.length} kernels judged`);
  t.true(b.steps.reduce((n: number, s: { verdicts: string[] }) => n + s.verdicts.length, 0) <= 2 + 4 + 1, 'guest runs');
  t.true(
    b.steps.every((s: { verdicts: string[] }) => s.verdicts.length <= 1),
    'one run per kernel when runs agree',
  );
  t.regex(r.stdout, new RegExp(`replay it in your tree: git -C ${tree} bisect replay .*bisect\\.log`));
  t.regex(readFileSync(b.log, 'utf8'), /git bisect skip/);
  t.is(treeState(tree), before, "the user's tree is only read");
  t.deepEqual(qemuProcesses(dir), []);
});

test(`bisect commits --fix finds ${LEAK_OUT} in the binary-search minimum`, async (t) => {
  const tree = kernelHistory();
  const dir = tempDir(t);
  const json = join(dir, 'b.json');
  const r = await leaklab([
    'bisect',
    'commits',
    '--fix',
    '--tree',
    tree,
    '--bad',
    'c16',
    '--good',
    'c24',
    SEED,
    '--json',
    json,
    '--runs-dir',
    join(dir, 'runs'),
  ]);
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr.split('\n').slice(-20).join('\n'));
  const b = report(json);
  t.is(b.first.commit, git(tree, 'rev-parse', LEAK_OUT));
  t.regex(r.stdout, /first fixed commit: [0-9a-f]{40} ipv6: fix memory leak in fib6_rule_suppress/);
  // 8 commits: 2 ends + log2(8) = 3 steps.
  t.true(b.steps.length <= 2 + 3, `${b.steps.length} kernels judged`);
});

/** A catalog whose kernels are commits of the history (fragments from lab/kconfig). */
function historyCatalog(dir: string, tree: string): string {
  const lab = join(dir, 'lab');
  mkdirSync(lab);
  symlinkSync(join(ROOT, 'lab/kconfig'), join(lab, 'kconfig'));
  const config = '{ base: tinyconfig, fragments: [leaklab-base, ipv6-netfilter] }';
  const refs = ['c0', 'c4', 'c10', LEAK_IN, 'c16'];
  writeFileSync(
    join(lab, 'kernels.yaml'),
    [
      'kernels:',
      ...refs.map((ref) => `  h-${ref}:\n    source: { tree: ${tree}, ref: ${ref} }\n    config: ${config}`),
      '  tiny-no-netfilter:',
      `    source: { tree: ${tree}, ref: c0 }`,
      '    config: { base: tinyconfig, fragments: [leaklab-base] }',
      'series:',
      `  history: [${refs.map((r) => `h-${r}`).join(', ')}]`,
    ].join('\n') + '\n',
  );
  return join(lab, 'kernels.yaml');
}

test('bisect versions over catalog kernels built from the history names the first that leaks', async (t) => {
  const tree = kernelHistory();
  const dir = tempDir(t);
  const catalog = historyCatalog(dir, tree);
  const json = join(dir, 'b.json');
  const r = await leaklab(['bisect', 'versions', '--kernels', 'history', SEED, '--json', json, '--runs-dir', join(dir, 'runs')], {
    env: { LEAKLAB_CATALOG: catalog },
  });
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr.split('\n').slice(-20).join('\n'));
  t.regex(r.stdout, new RegExp(`first leaking kernel: h-${LEAK_IN}`));
  const b = report(json);
  t.is(b.firstKernel, `h-${LEAK_IN}`);
  // 5 kernels: 2 ends + ceil(log2(3 between)) = 2 steps.
  t.true(b.steps.length <= 2 + 2, `${b.steps.length} kernels judged`);
});

test('bisect at a tolerance: a kernel whose interval straddles it gets more packets until decided, never a guess', async (t) => {
  // 2000 packets cannot tell 1 in 1000 (or 0) from a tolerance of 0.0005: both ends start inconclusive.
  const dir = tempDir(t);
  const file = join(dir, 'tolerance.yaml');
  writeFileSync(
    file,
    readFileSync(SEED, 'utf8')
      .replace(/^name: .*$/m, 'name: bisect-tolerance')
      .replace(/^expect:[\s\S]*$/m, 'thresholds: { tolerance: 0.0005 }\n'),
  );
  const json = join(dir, 'b.json');
  const r = await leaklab(['bisect', 'versions', '-k', 'v6.1,v6.1-keep-1-in-1000', '--retries', '4', file, '--json', json, '--runs-dir', join(dir, 'runs')]);
  t.log(
    r.stdout,
    r.stderr
      .split('\n')
      .filter((l) => /bisect:/.test(l))
      .join('\n'),
  );
  t.is(r.code, 0);
  t.regex(r.stderr, /v6\.1-keep-1-in-1000: inconclusive; the next run does \d+ packets/);
  const b = report(json);
  t.is(b.firstKernel, 'v6.1-keep-1-in-1000');
  const leaking = b.steps.find((s: any) => s.kernel === 'v6.1-keep-1-in-1000');
  t.deepEqual(leaking.verdicts.slice(-1), ['leak']);
  t.true(leaking.verdicts.length >= 2, 'decided by a run with more packets');
  t.regex(r.stdout, /v6\.1-keep-1-in-1000 +LEAK +\+0\.00\d+ obj\/packet \[/);
  t.deepEqual(qemuProcesses(dir), [], 'no guest left running');
});

test('bisect: bad input and wrong ends, one clear message each, the tree left as it was', async (t) => {
  const tree = kernelHistory();
  const before = treeState(tree);
  const dir = tempDir(t);
  const catalog = historyCatalog(dir, tree);
  const notGit = join(dir, 'not-git');
  mkdirSync(notGit);
  const dirty = join(dir, 'dirty');
  mkdirSync(dirty);
  writeFileSync(join(dirty, 'Makefile'), 'all:\n');
  writeFileSync(join(dirty, 'Kconfig'), '');
  git(dirty, 'init', '-q');
  git(dirty, 'add', '-A');
  git(dirty, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'x');
  writeFileSync(join(dirty, 'Makefile'), 'all:\n\ttrue\n');
  const runs = join(dir, 'runs');
  const cases: [string[], number, RegExp][] = [
    [['commits', '--tree', notGit, '--good', 'c0', '--bad', 'c16'], 2, /is not a git repository/],
    [['commits', '--tree', tree, '--good', 'c0', '--bad', 'no-such-ref'], 2, /"no-such-ref" is not a commit in/],
    [['commits', '--tree', tree, '--good', 'c16', '--bad', 'c0'], 2, /--good c16 is not an ancestor of --bad c0[^]*--fix/],
    [['commits', '--tree', dirty, '--good', 'HEAD', '--bad', 'HEAD'], 2, /has uncommitted changes \(Makefile\): no bisect step would include them/],
    [['versions', '--kernels', 'h-c0'], 2, /needs at least two kernels/],
    [['versions', '--kernels', 'h-c0,h-nope'], 2, /unknown kernel "h-nope"/],
  ];
  for (const [args, code, message] of cases) {
    const r = await leaklab(['bisect', ...args, SEED, '--runs-dir', runs], { env: { LEAKLAB_CATALOG: catalog } });
    t.is(r.code, code, `${args.join(' ')}\n${r.stderr}`);
    t.regex(r.stderr, message, args.join(' '));
    t.regex(r.stderr, /next step: /, args.join(' '));
  }
  t.false(existsSync(runs), 'bad input makes no run directory');

  // The config cannot run the scenario: said before anything is built.
  const noNft = await leaklab(
    ['bisect', 'commits', '--tree', tree, '--good', 'c0', '--bad', 'c16', '--config-from', 'tiny-no-netfilter', SEED, '--runs-dir', runs],
    { env: { LEAKLAB_CATALOG: catalog } },
  );
  t.is(noNft.code, 2, noNft.stderr);
  t.regex(noNft.stderr, /kernel-config error: .*CONFIG_/);

  // Ends that do not behave as given: c11 already leaks.
  const wrong = await leaklab(['bisect', 'commits', '--tree', tree, '--good', LEAK_IN, '--bad', 'c16', SEED, '--runs-dir', runs]);
  t.is(wrong.code, 3, wrong.stderr);
  t.regex(wrong.stdout, /--good \S+ leaks \(\+(0\.9\d|1\.0\d) obj\/packet \[0\.\d+, 1\.\d+\]\), but it was given as the end that does not leak/);
  t.is(treeState(tree), before);
  t.deepEqual(qemuProcesses(dir), []);
});

test('Ctrl-C in the middle of a bisect: exit 130, no guest, no bisect repository left, the tree as it was', async (t) => {
  const tree = kernelHistory();
  const before = treeState(tree);
  const dir = tempDir(t);
  const runs = join(dir, 'runs');
  const r = await leaklab(['bisect', 'commits', '--tree', tree, '--good', 'c0', '--bad', 'c16', SEED, '--runs-dir', runs], {
    onStderr: (all) => (/bisect: step 2: /.test(all) ? 'SIGINT' : undefined),
  });
  t.is(r.code, 130, r.stderr.split('\n').slice(-10).join('\n'));
  t.deepEqual(qemuProcesses(dir), []);
  const runDir = join(runs, readdirSync(runs)[0]);
  t.false(existsSync(join(runDir, 'bisect.git')), 'the throwaway bisect repository is removed');
  t.is(treeState(tree), before);
});
