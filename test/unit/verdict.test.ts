import test from 'ava';
import { judge, slope, meetsExpectation, settleLimits } from '../../src/verdict/verdict.ts';
import { toScenario } from '../../src/scenario/scenario.ts';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import { recordedSeries } from '../helpers/fixtures.ts';

const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');

test('slope is the least-squares fit', (t) => {
  t.is(slope([0, 1, 2, 3], [10, 12, 14, 16]), 2);
  t.is(slope([5, 5, 5], [1, 2, 3]), 0);
  t.true(Math.abs(slope([0, 500, 1000], [16, 520, 1010]) - 0.994) < 0.001);
});

test('recorded run on the fix-reverted kernel: LEAK at one object per packet', (t) => {
  const v = judge(seed, recordedSeries('seed-v6.1-fix-reverted'));
  t.is(v.verdict, 'leak');
  t.true(v.packetsIn >= 2000);
  t.true(Math.abs(v.deciding.keptPerPacket - 1) < 0.05, `${v.deciding.keptPerPacket}`);
  t.true(Math.abs(v.deciding.slopePerPacket - 1) < 0.05, `${v.deciding.slopePerPacket}`);
  t.true(meetsExpectation(v, seed.expect['v6.1-fix-reverted']).ok);
  t.false(meetsExpectation(v, seed.expect['*']).ok);
});

test('recorded runs on fixed kernels: no leak, also when the cache is merged', (t) => {
  for (const run of ['seed-v6.1', 'seed-debian-6.1-cloud-nomerge', 'seed-debian-6.1-cloud-merged']) {
    const v = judge(seed, recordedSeries(run));
    t.is(v.verdict, 'no-leak', run);
    t.true(v.deciding.keptPerPacket < 0.05, `${run}: ${v.deciding.keptPerPacket}`);
  }
  t.is(judge(seed, recordedSeries('seed-debian-6.1-cloud-merged')).deciding.mergedInto, ':A-0000256');
});

test('growth the flush gives back is not a leak', (t) => {
  const series = recordedSeries('seed-v6.1-fix-reverted');
  // The settled sample of the fixed kernel's run: objects back at baseline level.
  const fixed = recordedSeries('seed-v6.1');
  const v = judge(seed, { ...series, settled: { ...fixed.settled, packetsIn: series.settled.packetsIn, caches: { ip6_dst_cache: { ...series.before.caches.ip6_dst_cache } } } });
  t.is(v.verdict, 'no-leak');
  t.regex(v.reason, /flush gave it back/);
});

test('too few packets, or a rate between the thresholds, is inconclusive', (t) => {
  const series = recordedSeries('seed-v6.1-fix-reverted');
  const strict = toScenario({ name: 'x', kernels: ['k'], traffic: { packets: 10 }, watch: ['ip6_dst_cache'], thresholds: { minPackets: 100000 } }, '/x.yaml');
  t.is(judge(strict, series).verdict, 'inconclusive');
  const high = toScenario({ name: 'x', kernels: ['k'], traffic: { packets: 10 }, watch: ['ip6_dst_cache'], thresholds: { leak: 2, noLeak: 0.5 } }, '/x.yaml');
  const v = judge(high, series);
  t.is(v.verdict, 'inconclusive');
  t.regex(v.reason, /between thresholds/);
  t.false(meetsExpectation(v, { verdict: 'leak' }).ok);
});

test('expectation bounds on objects per packet are enforced', (t) => {
  const v = judge(seed, recordedSeries('seed-v6.1-fix-reverted'));
  t.false(meetsExpectation(v, { verdict: 'leak', minPerPacket: 1.5 }).ok);
  t.false(meetsExpectation(v, { verdict: 'leak', maxPerPacket: 0.5 }).ok);
  t.regex(meetsExpectation(v, { verdict: 'no-leak' }).why, /expected no-leak, got leak/);
});

