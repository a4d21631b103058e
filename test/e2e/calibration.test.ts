// End to end, known answers: kernels built from linux-source-6.1 whose
// fib6_rule_suppress keeps exactly 1 route reference in N (lab/patches/
// calibrate-keep-1-in-N.patch) must be measured at 1/N, within 20 %, with
// an interval that holds 1/N; the fixed kernel, run again and again, must
// never be called LEAK.
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leaklab, qemuProcesses, tempDir } from '../helpers/cli.ts';

const RATES = [2, 16, 100, 1000];

test('calibration kernels leak at their known rates; the fixed kernel is never LEAK', async (t) => {
  const dir = tempDir(t);
  // The seed trigger, with enough packets that 1 in 1000 leaves ~20 objects,
  // and no expectations (the answer is checked here, against 1/N).
  const seed = readFileSync('scenarios/fib6-suppress-leak.yaml', 'utf8')
    .replace(/^name: .*$/m, 'name: calibration')
    .replace(/^kernels: .*$/m, `kernels: [${RATES.map((n) => `v6.1-keep-1-in-${n}`).join(', ')}, v6.1]`)
    .replace(/^  packets: 2000$/m, '  packets: 20000')
    .replace(/^expect:[\s\S]*$/m, '');
  writeFileSync(join(dir, 'calibration.yaml'), seed);
  const report = join(dir, 'report.json');
  const r = await leaklab(['run', join(dir, 'calibration.yaml'), '--json', report, '--runs-dir', join(dir, 'runs')]);
  t.log(r.stdout);
  const results = JSON.parse(readFileSync(report, 'utf8')).results as any[];
  for (const n of RATES) {
    const v = results.find((x) => x.kernel === `v6.1-keep-1-in-${n}`)?.verdict;
    t.is(v?.verdict, 'leak', `1 in ${n}`);
    const e = v.deciding.estimate;
    t.true(Math.abs(e.rate - 1 / n) <= 0.2 / n, `1 in ${n}: estimate ${e.rate}`);
    t.true(e.low <= 1 / n && 1 / n <= e.high, `1 in ${n}: interval [${e.low}, ${e.high}]`);
  }
  t.is(results.find((x) => x.kernel === 'v6.1')?.verdict.verdict, 'no-leak');

  // Repeats of the fixed kernel: count false LEAKs (there must be none).
  const repeats = await leaklab(['run', join(dir, 'calibration.yaml'), '-k', 'v6.1', '--json', join(dir, 'fixed.json'), '--runs-dir', join(dir, 'runs')]);
  const again = await leaklab(['run', join(dir, 'calibration.yaml'), '-k', 'v6.1', '--json', join(dir, 'fixed2.json'), '--runs-dir', join(dir, 'runs')]);
  const fixed = [...JSON.parse(readFileSync(join(dir, 'fixed.json'), 'utf8')).results, ...JSON.parse(readFileSync(join(dir, 'fixed2.json'), 'utf8')).results];
  t.log(repeats.stdout, again.stdout);
  t.is(fixed.filter((x: any) => x.verdict?.verdict === 'leak').length, 0, 'false LEAKs on the fixed kernel');
  t.true(fixed.every((x: any) => x.verdict.deciding.estimate.high < 0.001), 'no leak < 0.001 obj/packet after 20000 packets');
  t.deepEqual(qemuProcesses(dir), [], 'no guest left running');
});
