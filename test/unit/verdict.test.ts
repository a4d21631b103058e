import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { judge, meetsExpectation, isDecided, packetsToDecide } from '../../src/verdict/verdict.ts';
import { fitRates, poissonUpper } from '../../src/verdict/estimate.ts';
import { measure } from '../../src/measure/protocol.ts';
import { toScenario } from '../../src/scenario/scenario.ts';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import { recordedMeasurement, recordedPhases, ReplayGuest } from '../helpers/fixtures.ts';
import { resultLine } from '../../src/report/text.ts';
import { testContext } from '../helpers/context.ts';

const ctx = testContext();

const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
const workaround = await loadScenarioFile('scenarios/fib6-suppress-workaround.yaml');

test('fix reverted (recorded): LEAK at one object per packet, interval around 1', (t) => {
  const v = judge(seed, recordedMeasurement('seed-v6.1-fix-reverted', seed));
  t.is(v.verdict, 'leak');
  const e = v.deciding.estimate;
  t.true(e.low <= 1 && e.high >= 1 && e.low > 0.9 && e.high < 1.1, `${e.low}..${e.high}`);
  t.true(meetsExpectation(v, seed.expect['v6.1-fix-reverted']).ok);
  t.false(meetsExpectation(v, seed.expect['*']).ok);
});

test('calibration kernels (recorded, 1 in N kept): the estimate is within 20 % of 1/N and its interval holds 1/N', (t) => {
  for (const n of [16, 100]) {
    const v = judge(seed, recordedMeasurement(`seed-v6.1-keep-1-in-${n}`, seed));
    const e = v.deciding.estimate;
    t.is(v.verdict, 'leak', `1 in ${n}`);
    t.true(Math.abs(e.rate - 1 / n) <= 0.2 / n, `1 in ${n}: ${e.rate}`);
    t.true(e.low <= 1 / n && 1 / n <= e.high, `1 in ${n}: [${e.low}, ${e.high}]`);
  }
});

test('a leak too small for the packets sent is "no leak" with a limit that holds the true rate (1 in 1000, 2048 packets)', (t) => {
  const v = judge(seed, recordedMeasurement('seed-v6.1-keep-1-in-1000', seed));
  t.is(v.verdict, 'no-leak');
  t.true(v.deciding.estimate.high >= 1 / 1000, `${v.deciding.estimate.high}`);
  const samples = recordedMeasurement('seed-v6.1-keep-1-in-1000', seed);
  t.regex(
    resultLine({
      scenario: 'x',
      scenarioFile: '/x',
      kernel: 'k',
      backend: 'qemu',
      runDir: '/r',
      troubles: [],
      verdict: v,
      samples,
      seconds: { prepare: 0, boot: 0, measure: 0, total: 0 },
    }),
    /no leak .* < 0\.00\d+ obj\/packet at 95 %/,
  );
});

test('fixed kernels (recorded): no leak, with a detection limit', (t) => {
  for (const run of ['seed-v6.1', 'seed-debian-6.1-cloud']) {
    const v = judge(seed, recordedMeasurement(run, seed));
    t.is(v.verdict, 'no-leak', run);
    t.true(v.deciding.estimate.high > 0 && v.deciding.estimate.high < 0.01, `${run}: ${v.deciding.estimate.high}`);
  }
});

test('a container on the host kernel (recorded, fixed 6.18): host-wide churn is measured as noise and widens the limit, never a LEAK', (t) => {
  const m = recordedMeasurement('seed-docker-6.18', seed);
  const v = judge(seed, m);
  t.is(v.verdict, 'no-leak');
  // Counted in a slab merged with task_delay_info: tens of objects per phase move with the host's own work.
  t.is(v.deciding.mergedInto, ':A-0000256');
  t.true(v.deciding.noise > 10, `noise ${v.deciding.noise}`);
  const e = v.deciding.estimate;
  t.true(e.high > 0.002 && e.high < 0.05, `limit ${e.high}: wider than a quiet guest's ~0.0002 for the same packets`);
  t.true(v.units > 20_000);
});

test('mid-run change (recorded workaround): the first segment leaks, the one after the change is clean', (t) => {
  const v = judge(workaround, recordedMeasurement('workaround-v6.1-fix-reverted', workaround));
  t.is(v.verdict, 'leak');
  t.is(v.segments.length, 2);
  t.is(v.segments[0].verdict, 'leak');
  t.is(v.segments[1].verdict, 'no-leak');
  t.is(v.stopsAfter, 'remove rule');
  t.true(meetsExpectation(v, workaround.expect['v6.1-fix-reverted']).ok, meetsExpectation(v, workaround.expect['v6.1-fix-reverted']).why);
});

