// Owns turning samples into a verdict with its numbers: objects per packet
// as a least-squares slope over the bursts, objects kept after the route
// flush per packet, and LEAK / no leak / inconclusive by the scenario's
// thresholds. Growth that the flush takes back is not a leak.
import type { Scenario, Expectation } from '../scenario/scenario.ts';
import type { Sample } from '../probe/slab.ts';

export type VerdictKind = 'leak' | 'no-leak' | 'inconclusive';

export interface CacheVerdict {
  cache: string;
  verdict: VerdictKind;
  /** Fitted slope of objects against packets received, over the bursts. */
  slopePerPacket: number;
  /** (settled - before) / packets: what the flush did not give back. */
  keptPerPacket: number;
  objectsBefore: number;
  objectsAfterTraffic: number;
  objectsSettled: number;
  objectsKept: number;
  mergedInto?: string;
  sharedWith?: string[];
  /** Spread of the count over the idle samples (containers): the host's own churn. */
  idleNoise?: number;
  reason: string;
}

export interface Segment {
  /** "start" or the change it follows. */
  after: string;
  fromBurst: number;
  toBurst: number;
  /** Slope of the deciding cache over this segment's samples. */
  slopePerPacket: number;
  verdict: VerdictKind;
}

export interface Verdict {
  verdict: VerdictKind;
  /** The run cut at each mid-run change (one segment when there is none). */
  segments: Segment[];
  /** The change after which the leak stopped, if one did. */
  stopsAfter?: string;
  /** The cache whose numbers decided the verdict. */
  deciding: CacheVerdict;
  caches: CacheVerdict[];
  packetsIn: number;
  reason: string;
}

export interface SampleSeries {
  /** Before any traffic. */
  before: Sample;
  /** After each burst, in order. */
  bursts: Sample[];
  /** After the route flush and settling. */
  settled: Sample;
  /**
   * Samples taken idle right after `before` (containers only: their slab
   * counts are host-wide, so these show how much the host moves them).
   */
  idle?: Sample[];
}

/** Least-squares slope of y over x; 0 when x does not vary. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

export function judge(s: Scenario, series: SampleSeries): Verdict {
  const points = [series.before, ...series.bursts];
  const packetsIn = series.settled.packetsIn - series.before.packetsIn;
  const caches = s.watch.map((name) => judgeCache(s, name, points, series, packetsIn));
  const leak = caches.find((c) => c.verdict === 'leak');
  const unsure = caches.find((c) => c.verdict === 'inconclusive');
  const deciding = leak ?? unsure ?? caches[0];
  const segments = segmentsOf(s, points, deciding.cache, series.before.packetsIn);
  const stopsAt = segments.findIndex((seg, i) => i > 0 && segments[i - 1].verdict === 'leak' && segments.slice(i).every((x) => x.verdict === 'no-leak'));
  const stopsAfter = stopsAt > 0 ? segments[stopsAt].after : undefined;
  const reason = deciding.reason + (stopsAfter ? `; the leak stops after the change "${stopsAfter}"` : '');
  return { verdict: deciding.verdict, deciding, caches, packetsIn, reason, segments, stopsAfter };
}

/** Cuts the before+burst samples at every change and fits each piece. */
function segmentsOf(s: Scenario, points: Sample[], cache: string, base: number): Segment[] {
  const cuts = [0, ...s.changes.map((c) => c.afterBurst), points.length - 1];
  const out: Segment[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const piece = points.slice(cuts[i], cuts[i + 1] + 1);
    const k = slope(piece.map((p) => p.packetsIn - base), piece.map((p) => p.caches[cache].objects));
    const verdict: VerdictKind = k >= s.thresholds.leak ? 'leak' : k <= s.thresholds.noLeak ? 'no-leak' : 'inconclusive';
    out.push({ after: i === 0 ? 'start' : s.changes[i - 1].name, fromBurst: cuts[i], toBurst: cuts[i + 1], slopePerPacket: k, verdict });
  }
  return out;
}

