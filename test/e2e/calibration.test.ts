// End to end, known answers: kernels built from linux-source-6.1 whose
// fib6_rule_suppress keeps exactly 1 route reference in N (lab/patches/
// calibrate-keep-1-in-N.patch) must be measured at 1/N, within 20 %, with
// an interval that holds 1/N; the fixed kernel, run again and again, must
// never be called LEAK. With the socket generator (flood ping) down to 1 in
// 1000, with trafgen down to 1 in 10000.
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
    .replace(/^ {2}packets: 2000$/m, '  packets: 20000')
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
  t.true(
    fixed.every((x: any) => x.verdict.deciding.estimate.high < 0.001),
    'no leak < 0.001 obj/packet after 20000 packets',
  );
  t.deepEqual(qemuProcesses(dir), [], 'no guest left running');
});

test('with trafgen: 1 in 10000 measured within 20 %, traffic until decided finds it, the fixed kernel reaches < 0.0001', async (t) => {
  const dir = tempDir(t);
  const kernels = ['v6.1-keep-1-in-1000', 'v6.1-keep-1-in-10000', 'v6.1'];
  const scenario = (name: string, traffic: string) =>
    readFileSync('scenarios/fib6-suppress-leak.yaml', 'utf8')
      .replace(/^name: .*$/m, `name: ${name}`)
      .replace(/^kernels: .*$/m, `kernels: [${kernels.join(', ')}]`)
      .replace(/^ {2}packets: 2000\n {2}bursts: 4$/m, traffic)
      .replace(/^expect:[\s\S]*$/m, '');
  // A fixed 200,000 packets: 1 in 10000 keeps 20 objects.
  writeFileSync(join(dir, 'fixed.yaml'), scenario('calibration-trafgen', '  packets: 200000\n  generator: trafgen'));
  writeFileSync(join(dir, 'decided.yaml'), scenario('calibration-until-decided', '  maxPackets: 1000000\n  generator: trafgen'));
  const run = async (file: string) => {
    const json = join(dir, `${file}.json`);
    const r = await leaklab(['run', join(dir, file), '--json', json, '--runs-dir', join(dir, 'runs')]);
    t.log(r.stdout);
    return JSON.parse(readFileSync(json, 'utf8')).results as any[];
  };
  const verdictOf = (results: any[], kernel: string) => results.find((x) => x.kernel === kernel)?.verdict;
  const fixed = await run('fixed.yaml');
  for (const n of [1000, 10000]) {
    const v = verdictOf(fixed, `v6.1-keep-1-in-${n}`);
    t.is(v?.verdict, 'leak', `1 in ${n}`);
    const e = v.deciding.estimate;
    t.true(Math.abs(e.rate - 1 / n) <= 0.2 / n, `1 in ${n}: estimate ${e.rate}`);
    t.true(e.low <= 1 / n && 1 / n <= e.high, `1 in ${n}: interval [${e.low}, ${e.high}]`);
  }
  t.is(verdictOf(fixed, 'v6.1')?.verdict, 'no-leak');
  const decided = await run('decided.yaml');
  for (const n of [1000, 10000]) {
    const r = decided.find((x) => x.kernel === `v6.1-keep-1-in-${n}`);
    t.is(r?.verdict.verdict, 'leak', `until decided, 1 in ${n}`);
    t.is(r.samples.stop, 'decided');
    t.true(r.verdict.deciding.estimate.packets <= 100 * n, `1 in ${n} decided after ${r.verdict.deciding.estimate.packets} packets`);
  }
  const clean = verdictOf(decided, 'v6.1');
  t.is(clean?.verdict, 'no-leak');
  t.true(clean.deciding.estimate.high < 0.0001, `detection limit ${clean.deciding.estimate.high} after the 1,000,000 budget`);
  t.deepEqual(qemuProcesses(dir), [], 'no guest left running');
});