test('a tolerance above the rate: no leak when the interval lies below it, inconclusive when it straddles, with packets to decide', (t) => {
  const m = recordedMeasurement('seed-v6.1-keep-1-in-16', seed);
  const tolerant = { ...seed, thresholds: { ...seed.thresholds, tolerance: 0.2 } };
  t.is(judge(tolerant, m).verdict, 'no-leak');
  const straddling = { ...seed, thresholds: { ...seed.thresholds, tolerance: 0.06 } };
  const v = judge(straddling, m);
  t.is(v.verdict, 'inconclusive');
  t.true((v.packetsToDecide ?? 0) > v.units, `${v.packetsToDecide}`);
  t.is(packetsToDecide({ ...v.deciding.estimate, rate: 0.06 }, 0.06), undefined);
});

test('too few packets received is inconclusive', (t) => {
  const strict = toScenario({ name: 'x', kernels: ['k'], traffic: { packets: 10 }, watch: ['ip6_dst_cache'], thresholds: { minPackets: 100000 } }, '/x.yaml');
  t.is(judge(strict, recordedMeasurement('seed-v6.1-fix-reverted', strict)).verdict, 'inconclusive');
});

test('one jump in one phase is not a leak: it widens the interval it would have to pass', (t) => {
  // The fixed kernel's recorded run, with 12 objects appearing in the third burst and staying.
  const m = recordedMeasurement('seed-v6.1', seed);
  let seen = 0;
  for (const p of m.phases) {
    if (p.kind === 'traffic' && ++seen === 3) p.sample.caches.ip6_dst_cache.objects += 12;
    else if (seen >= 3) p.sample.caches.ip6_dst_cache.objects += 12;
  }
  t.not(judge(seed, m).verdict, 'leak');
});

test('statistics: the estimate, the noise floor and the Poisson limit', (t) => {
  const incs = [
    { objects: 0, packets: 1, segment: 0, traffic: false },
    { objects: 100, packets: 100, segment: 0, traffic: true },
    { objects: 1, packets: 0, segment: 0, traffic: false },
    { objects: 99, packets: 100, segment: 0, traffic: true },
    { objects: 0, packets: 0, segment: 0, traffic: false },
  ];
  const fit = fitRates(incs, 1, 0.95);
  t.true(Math.abs(fit.segments[0].rate - 0.99) < 0.02, `${fit.segments[0].rate}`);
  t.true(fit.noise >= 0.5);
  t.true(Math.abs(poissonUpper(0, 0.95) - 3.689) < 0.01, 'k=0 at 97.5 %: -ln(0.025)');
});

test('until decided: a leaking kernel is decided as soon as two bursts show it', async (t) => {
  const s = toScenario({ name: 'x', kernels: ['k'], traffic: { maxPackets: 100000 }, watch: ['ip6_dst_cache'] }, '/x.yaml');
  const m = recordedMeasurement('seed-v6.1-fix-reverted', seed);
  // After the setup, baseline, idle and two traffic phases with their idle ones.
  const early = { ...m, phases: m.phases.slice(0, 7), looks: 10 };
  t.true(isDecided(s, early));
  t.false(isDecided(s, { ...recordedMeasurement('seed-v6.1', seed), looks: 10 }), 'a clean kernel goes on to the budget');
});

test('the protocol replayed on recorded phases gives the recorded verdict, and sends what the plan says', async (t) => {
  const dumps = recordedPhases('seed-v6.1-keep-1-in-16').map((p) => p.text);
  const guest = new ReplayGuest(dumps);
  const runDir = mkdtempSync(join(tmpdir(), 'leaklab-replay-'));
  const m = await measure(ctx, seed, guest, { scope: 'replay', runDir, packets: seed.traffic.packets, untilDecided: false });
  t.deepEqual(
    m.phases.map((p) => p.kind),
    ['setup', 'baseline', 'idle', 'traffic', 'idle', 'traffic', 'idle', 'traffic', 'idle', 'traffic', 'idle'],
  );
  t.deepEqual(
    m.phases.filter((p) => p.kind === 'traffic').map((p) => p.sent),
    [500, 500, 500, 500],
  );
  // One guest command for the setup, baseline and idle phases, then one per burst and its idle phase.
  t.is(guest.scripts.length, 5);
  t.deepEqual(
    guest.scripts.map((sc) => sc.match(/^leaklab_flush$/gm)?.length),
    [3, 2, 2, 2, 2],
    'every phase flushes before its sample',
  );
  t.regex(guest.scripts[1], /ping -6 -f -q -c 500 /, 'small bursts without preload: iputils overshoots -c with it');
  t.is(judge(seed, m).verdict, 'leak');
});
