// The verdict rules (src/verdict/verdict.ts) on runs recorded from real
// guests: which cache decides, the reasons a verdict gives, when a leak
// "stops after" a change, the per-test level the confidence is shared at,
// and whether a verdict meets an expectation. The counts are the kernels'
// own (test/fixtures/measure/); where two caches are needed, the second is
// another recorded run's cache, phase by phase.
import test from 'ava';
import { judge, meetsExpectation, isDecided, packetsToDecide, rateVerdict, testLevel } from '../../src/verdict/verdict.ts';
import type { RateEstimate } from '../../src/verdict/estimate.ts';
import type { Measurement } from '../../src/measure/protocol.ts';
import type { Scenario } from '../../src/scenario/scenario.ts';
import { toScenario } from '../../src/scenario/scenario.ts';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import { recordedMeasurement } from '../helpers/fixtures.ts';

const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
const workaround = await loadScenarioFile('scenarios/fib6-suppress-workaround.yaml');
const withTolerance = (s: Scenario, tolerance: number): Scenario => ({ ...s, thresholds: { ...s.thresholds, tolerance } });

/** One recorded run's measurement that also watches `other`: the ip6_dst_cache counts of another recorded run, phase by phase. */
function twoCaches(run: string, otherRun: string): { s: Scenario; m: Measurement } {
  const s: Scenario = { ...seed, watch: ['ip6_dst_cache', 'other'] };
  const m = recordedMeasurement(run, seed);
  const o = recordedMeasurement(otherRun, seed);
  m.phases.forEach((p, i) => (p.sample.caches.other = o.phases[i].sample.caches.ip6_dst_cache));
  return { s, m };
}

test('the counts a verdict reports are the recorded ones: before, after, kept, packets', (t) => {
  const v = judge(seed, recordedMeasurement('seed-v6.1-fix-reverted', seed));
  t.is(v.units, 2049);
  t.is(v.deciding.objectsBefore, 71);
  t.is(v.deciding.objectsAfter, 2119);
  t.is(v.deciding.objectsKept, 2048);
  t.is(v.deciding.cache, 'ip6_dst_cache');
  t.is(v.reason, '2048 objects kept for 2049 packets: the interval lies above the tolerance (0 obj/packet)');
});

test('the confidence is shared by every test of the run: caches x segments (+ the whole) x looks', (t) => {
  const m = recordedMeasurement('seed-v6.1', seed);
  t.is(testLevel(seed, m), 0.95);
  t.is(testLevel(seed, { ...m, looks: 10 }), 1 - 0.05 / 10);
  t.is(testLevel({ ...seed, watch: ['a', 'b'] }, m), 1 - 0.05 / 2);
  // Two segments: each, and the run as a whole.
  t.is(testLevel(workaround, recordedMeasurement('workaround-v6.1-fix-reverted', workaround)), 1 - 0.05 / 3);
  t.is(judge(seed, { ...m, looks: 10 }).level, 1 - 0.05 / 10);
});

test('the deciding cache: a leaking one over a clean one, the faster of two leaks, in either order', (t) => {
  for (const [run, other, leaking] of [
    ['seed-v6.1-fix-reverted', 'seed-v6.1', 'ip6_dst_cache'],
    ['seed-v6.1', 'seed-v6.1-fix-reverted', 'other'],
    ['seed-v6.1-keep-1-in-16', 'seed-v6.1-fix-reverted', 'other'],
    ['seed-v6.1-fix-reverted', 'seed-v6.1-keep-1-in-16', 'ip6_dst_cache'],
  ]) {
    const { s, m } = twoCaches(run, other);
    const v = judge(s, m);
    t.is(v.verdict, 'leak', `${run} + ${other}`);
    t.is(v.deciding.cache, leaking, `${run} + ${other}`);
    t.is(v.caches.length, 2);
  }
});

