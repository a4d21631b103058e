import test from 'ava';
import { reproduceCommand, rerunLines } from '../../src/report/text.ts';
import { fmtRate } from '../../src/verdict/figures.ts';
import { shWord, shQuote } from '../../src/util/shell.ts';
import { execFileSync } from 'node:child_process';
import { cellName, type RunResult, type CellInfo } from '../../src/run/result.ts';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/scenario.ts';
import { judge } from '../../src/verdict/verdict.ts';
import { recordedMeasurement } from '../helpers/fixtures.ts';
import { resultMatrix, matrixCell, runMarkdown, runHtml, matrixText } from '../../src/report/run-report.ts';

test('rates print two significant digits (at least two decimals), never -0.00', (t) => {
  t.is(fmtRate(1), '1.00');
  t.is(fmtRate(-0.5), '-0.50');
  t.is(fmtRate(0.0625), '0.063');
  t.is(fmtRate(0.00018), '0.00018');
  t.is(fmtRate(0), '0.00');
  t.is(fmtRate(-0.001, 1), '0.00', 'shown beside a rate of 1: rounds to zero');
});

// reproduceCommand reads only what every result has (CellInfo).
const cell = (over: Partial<CellInfo>): RunResult => ({
  scenario: 'fib6-suppress-leak',
  scenarioFile: '/work/lab/scenarios/fib6-suppress-leak.yaml',
  kernel: 'v6.1',
  backend: 'qemu',
  runDir: '/tmp/x',
  troubles: [],
  seconds: { prepare: 0, boot: 0, measure: 0, total: 0 },
  ...over,
  error: { kind: 'guest', message: 'not run' },
});

test('the command to run a cell again: path relative to where leaklab runs when under it, quoted only when it must be', (t) => {
  t.is(reproduceCommand(cell({}), '/work/lab'), 'leaklab run scenarios/fib6-suppress-leak.yaml -k v6.1');
  t.is(reproduceCommand(cell({}), '/elsewhere'), 'leaklab run /work/lab/scenarios/fib6-suppress-leak.yaml -k v6.1');
  t.is(reproduceCommand(cell({ scenarioFile: "/work/lab/it's here.yaml" }), '/work/lab'), "leaklab run 'it'\\''s here.yaml' -k v6.1");
  t.is(reproduceCommand(cell({ backend: 'docker', kernel: '6.18.44' }), '/work/lab'), 'leaklab run scenarios/fib6-suppress-leak.yaml --backend docker');
});

test('a result is named by its backend: a container by the host release it ran on; a backend this version lacks by its kernel alone', (t) => {
  t.is(cellName(cell({})), 'v6.1');
  t.is(cellName(cell({ backend: 'docker', kernel: '6.18.44' })), '6.18.44 (docker)');
  // A merged report may come from another leaklab version: no crash, no guess.
  t.is(cellName(cell({ backend: 'firecracker', kernel: 'v6.1' })), 'v6.1');
  t.is(reproduceCommand(cell({ backend: 'firecracker', kernel: 'v6.1' }), '/work/lab'), 'leaklab run scenarios/fib6-suppress-leak.yaml -k v6.1');
});

test('"to run again" lines only for results that did not go as expected', async (t) => {
  const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
  const samples = recordedMeasurement('seed-v6.1', seed);
  const judgedCell = (kernel: string, asExpected: boolean): RunResult => ({
    ...cell({ kernel }),
    error: undefined,
    verdict: judge(seed, samples),
    samples,
    asExpected,
  });
  const ok = judgedCell('v6.1', true);
  const wrong = judgedCell('v6.1-fix-reverted', false);
  const failed = cell({ kernel: 'debian-6.1-cloud' });
  t.deepEqual(rerunLines([ok], '/work/lab'), []);
  t.deepEqual(rerunLines([ok, wrong, failed], '/work/lab'), [
    'to run again: leaklab run scenarios/fib6-suppress-leak.yaml -k v6.1-fix-reverted',
    'to run again: leaklab run scenarios/fib6-suppress-leak.yaml -k debian-6.1-cloud',
  ]);
});

test('every argument a report shows to paste survives the shell as it was', (t) => {
  const words = ["it's here.yaml", 'a"b', '$(touch /tmp/x)', 'plain-word', 'x y', "'"];
  const pasted = execFileSync('sh', ['-c', `printf '%s\\n' ${words.map(shWord).join(' ')}`], { encoding: 'utf8' });
  t.deepEqual(pasted.split('\n').slice(0, -1), words);
  t.is(shWord('scenarios/fib6-suppress-leak.yaml'), 'scenarios/fib6-suppress-leak.yaml');
  t.is(shQuote("it's"), "'it'\\''s'");
});

/** A recorded run of `s` on `kernel`, judged, with whether that was as expected. */
function result(s: Scenario, kernel: string, run: string, asExpected: boolean): RunResult {
  const samples = recordedMeasurement(run, s);
  return { ...cell({ scenario: s.name, kernel }), error: undefined, verdict: judge(s, samples), samples, asExpected };
}