function judgeCache(s: Scenario, name: string, points: Sample[], series: SampleSeries, packetsIn: number): CacheVerdict {
  const xs = points.map((p) => p.packetsIn - series.before.packetsIn);
  const ys = points.map((p) => p.caches[name].objects);
  const before = series.before.caches[name].objects;
  const afterTraffic = ys[ys.length - 1];
  const settled = series.settled.caches[name].objects;
  const kept = settled - before;
  const slopePerPacket = slope(xs, ys);
  const keptPerPacket = packetsIn > 0 ? kept / packetsIn : 0;
  const { leak, noLeak, minPackets } = s.thresholds;
  const merged = series.before.caches[name];
  const noise = idleNoise(series, name);
  const base = {
    cache: name, slopePerPacket, keptPerPacket, objectsBefore: before, objectsAfterTraffic: afterTraffic,
    objectsSettled: settled, objectsKept: kept, mergedInto: merged.mergedInto, sharedWith: merged.sharedWith, idleNoise: noise,
  };
  if (noise !== undefined) {
    // Noise as large as the no-leak margin could fake either verdict: say so rather than guess.
    if (packetsIn > 0 && noise / packetsIn >= noLeak) {
      return {
        ...base, verdict: 'inconclusive',
        reason: `the host moved ${name} by ${noise} objects while idle (${(noise / packetsIn).toFixed(3)} per packet, not below thresholds.noLeak ${noLeak}): in a container slab counts are host-wide; rerun on a quieter host or send more packets`,
      };
    }
  }
  if (packetsIn < minPackets) {
    return { ...base, verdict: 'inconclusive', reason: `only ${packetsIn} packets received (thresholds.minPackets is ${minPackets}): check that the traffic reaches its destination` };
  }
  if (keptPerPacket >= leak && slopePerPacket >= leak) {
    return { ...base, verdict: 'leak', reason: `${kept} objects kept after the flush for ${packetsIn} packets` };
  }
  if (keptPerPacket <= noLeak) {
    const transient = slopePerPacket >= leak ? ' (grew during traffic but the flush gave it back)' : '';
    return { ...base, verdict: 'no-leak', reason: `${kept} objects kept for ${packetsIn} packets${transient}` };
  }
  return {
    ...base, verdict: 'inconclusive',
    reason: `${keptPerPacket.toFixed(3)} objects kept per packet lies between thresholds.noLeak (${noLeak}) and thresholds.leak (${leak}), slope ${slopePerPacket.toFixed(3)}`,
  };
}

/** Spread of a cache's count over the first and the idle samples (containers): the host's own churn. */
export function idleNoise(series: Pick<SampleSeries, 'before' | 'idle'>, name: string): number | undefined {
  const idle = series.idle && [series.before, ...series.idle].map((p) => p.caches[name].objects);
  return idle && Math.max(...idle) - Math.min(...idle);
}

/**
 * Counts at which settling can end early: the first sample's count plus half
 * of what thresholds.noLeak allows for the packets received, less the host's
 * noise seen while idle (containers), so a count there can only be judged
 * "not kept", with room for a little noise.
 */
export function settleLimits(s: Scenario, series: Pick<SampleSeries, 'before' | 'idle'>, last: Sample): Record<string, number> {
  const packets = last.packetsIn - series.before.packetsIn;
  return Object.fromEntries(s.watch.map((c) => [c, series.before.caches[c].objects + (s.thresholds.noLeak * packets) / 2 - (idleNoise(series, c) ?? 0)]));
}

/** Whether a verdict meets an expectation; the reason says why not. */
export function meetsExpectation(v: Verdict, e: Expectation): { ok: boolean; why: string } {
  if (v.verdict === 'inconclusive') return { ok: false, why: `expected ${e.verdict}, got inconclusive` };
  if (v.verdict !== e.verdict) return { ok: false, why: `expected ${e.verdict}, got ${v.verdict}` };
  if (e.stopsAfter !== undefined && v.stopsAfter !== e.stopsAfter) {
    return { ok: false, why: `expected the leak to stop after "${e.stopsAfter}", ${v.stopsAfter ? `it stopped after "${v.stopsAfter}"` : 'it did not stop'} (${v.segments.map((x) => `${x.after}: ${x.slopePerPacket.toFixed(2)}`).join(', ')})` };
  }
  const rate = v.deciding.keptPerPacket;
  if (e.minPerPacket !== undefined && rate < e.minPerPacket) return { ok: false, why: `expected at least ${e.minPerPacket} obj/packet, got ${rate.toFixed(3)}` };
  if (e.maxPerPacket !== undefined && rate > e.maxPerPacket) return { ok: false, why: `expected at most ${e.maxPerPacket} obj/packet, got ${rate.toFixed(3)}` };
  return { ok: true, why: `as expected (${e.verdict})` };
}