test('the deciding cache: an undecided one over a clean one; of clean ones, the noisiest (largest upper end)', (t) => {
  for (const [run, other, deciding] of [
    ['seed-v6.1-keep-1-in-16', 'seed-v6.1', 'ip6_dst_cache'],
    ['seed-v6.1', 'seed-v6.1-keep-1-in-16', 'other'],
  ]) {
    const { s, m } = twoCaches(run, other);
    const v = judge(withTolerance(s, 0.06), m);
    t.is(v.verdict, 'inconclusive');
    t.is(v.deciding.cache, deciding);
    t.is(v.reason, '128 objects kept for 2048 packets: the interval straddles the tolerance (0.06 obj/packet)');
  }
  for (const [run, other, deciding] of [
    ['seed-v6.1-keep-1-in-16', 'seed-v6.1', 'ip6_dst_cache'],
    ['seed-v6.1', 'seed-v6.1-keep-1-in-16', 'other'],
  ]) {
    const { s, m } = twoCaches(run, other);
    const v = judge(withTolerance(s, 0.2), m);
    t.is(v.verdict, 'no-leak');
    t.is(v.deciding.cache, deciding, 'the 1-in-16 cache has the larger upper end');
  }
});

test('reasons: no significant growth at tolerance 0, at or below a tolerance above it', (t) => {
  const clean = recordedMeasurement('seed-v6.1', seed);
  t.is(judge(seed, clean).reason, '0 objects kept for 2048 packets: no significant growth');
  const small = recordedMeasurement('seed-v6.1-keep-1-in-16', seed);
  t.is(judge(withTolerance(seed, 0.2), small).reason, '128 objects kept for 2048 packets: the interval lies at or below the tolerance (0.2 obj/packet)');
});

test('growth in one burst only is inconclusive, and says so, however steep', (t) => {
  const m = recordedMeasurement('seed-v6.1-fix-reverted', seed);
  // setup, baseline, idle, the first burst and its idle phase.
  const v = judge(seed, { ...m, phases: m.phases.slice(0, 5) });
  t.is(v.verdict, 'inconclusive');
  t.regex(v.reason, /but in one burst only: growth across bursts cannot be told from a one-off jump/);
});

test('too few packets: inconclusive, the reason names minPackets, and no packet count is offered to decide it', (t) => {
  const strict = toScenario({ name: 'x', kernels: ['k'], traffic: { packets: 10 }, watch: ['ip6_dst_cache'], thresholds: { minPackets: 100000 } }, '/x.yaml');
  const v = judge(strict, recordedMeasurement('seed-v6.1-fix-reverted', strict));
  t.is(v.verdict, 'inconclusive');
  t.is(
    v.reason,
    'only 2049 packets counted by Ip6InReceives (/proc/net/snmp6) (thresholds.minPackets is 100000): check that the traffic reaches its destination',
  );
  t.is(v.packetsToDecide, undefined);
  // Exactly minPackets is enough.
  const exact = toScenario({ name: 'x', kernels: ['k'], traffic: { packets: 10 }, watch: ['ip6_dst_cache'], thresholds: { minPackets: 2049 } }, '/x.yaml');
  t.is(judge(exact, recordedMeasurement('seed-v6.1-fix-reverted', exact)).verdict, 'leak');
});

test('a leak that goes on after a change does not "stop after" it; one that stops does, with the reason saying so', (t) => {
  const goesOn: Scenario = { ...seed, changes: [{ afterBurst: 2, name: 'nothing', run: 'true' }] };
  const v = judge(goesOn, recordedMeasurement('seed-v6.1-fix-reverted', goesOn));
  t.is(v.verdict, 'leak');
  t.deepEqual(
    v.segments.map((x) => [x.after, x.verdict]),
    [
      ['start', 'leak'],
      ['nothing', 'leak'],
    ],
  );
  t.is(v.stopsAfter, undefined);
  t.false(v.reason.includes('stops'));
  const w = judge(workaround, recordedMeasurement('workaround-v6.1-fix-reverted', workaround));
  t.true(w.reason.endsWith('; the leak stops after the change "remove rule"'), w.reason);
  // A clean run has no segment that leaks, so nothing stops.
  t.is(judge(seed, recordedMeasurement('seed-v6.1', seed)).stopsAfter, undefined);
});

