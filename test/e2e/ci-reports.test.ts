// End to end: what CI uses. A suite split into shards by `leaklab matrix`,
// each shard run for real, merged back by `leaklab report merge`; JUnit XML
// checked with xmllint; the HTML report opened in headless Chromium and its
// charts checked to hold every sample.
import test from 'ava';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { leaklab, tempDir, ROOT } from '../helpers/cli.ts';

const SCENARIOS = ['scenarios/fib6-suppress-leak.yaml', 'scenarios/control-no-rule.yaml'];
const KERNELS = ['-k', 'v6.1,v6.1-fix-reverted'];

function xmllint(file: string): void {
  execFileSync('xmllint', ['--noout', file]);
}

test('matrix -> one shard per kernel -> run each -> merge: the whole suite in plan order, JUnit and HTML from it', async (t) => {
  const dir = tempDir(t);
  const m1 = await leaklab(['matrix', ...SCENARIOS, ...KERNELS]);
  t.is(m1.code, 0, m1.stderr);
  const matrix = JSON.parse(m1.stdout);
  t.deepEqual(
    matrix.include.map((e: { kernels: string; cells: number }) => [e.kernels, e.cells]),
    [
      ['v6.1', 2],
      ['v6.1-fix-reverted', 2],
    ],
  );
  t.is((await leaklab(['matrix', ...SCENARIOS, ...KERNELS])).stdout, m1.stdout, 'the same shards every time');

  const shards: string[] = [];
  for (const { shard } of matrix.include) {
    const json = join(dir, `shard-${shard.replace('/', '-')}.json`);
    const r = await leaklab(['run', ...SCENARIOS, ...KERNELS, '--shard', shard, '--json', json, '--runs-dir', join(dir, 'runs')]);
    t.is(r.code, 0, r.stderr.split('\n').slice(-10).join('\n'));
    shards.push(json);
  }
  const partial = await leaklab(['report', 'merge', shards[0], '--json', join(dir, 'partial.json')]);
  t.is(partial.code, 2, 'a missing shard fails the merge');
  t.regex(partial.stderr, /2 of the suite's 4 results are missing \(shard 2\/2 not given\)/);
  const merged = join(dir, 'merged.json');
  const junit = join(dir, 'junit.xml');
  const report = join(dir, 'report');
  const summary = join(dir, 'step-summary.md');
  const m = await leaklab(['report', 'merge', ...shards.reverse(), '--json', merged, '--junit', junit, '--report', report], {
    env: { GITHUB_STEP_SUMMARY: summary },
  });
  t.is(m.code, 0, m.stderr);
  const results = JSON.parse(readFileSync(merged, 'utf8')).results;
  t.deepEqual(
    results.map((r: { scenario: string; kernel: string }) => `${r.scenario}@${r.kernel}`),
    ['fib6-suppress-leak@v6.1', 'fib6-suppress-leak@v6.1-fix-reverted', 'control-no-rule@v6.1', 'control-no-rule@v6.1-fix-reverted'],
  );
  t.regex(m.stdout, /4 as expected, 0 unexpected/);

  xmllint(junit);
  const xml = readFileSync(junit, 'utf8');
  t.is((xml.match(/<testcase /g) ?? []).length, 4);
  t.regex(xml, /<testsuites name="leaklab" tests="4" failures="0" errors="0"/);

  t.regex(
    readFileSync(join(report, 'report.md'), 'utf8'),
    /\| fib6-suppress-leak \| v6\.1-fix-reverted \| LEAK \+(0\.9\d|1\.0\d) obj\/packet \[0\.\d+, 1\.\d+\] \(20\d\d packets, 20\d\d kept, noise ±[\d.]+\) \| 20\d\d \| 20\d\d \| as expected \|/,
  );
  t.is(readFileSync(summary, 'utf8'), readFileSync(join(report, 'report.md'), 'utf8'), 'appended to $GITHUB_STEP_SUMMARY');
  // The browser's own parse of the page: one chart per scenario, a line per kernel, every sample drawn.
  const dom = execFileSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${join(report, 'report.html')}`], {
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.is((dom.match(/<svg [^>]*class="scenario-chart"/g) ?? []).length, 2);
  t.is((dom.match(/<polyline class="kernel-line"/g) ?? []).length, 4);
  t.is((dom.match(/<circle class="sample (burst|rest)"/g) ?? []).length, 4 * 10, 'baseline, idle, then 4 bursts with an idle phase each, per line');
  t.is((dom.match(/<polygon class="band"/g) ?? []).length, 1, "the leak's interval");
  // The seed's chart: the leaking kernel's line climbs into the top eighth (its band drawn whole above it), the clean kernel's stays in the lowest eighth (y grows downwards, 28..256).
  const line = (k: string) =>
    new RegExp(`<figure id="chart-fib6-suppress-leak"[^]*?<polyline class="kernel-line" data-kernel="${k}"[^>]* points="([^"]+)"`)
      .exec(dom)![1]
      .split(' ')
      .map((p) => Number(p.split(',')[1]));
  t.true(line('v6\\.1-fix-reverted').at(-1)! < 28 + 228 / 8, `${line('v6\\.1-fix-reverted')}`);
  t.true(
    line('v6\\.1').every((y) => y >= 256 - 228 / 8),
    `${line('v6\\.1')}`,
  );
  // Each matrix cell leads to its scenario's chart and to its result's row.
  t.regex(
    dom,
    /<td class="leak"><a href="#chart-fib6-suppress-leak">LEAK \+1\.0\d<\/a> <a class="details" href="#result-fib6-suppress-leak--v6\.1-fix-reverted">result<\/a><\/td>/,
  );
  t.regex(dom, /<tr id="result-fib6-suppress-leak--v6\.1-fix-reverted"/);
  t.regex(dom, /bzImageSha256: [0-9a-f]{64}; configSha256: [0-9a-f]{64}.*qemu: QEMU emulator version/);
});

