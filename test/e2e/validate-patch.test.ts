// End to end: patch validation on real builds and guests. The reference
// cases: the upstream fix on the fix-reverted kernel holds; a comment-only
// patch to the same function does not; no patch can be judged on v6.1,
// which never leaks.
import test from 'ava';
import { readFileSync, writeFileSync, mkdirSync, copyFileSync, existsSync, symlinkSync, statSync, utimesSync, readdirSync } from 'node:fs';
import { join, basename } from 'node:path';
import { execFileSync } from 'node:child_process';
import { leaklab, qemuProcesses, tempDir, ROOT } from '../helpers/cli.ts';
import { kernelHistory, cacheRoot, LEAK_OUT } from '../helpers/kernel-history.ts';

const SEED = 'scenarios/fib6-suppress-leak.yaml';

test('the upstream fix on v6.1-fix-reverted: FIX HOLDS at 95 %, no regression in a control', async (t) => {
  const dir = tempDir(t);
  const suite = join(dir, 'suite');
  mkdirSync(suite);
  copyFileSync(join(ROOT, SEED), join(suite, 'fib6-suppress-leak.yaml'));
  copyFileSync(join(ROOT, 'scenarios/control-no-rule.yaml'), join(suite, 'control-no-rule.yaml'));
  const json = join(dir, 'v.json');
  const r = await leaklab([
    'validate-patch',
    '-s',
    'v6.1-fix-reverted',
    '-p',
    'lab/patches/fib6-suppress-fix.patch',
    join(suite, 'fib6-suppress-leak.yaml'),
    '--json',
    json,
    '--runs-dir',
    join(dir, 'runs'),
  ]);
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr.split('\n').slice(-15).join('\n'));
  t.regex(
    r.stdout,
    /base: LEAK \+(0\.9\d|1\.0\d) obj\/packet \[0\.\d+, 1\.\d+\] \(3\/3 runs\)\s+patched: no leak < 0\.00\d+ obj\/packet \(3\/3 runs\)\s+=> FIX HOLDS \(confidence 95\.0 %\)/,
  );
  const report = JSON.parse(readFileSync(json, 'utf8'));
  t.is(report.validation.results.length, 12, '2 scenarios x 2 kernels x 3 runs');
  t.deepEqual(report.validation.regressions, []);
  t.is(report.validation.others[0].scenario, 'control-no-rule');
  t.truthy(report.validation.kernels.patched.provenance.bzImageSha256);
  const md = readFileSync(join(report.runDir, 'report.md'), 'utf8');
  t.regex(md, /^# Patch validation: FIX HOLDS/);
  t.regex(md, /node bin\/leaklab\.js validate-patch -s v6\.1-fix-reverted/);
  t.deepEqual(qemuProcesses(dir), []);
});

test('a comment-only patch to the same function: FIX DOES NOT HOLD, exit 1', async (t) => {
  const dir = tempDir(t);
  const r = await leaklab([
    'validate-patch',
    '-s',
    'v6.1-fix-reverted',
    '-p',
    'test/fixtures/patches/comment-only.patch',
    '--no-suite',
    '-n',
    '1',
    SEED,
    '--runs-dir',
    join(dir, 'runs'),
  ]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stdout, /patched: LEAK \+(0\.9\d|1\.0\d) obj\/packet \[0\.\d+, 1\.\d+\] \(1\/1 runs\)\s+=> FIX DOES NOT HOLD/);
});