test('the kernel x scenario table: kernels as rows, scenarios as columns, each cell the verdict and its figure (recorded runs)', async (t) => {
  const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
  const noRule = { ...seed, name: 'control-no-rule' };
  const results = [
    result(seed, 'v6.1-fix-reverted', 'seed-v6.1-fix-reverted', true),
    result(noRule, 'v6.1-fix-reverted', 'seed-v6.1', true),
    result(seed, '6.1.0-47-cloud-amd64', 'seed-v6.1', true),
    { ...cell({ scenario: 'control-no-rule', kernel: '6.1.0-47-cloud-amd64' }) },
    result(seed, '6.1.0-57-cloud-amd64', 'seed-v6.1', false),
  ];
  const m = resultMatrix(results);
  t.deepEqual(m.kernels, ['v6.1-fix-reverted', '6.1.0-47-cloud-amd64', '6.1.0-57-cloud-amd64']);
  t.deepEqual(m.scenarios, ['fib6-suppress-leak', 'control-no-rule']);
  t.is(matrixCell(m.cell('v6.1-fix-reverted', 'fib6-suppress-leak')!), 'LEAK +1.00');
  t.regex(matrixCell(m.cell('v6.1-fix-reverted', 'control-no-rule')!), /^no leak < 0\.00\d+$/);
  t.is(matrixCell(m.cell('6.1.0-47-cloud-amd64', 'control-no-rule')!), 'ERROR');
  t.regex(matrixCell(m.cell('6.1.0-57-cloud-amd64', 'fib6-suppress-leak')!), /^no leak < 0\.00\d+ \(UNEXPECTED\)$/);
  t.is(m.cell('6.1.0-57-cloud-amd64', 'control-no-rule'), undefined);
  const md = runMarkdown(results);
  t.regex(
    md,
    /\| kernel \\ scenario \(obj\/packet\) \| fib6-suppress-leak \| control-no-rule \|\n\| --- \| --- \| --- \|\n\| v6\.1-fix-reverted \| LEAK \+1\.00 \| no leak < 0\.00\d+ \|\n/,
  );
  t.regex(md, /\| 6\.1\.0-57-cloud-amd64 \| no leak < 0\.00\d+ \(UNEXPECTED\) \| {2}\|\n/);
  const html = runHtml(results);
  t.regex(
    html,
    /<table id="matrix">.*<th>fib6-suppress-leak<\/th><th>control-no-rule<\/th>.*<tr><th>v6\.1-fix-reverted<\/th><td class="leak"><a href="#chart-fib6-suppress-leak">LEAK \+1\.00<\/a> <a class="details" href="#result-fib6-suppress-leak--v6\.1-fix-reverted">result<\/a><\/td>/s,
  );
  // Every link within the report leads somewhere: each cell to its chart and its result's row.
  const targets = [...html.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]);
  t.true(targets.length >= 8, `${targets.length} links`);
  for (const id of new Set(targets)) t.regex(html, new RegExp(`id="${id.replace(/\./g, '\\.')}"`), `#${id} has a target`);
});

test('the terminal matrix: scenarios as rows, kernels as columns, words always, colour only when asked (recorded runs)', async (t) => {
  const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
  const noRule = { ...seed, name: 'control-no-rule' };
  const results = [
    result(seed, 'v6.1-fix-reverted', 'seed-v6.1-fix-reverted', true),
    result(seed, 'v6.1', 'seed-v6.1', true),
    result(noRule, 'v6.1-fix-reverted', 'seed-v6.1', true),
    result(noRule, 'v6.1', 'seed-v6.1-fix-reverted', false),
  ];
  const plain = matrixText(results, false);
  t.is(plain.length, 3);
  t.regex(plain[0], /^scenario \\ kernel \(obj\/packet\) +v6\.1-fix-reverted +v6\.1$/);
  t.regex(plain[1], /^fib6-suppress-leak +LEAK \+1\.00 +no leak < 0\.00\d+$/);
  t.regex(plain[2], /^control-no-rule +no leak < 0\.00\d+ +LEAK \+1\.00 \(UNEXPECTED\)$/);
  t.notRegex(plain.join('\n'), /\x1b/);
  // Columns line up: every row's second cell starts where the header's second column does.
  const col = plain[0].indexOf('v6.1-fix-reverted');
  for (const row of plain.slice(1)) t.regex(row.slice(col), /^(LEAK|no leak)/);
  const coloured = matrixText(results, true);
  t.regex(coloured[1], /\x1b\[31mLEAK \+1\.00 *\x1b\[0m/);
  t.regex(coloured[2], /\x1b\[7;31mLEAK \+1\.00 \(UNEXPECTED\)\x1b\[0m/);
  // One scenario, or one kernel: the result lines are the list already.
  t.deepEqual(matrixText(results.slice(0, 2), false), []);
  t.deepEqual(matrixText([results[0], results[2]], false), []);
});
