// The time-to-out-of-memory projection (src/verdict/projection.ts): its
// arithmetic on a run recorded from a real guest (the seed on
// v6.1-fix-reverted: ip6_dst_cache, 256 bytes per object in its slab, 16
// objects on one 4 KiB page), and how it is written.
import test from 'ava';
import { judge } from '../../src/verdict/verdict.ts';
import { project, projectionText, fmtDuration, fmtBytesPerSecond, fmtMemory } from '../../src/verdict/projection.ts';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/scenario.ts';
import { recordedMeasurement } from '../helpers/fixtures.ts';

const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
const GiB = 2 ** 30;
const at = (s: Scenario, project: Scenario['project']): Scenario => ({ ...s, project });

test('a leak at a given rate and memory: bytes per packet = objects per packet x footprint; time = memory / bytes per second', (t) => {
  const v = judge(at(seed, { packetsPerSecond: 2000, memoryBytes: GiB }), recordedMeasurement('seed-v6.1-fix-reverted', seed));
  const c = v.deciding;
  t.is(c.bytesPerObject, 256, 'slabinfo: 1 page per slab / 16 objects per slab');
  const p = v.projection!;
  t.truthy(p);
  t.is(p.rateFrom, 'given');
  t.is(p.memoryFrom, 'given');
  t.is(p.bytesPerPacket.rate, c.estimate.rate * 256);
  t.is(p.bytesPerSecond, c.estimate.rate * 256 * 2000);
  t.is(p.seconds, GiB / (c.estimate.rate * 256 * 2000));
  t.true(p.soonest < p.seconds && p.seconds < p.latest!, 'the interval: soonest from its upper end, latest from its lower');
  t.is(p.soonest, GiB / (c.estimate.high * 256 * 2000));
  // The field's case: a 1 GiB VM at 2000 packets/s, one 256-byte object per packet.
  t.regex(projectionText(p), /^at 2000 packets\/s this leaks 0\.51 MB\/s: 1 GiB is exhausted in about 35 min \(3\d min to 3\d min\)$/);
});

test('no leak, or nothing to go on: no projection', (t) => {
  t.is(judge(at(seed, { packetsPerSecond: 2000, memoryBytes: GiB }), recordedMeasurement('seed-v6.1', seed)).projection, undefined, 'no leak');
  // A recording without the guest's memory or the bursts' timing, and no project: given.
  t.is(judge(seed, recordedMeasurement('seed-v6.1-fix-reverted', seed)).projection, undefined);
});

test('several leaking caches add up; a cache whose footprint is unknown is named, not counted; a lower end at 0 means "never"', (t) => {
  const v = judge(at(seed, { packetsPerSecond: 1000, memoryBytes: GiB }), recordedMeasurement('seed-v6.1-fix-reverted', seed));
  const a = v.deciding;
  const b = { ...a, cache: 'kmalloc-64', bytesPerObject: 64, estimate: { ...a.estimate, rate: 0.5, low: -0.1, high: 1 } };
  const unknown = { ...a, cache: 'mystery', bytesPerObject: undefined };
  const p = project([a, b, unknown], { packetsPerSecond: 1000, rateFrom: 'given', memoryBytes: GiB, memoryFrom: 'given' })!;
  t.is(p.bytesPerPacket.rate, a.estimate.rate * 256 + 0.5 * 64);
  t.is(p.bytesPerPacket.low, a.estimate.low * 256 + 0, 'a lower end below 0 counts as no leak');
  t.deepEqual(p.caches, ['ip6_dst_cache', 'kmalloc-64']);
  t.deepEqual(p.unknownFootprint, ['mystery']);
  t.regex(projectionText(p), /not counted \(no footprint known\): mystery$/);
  const never = project([b], { packetsPerSecond: 1000, rateFrom: 'measured', memoryBytes: 512 * 2 ** 20, memoryFrom: 'guest' })!;
  t.is(never.latest, undefined);
  t.regex(
    projectionText(never),
    /^at 1000 packets\/s \(the rate of this run\) this leaks 32 kB\/s: 512 MiB \(the guest's memory\) is exhausted in about 4\.7 h \(.* to never\)$/,
  );
});

test('figures are written in units a reader expects', (t) => {
  t.is(fmtDuration(45), '45 s');
  t.is(fmtDuration(32 * 60), '32 min');
  t.is(fmtDuration(5.2 * 3600), '5.2 h');
  t.is(fmtDuration(3.1 * 86400), '3.1 days');
  t.is(fmtDuration(2.4 * 365 * 86400), '2.4 years');
  t.is(fmtBytesPerSecond(530_000), '0.53 MB/s');
  t.is(fmtBytesPerSecond(53_000), '53 kB/s');
  t.is(fmtBytesPerSecond(1_530_000), '1.5 MB/s');
  t.is(fmtBytesPerSecond(310), '310 B/s');
  t.is(fmtMemory(GiB), '1 GiB');
  t.is(fmtMemory(1.5 * GiB), '1.5 GiB');
  t.is(fmtMemory(512 * 2 ** 20), '512 MiB');
});