test('an object left newer than its patched source cannot reach the patched kernel: it is compiled afresh', async (t) => {
  // Variants of one source and config share an object directory, and make trusts timestamps. Build a fixed
  // kernel, make its fib6_rules.o look newer than any source (a clock stepped back does this), then patch the
  // fix-reverted kernel: the patched kernel must leak, not link the fixed kernel's object.
  const dir = tempDir(t);
  const lab = join(dir, 'lab');
  mkdirSync(join(lab, 'patches'), { recursive: true });
  symlinkSync(join(ROOT, 'lab/kconfig'), join(lab, 'kconfig'));
  copyFileSync(join(ROOT, 'lab/patches/fib6-suppress-revert-fix.patch'), join(lab, 'patches/fib6-suppress-revert-fix.patch'));
  // A comment unique to this test run: no build before made these sources.
  const comment = (tag: string) =>
    readFileSync(join(ROOT, 'test/fixtures/patches/comment-only.patch'), 'utf8').replace('(leaklab test)', `(leaklab test ${tag} ${basename(dir)})`);
  writeFileSync(join(lab, 'patches/comment-a.patch'), comment('a'));
  writeFileSync(join(dir, 'comment-b.patch'), comment('b'));
  const config = 'config: { base: tinyconfig, fragments: [leaklab-base, ipv6-netfilter] }';
  writeFileSync(
    join(lab, 'kernels.yaml'),
    `kernels:\n  fixed-a:\n    source: { debian: linux-source-6.1 }\n    ${config}\n    patches: [comment-a.patch]\n` +
      `  reverted:\n    source: { debian: linux-source-6.1 }\n    ${config}\n    patches: [fib6-suppress-revert-fix.patch]\n`,
  );
  const env = { LEAKLAB_CATALOG: join(lab, 'kernels.yaml') };
  const fixed = await leaklab(['run', SEED, '-k', 'fixed-a', '--runs-dir', join(dir, 'runs')], { env });
  t.regex(fixed.stdout, /fixed-a +no leak/, fixed.stderr.split('\n').slice(-10).join('\n'));
  // The object directory fixed-a was just built in: its fib6_rules.o is the newest.
  const objects = globObjects(join(cacheRoot(), 'sources'), 'net/ipv6/fib6_rules.o').sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  const future = new Date(Date.now() + 24 * 3600_000);
  utimesSync(objects[0], future, future);
  const r = await leaklab(
    ['validate-patch', '-s', 'reverted', '-p', join(dir, 'comment-b.patch'), '--no-suite', '-n', '1', SEED, '--runs-dir', join(dir, 'runs')],
    {
      env,
    },
  );
  t.is(r.code, 1, r.stderr.split('\n').slice(-15).join('\n'));
  t.regex(r.stdout, /patched: LEAK \+(0\.9\d|1\.0\d) obj\/packet/);
  t.regex(r.stderr, /compiling net\/ipv6\/fib6_rules\.o afresh \(patched since the last build here\), without the compiler cache/);
  t.true(statSync(objects[0]).mtimeMs < Date.now(), 'the object was compiled again');
});

test('any patch on v6.1, which does not leak: BASE DOES NOT REPRODUCE, exit 3, patched kernel not built', async (t) => {
  const dir = tempDir(t);
  const json = join(dir, 'r.json');
  const r = await leaklab([
    'validate-patch',
    '-s',
    'v6.1',
    '-p',
    'test/fixtures/patches/comment-only.patch',
    '--no-suite',
    '-n',
    '1',
    SEED,
    '--json',
    json,
    '--runs-dir',
    join(dir, 'runs'),
  ]);
  t.is(r.code, 3, r.stderr);
  t.regex(r.stdout, /base: no leak .* => BASE DOES NOT REPRODUCE/);
  // Not built, not even fetched from the cache: the report has no patched kernel and no patched runs.
  const v = JSON.parse(readFileSync(json, 'utf8')).validation;
  t.is(v.kernels.patched, undefined);
  t.is(v.target.patched, undefined);
  t.is(v.results.filter((x: any) => x.kernel !== 'v6.1').length, 0);
});

test('bad input: an empty patch, a missing patch, a package kernel as source', async (t) => {
  const dir = tempDir(t);
  const empty = join(dir, 'empty.patch');
  (await import('node:fs')).writeFileSync(empty, 'Subject: nothing\n');
  const cases: [string[], RegExp][] = [
    [['-s', 'v6.1-fix-reverted', '-p', empty], /empty: it has no diff hunks/],
    [['-s', 'v6.1-fix-reverted', '-p', join(dir, 'nope.patch')], /patch not found/],
    [['-s', 'debian-6.1-cloud', '-p', 'lab/patches/fib6-suppress-fix.patch'], /is a Debian package: a patch needs a kernel leaklab builds from source/],
    [['-s', 'v9-nope', '-p', 'lab/patches/fib6-suppress-fix.patch'], /--source v9-nope is neither a catalog kernel nor a directory/],
  ];
  for (const [args, message] of cases) {
    const r = await leaklab(['validate-patch', ...args, '--no-suite', SEED, '--runs-dir', join(dir, 'runs')]);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, message);
    t.regex(r.stderr, /next step: /);
  }
  // An unknown --source is offered the kernels a patch can go on: those built from source, whatever the catalog's order.
  const unknown = await leaklab(['validate-patch', '-s', 'v9-nope', '-p', 'lab/patches/fib6-suppress-fix.patch', '--no-suite', SEED]);
  const offered = /use one of: (.*) \(catalog entries with source:\)/.exec(unknown.stderr)?.[1].split(', ') ?? [];
  for (const kernel of ['v6.1', 'v6.1-fix-reverted', 'v6.12', 'v6.12-fix-reverted', 'v6.1-keep-1-in-2']) t.true(offered.includes(kernel), kernel);
  for (const kernel of ['debian-6.1-cloud', 'debian-6.12-cloud']) t.false(offered.includes(kernel), `${kernel} is a package`);
  t.false(existsSync(join(dir, 'runs')), 'bad input makes no run directory');
});