test('expectations: each way a verdict can miss one says how', (t) => {
  const leak = judge(seed, recordedMeasurement('seed-v6.1-fix-reverted', seed));
  t.deepEqual(meetsExpectation(leak, { verdict: 'leak' }), { ok: true, why: 'as expected (leak)' });
  t.deepEqual(meetsExpectation(leak, { verdict: 'no-leak' }), { ok: false, why: 'expected no-leak, got leak' });
  t.deepEqual(meetsExpectation(leak, { verdict: 'leak', minPerUnit: 1.1 }), { ok: false, why: 'expected at least 1.1 obj/packet, got 1.000' });
  t.deepEqual(meetsExpectation(leak, { verdict: 'leak', maxPerUnit: 0.9 }), { ok: false, why: 'expected at most 0.9 obj/packet, got 1.000' });
  t.true(meetsExpectation(leak, { verdict: 'leak', minPerUnit: 0.9, maxPerUnit: 1.1 }).ok);
  t.deepEqual(meetsExpectation(leak, { verdict: 'leak', stopsAfter: 'remove rule' }), {
    ok: false,
    why: 'expected the leak to stop after "remove rule", it did not stop (start: 1.000)',
  });
  const w = judge(workaround, recordedMeasurement('workaround-v6.1-fix-reverted', workaround));
  const other = meetsExpectation(w, { verdict: 'leak', stopsAfter: 'another change' });
  t.false(other.ok);
  t.regex(other.why, /^expected the leak to stop after "another change", it stopped after "remove rule" \(start: [\d.]+, remove rule: -?[\d.]+\)$/);
  const unsure = judge(withTolerance(seed, 0.06), recordedMeasurement('seed-v6.1-keep-1-in-16', seed));
  t.deepEqual(meetsExpectation(unsure, { verdict: 'no-leak' }), { ok: false, why: 'expected no-leak, got inconclusive' });
});

test('one estimate against the tolerance: its ends decide, a leak needs two bursts', (t) => {
  const e = (low: number, high: number, trafficPhases = 4): RateEstimate => ({
    rate: (low + high) / 2,
    low,
    high,
    level: 0.95,
    packets: 1000,
    kept: 0,
    trafficPhases,
  });
  t.is(rateVerdict(e(0.1, 0.3), 0), 'leak');
  t.is(rateVerdict(e(0.1, 0.3, 1), 0), 'inconclusive');
  t.is(rateVerdict(e(0.05, 0.3), 0.05), 'inconclusive', 'a lower end on the tolerance is not above it');
  t.is(rateVerdict(e(0.01, 0.05), 0.05), 'no-leak', 'an upper end on the tolerance is at or below it');
  t.is(rateVerdict(e(-0.01, 0.05), 0), 'no-leak');
  t.is(packetsToDecide({ ...e(0.25, 0.75), rate: 0.5 }, 0.625), 4000, 'half-width 0.25 over a gap of 0.125: 4x the packets');
  t.is(packetsToDecide({ ...e(0.25, 0.75), rate: 0.5, packets: 0 }, 0.625), undefined);
  t.is(packetsToDecide({ ...e(0.25, 0.75), rate: 0.5 }, 0.5), undefined, 'a rate on the tolerance: no packet count decides it');
});

test('until decided with a tolerance: decided once every cache is, either way', (t) => {
  const m = recordedMeasurement('seed-v6.1-keep-1-in-16', seed);
  t.true(isDecided(withTolerance(seed, 0.2), m), 'no leak at 0.2');
  t.false(isDecided(withTolerance(seed, 0.06), m), 'straddles 0.06');
  t.true(isDecided(withTolerance(seed, 0.01), m), 'leak above 0.01');
  t.false(isDecided(seed, recordedMeasurement('seed-v6.1', seed)), 'tolerance 0: a clean kernel never decides early');
});