test('recorded run with the workaround applied mid-run: the leak stops after "remove rule"', async (t) => {
  const workaround = await loadScenarioFile('scenarios/fib6-suppress-workaround.yaml');
  const v = judge(workaround, recordedSeries('workaround-v6.1-fix-reverted'));
  t.is(v.verdict, 'leak');
  t.is(v.segments.length, 2);
  t.true(v.segments[0].slopePerPacket > 0.95, `${v.segments[0].slopePerPacket}`);
  t.true(v.segments[1].slopePerPacket < 0.05, `${v.segments[1].slopePerPacket}`);
  t.is(v.stopsAfter, 'remove rule');
  t.true(meetsExpectation(v, workaround.expect['v6.1-fix-reverted']).ok);
  // The same numbers judged as if no change had been made: no segment boundary, no stop.
  const plain = judge(seed, recordedSeries('workaround-v6.1-fix-reverted'));
  t.is(plain.stopsAfter, undefined);
  t.regex(meetsExpectation(plain, { verdict: 'leak', stopsAfter: 'remove rule' }).why, /did not stop/);
});

test('recorded container run on the host kernel (6.18, fixed): no leak, host noise measured while idle', (t) => {
  const series = recordedSeries('seed-docker-host');
  t.is(series.idle?.length, 3, 'recorded with 3 idle samples');
  const v = judge(seed, series);
  t.is(v.verdict, 'no-leak');
  t.is(v.deciding.idleNoise, 0);
  t.true(v.packetsIn >= 20000, 'a container sends packetsInContainer (10 x packets)');
});

test('in a container, idle noise as large as the no-leak margin makes the verdict inconclusive', (t) => {
  const series = recordedSeries('seed-docker-host');
  // The host allocating 2500 objects of the shared slab between two idle samples.
  const busy = { ...series.idle![1], caches: { ip6_dst_cache: { ...series.idle![1].caches.ip6_dst_cache, objects: series.before.caches.ip6_dst_cache.objects + 2500 } } };
  const v = judge(seed, { ...series, idle: [series.idle![0], busy, series.idle![2]] });
  t.is(v.verdict, 'inconclusive');
  t.is(v.deciding.idleNoise, 2500);
  t.regex(v.reason, /the host moved ip6_dst_cache by 2500 objects while idle .* slab counts are host-wide/);
});

test('settling ends early only where the verdict could only be "not kept": recorded fixed kernel yes, leaking kernel no', (t) => {
  for (const [run, early] of [['seed-v6.1', true], ['seed-v6.1-fix-reverted', false], ['seed-debian-6.1-cloud-merged', true]] as const) {
    const r = recordedSeries(run);
    const limit = settleLimits(seed, r, r.bursts[r.bursts.length - 1]).ip6_dst_cache;
    t.is(r.settled.caches.ip6_dst_cache.objects <= limit, early, `${run}: settled ${r.settled.caches.ip6_dst_cache.objects}, limit ${limit}`);
    // A count at the limit is judged no leak, with room to spare.
    const atLimit = { ...r.settled, caches: { ip6_dst_cache: { ...r.settled.caches.ip6_dst_cache, objects: Math.floor(limit) } } };
    const v = judge(seed, { ...r, settled: atLimit });
    t.true(v.deciding.keptPerPacket <= seed.thresholds.noLeak / 2, `${run}: ${v.deciding.keptPerPacket}`);
  }
});

test('in a container, the host noise seen while idle lowers the count at which settling may end', (t) => {
  const r = recordedSeries('seed-docker-host');
  const inContainer = { ...seed, traffic: { ...seed.traffic, packets: seed.traffic.packetsInContainer } };
  const last = r.bursts[r.bursts.length - 1];
  const quiet = settleLimits(inContainer, { before: r.before }, last).ip6_dst_cache;
  const noisy = { ...r, idle: [{ ...r.before, caches: { ip6_dst_cache: { ...r.before.caches.ip6_dst_cache, objects: r.before.caches.ip6_dst_cache.objects + 300 } } }] };
  t.is(settleLimits(inContainer, noisy, last).ip6_dst_cache, quiet - 300);
});