test('JUnit: a verdict against the expectation is a failure with the numbers and the console tail', async (t) => {
  const dir = tempDir(t);
  // The real seed, with an expectation that v6.1 (fixed) leaks: the verdict contradicts it.
  const file = join(dir, 'wrong-expectation.yaml');
  writeFileSync(
    file,
    readFileSync(join(ROOT, 'scenarios/fib6-suppress-leak.yaml'), 'utf8')
      .replace(/^name: .*$/m, 'name: wrong-expectation')
      .replace(/^expect:[^]*$/m, 'expect:\n  "*": leak\n'),
  );
  const junit = join(dir, 'out', 'junit.xml');
  const r = await leaklab(['run', file, '-k', 'v6.1', '--junit', junit, '--runs-dir', join(dir, 'runs')]);
  t.is(r.code, 1, r.stderr);
  xmllint(junit);
  const xml = readFileSync(junit, 'utf8');
  t.regex(xml, /<testsuites name="leaklab" tests="1" failures="1" errors="0"/);
  t.regex(
    xml,
    /<failure type="unexpected-verdict" message="expected leak, got no-leak">v6\.1 +no leak +ip6_dst_cache +&lt; 0\.0\d+ obj\/packet at 95 % +\(200\d packets, -?\d+ kept, noise ±[\d.]+/,
  );
  t.regex(xml, /serial console \(last 30 lines\):\n[^]*leaklab-init: starting guest agent/);
  // The command that runs the case again, in the JUnit failure and under the summary.
  t.true(xml.includes(`to run again: leaklab run ${file} -k v6.1`), xml);
  t.true(r.stdout.includes(`to run again: leaklab run ${file} -k v6.1\n`), r.stdout);
});

test('CI bad input: shard out of range, unknown kernel in a matrix, reports of different suites, unwritable report dir', async (t) => {
  const dir = tempDir(t);
  const runs = join(dir, 'runs');
  const one = join(dir, 'one.json');
  const other = join(dir, 'other.json');
  t.is((await leaklab(['run', SCENARIOS[1], '-k', 'v6.1', '--json', one, '--runs-dir', runs])).code, 0);
  t.is((await leaklab(['run', SCENARIOS[1], '-k', 'v6.1-fix-reverted', '--json', other, '--runs-dir', runs])).code, 0);
  const cases: [string[], RegExp][] = [
    [['run', SCENARIOS[0], '--shard', '3/2'], /--shard 3\/2: give i\/n with 1 <= i <= n/],
    [['run', SCENARIOS[0], '--shard', 'half'], /--shard half: give i\/n/],
    [['matrix', SCENARIOS[0], '-k', 'v6.1,v9.9'], /unknown kernel "v9\.9"/],
    [['report', 'merge', one, other], /is from another suite/],
    [['report', 'merge', one, one], /are the same shard/],
    [['report', 'merge', join(dir, 'nope.json')], /report not found/],
    // root ignores directory permissions: a path under a regular file cannot be made by anyone.
    [['run', SCENARIOS[0], '--report', join(one, 'sub')], /cannot write .*\/one\.json\/sub: a part of the path is not a directory \(ENOTDIR\)/],
  ];
  for (const [args, message] of cases) {
    const r = await leaklab([...args, ...(args[0] === 'run' ? ['--runs-dir', join(dir, 'bad-runs')] : [])]);
    t.is(r.code, 2, `${args.join(' ')}\n${r.stderr}`);
    t.regex(r.stderr, message, args.join(' '));
    t.regex(r.stderr, /next step: /, args.join(' '));
  }
  t.false(existsSync(join(dir, 'bad-runs')), 'bad input makes no run directory');
});