test('a patch to a file the config does not build is flagged', async (t) => {
  const dir = tempDir(t);
  const r = await leaklab([
    'validate-patch',
    '-s',
    'v6.1-fix-reverted',
    '-p',
    'test/fixtures/patches/unbuilt-file.patch',
    '--no-suite',
    '-n',
    '1',
    SEED,
    '--runs-dir',
    join(dir, 'runs'),
  ]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stdout, /warning: the patch changes drivers\/net\/macvlan\.c, which this config does not build: it cannot change this kernel/);
});

// A kernel tree as the source (the history of test/helpers/kernel-history.ts).
test('a git range in a kernel tree: base A, patched B; the tree is only read', async (t) => {
  const tree = kernelHistory();
  const head = execFileSync('git', ['-C', tree, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  const dir = tempDir(t);
  const json = join(dir, 'v.json');
  const range = `c${Number(LEAK_OUT.slice(1)) - 1}..${LEAK_OUT}`;
  const r = await leaklab(['validate-patch', '-s', tree, '-p', range, '--no-suite', '-n', '1', SEED, '--json', json, '--runs-dir', join(dir, 'runs')]);
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr.split('\n').slice(-15).join('\n'));
  t.regex(
    r.stdout,
    /base: LEAK \+(0\.9\d|1\.0\d) obj\/packet \[0\.\d+, 1\.\d+\] \(1\/1 runs\)\s+patched: no leak < 0\.00\d+ obj\/packet \(1\/1 runs\)\s+=> FIX HOLDS/,
  );
  const report = JSON.parse(readFileSync(json, 'utf8')).validation;
  t.regex(report.patches[0].path, new RegExp(`^${range} \\(1 commit\\) in `));
  t.deepEqual(report.patches[0].files, ['net/ipv6/fib6_rules.c']);
  t.regex(report.kernels.base.provenance.source, /^tree .* at [0-9a-f]+ docs: ordinary change 19$/);
  t.is(execFileSync('git', ['-C', tree, 'rev-parse', 'HEAD'], { encoding: 'utf8' }), head);
});

test("a patch file on a tree's HEAD, and tree input errors", async (t) => {
  const tree = kernelHistory();
  const dir = tempDir(t);
  // HEAD of the history is fixed: the base cannot reproduce.
  const r = await leaklab([
    'validate-patch',
    '-s',
    tree,
    '-p',
    'test/fixtures/patches/comment-only.patch',
    '--no-suite',
    '-n',
    '1',
    SEED,
    '--runs-dir',
    join(dir, 'runs'),
  ]);
  t.is(r.code, 3, r.stderr.split('\n').slice(-15).join('\n'));
  t.regex(r.stdout, /=> BASE DOES NOT REPRODUCE/);
  const cases: [string[], RegExp][] = [
    [['-s', tree, '-p', 'c20..c19'], /c20 is not an ancestor of c19/],
    [['-s', tree, '-p', 'c0..nope'], /"nope" is not a commit in/],
    [['-s', tree, '-p', 'c0..c1', '-p', 'lab/patches/fib6-suppress-fix.patch'], /either patch files or one git range/],
    [['-s', 'v6.1', '-p', 'c0..c1'], /is a git range, which needs --source to be a kernel git tree/],
    [['-s', dir, '-p', 'c0..c1'], /is not a git repository/],
  ];
  for (const [args, message] of cases) {
    const bad = await leaklab(['validate-patch', ...args, '--no-suite', SEED, '--runs-dir', join(dir, 'bad-runs')]);
    t.is(bad.code, 2, `${args.join(' ')}\n${bad.stderr}`);
    t.regex(bad.stderr, message, args.join(' '));
    t.regex(bad.stderr, /next step: /);
  }
  t.false(existsSync(join(dir, 'bad-runs')));
});

/** `file` in every object directory of the cache's unpacked sources. */
function globObjects(sources: string, file: string): string[] {
  return readdirSync(sources).flatMap((tree) =>
    readdirSync(join(sources, tree))
      .filter((d) => d.startsWith('.leaklab-objdir-'))
      .map((d) => join(sources, tree, d, file))
      .filter((f) => existsSync(f)),
  );
}
