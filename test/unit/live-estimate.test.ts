// The figure a live line shows after each burst (measure/protocol.ts,
// liveEstimate), on runs recorded from real guests: a leak's rate climbs to
// its known value, a clean kernel's stays at zero.
import test from 'ava';
import { liveEstimate, keptSoFar, measuredPhases } from '../../src/measure/protocol.ts';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import { recordedMeasurement } from '../helpers/fixtures.ts';

const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');

/** The live figure after each burst of a recorded run of the seed. */
function liveFigures(run: string): string[] {
  const phases = measuredPhases(recordedMeasurement(run, seed));
  return phases.filter((p) => p.kind === 'traffic').map((p) => liveEstimate(seed, phases[0].sample, p.sample));
}

test('a leak of one object per packet reads ~1 obj/packet after every burst', (t) => {
  t.deepEqual(liveFigures('seed-v6.1-fix-reverted'), ['~1 obj/packet', '~1 obj/packet', '~1 obj/packet', '~1 obj/packet']);
});

test('1 in 16 kept reads about 0.0625 after the last burst; the fixed kernel reads 0', (t) => {
  const last = liveFigures('seed-v6.1-keep-1-in-16').at(-1)!;
  const rate = Number(/^~([\d.]+) obj\/packet$/.exec(last)?.[1]);
  t.true(Math.abs(rate - 1 / 16) < 0.2 / 16, last);
  t.deepEqual(liveFigures('seed-v6.1'), ['~0 obj/packet', '~0 obj/packet', '~0 obj/packet', '~0 obj/packet']);
});

test('before any unit is counted the live line says the objects kept, not a rate', (t) => {
  const [baseline] = measuredPhases(recordedMeasurement('seed-v6.1-fix-reverted', seed));
  t.is(liveEstimate(seed, baseline.sample, baseline.sample), '0 kept');
});

test("a log's line after each burst has the count and the rate", (t) => {
  const phases = measuredPhases(recordedMeasurement('seed-v6.1-fix-reverted', seed));
  t.regex(keptSoFar(seed, phases[0].sample, phases.at(-1)!.sample), /^ip6_dst_cache 20\d\d objects kept so far \(~1 obj\/packet\)$/);
  t.is(keptSoFar(seed, phases[0].sample, phases[0].sample), 'ip6_dst_cache 0 objects kept so far');
});
