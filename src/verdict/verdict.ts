// Owns turning a measurement into a verdict with its numbers: per watched
// cache the rate of objects kept per packet with its interval (estimate.ts),
// per segment between mid-run changes too, and LEAK / no leak /
// inconclusive against the scenario's tolerance and confidence:
//   LEAK          the interval lies above the tolerance, and the growth was
//                 seen across at least two bursts (not one jump);
//   no leak       tolerance 0: nothing significant (the upper end of the
//                 interval is the smallest leak that could have been missed);
//                 tolerance > 0: the interval lies at or below it;
//   inconclusive  the interval straddles the tolerance (with how many more
//                 packets would decide), or too few packets arrived.
// Every test the run makes (caches x segments x looks of traffic until
// decided) shares the confidence: each is made at the level Bonferroni
// gives, so the run as a whole errs at most 1 - confidence of the time.
import type { Scenario, Expectation } from '../scenario/scenario.ts';
import { unitNames, counterName, objPer, type UnitKind } from '../scenario/unit.ts';
import { measuredPhases, type Measurement } from '../measure/protocol.ts';
import { fitRates, keptBeyondNoise, type Increment, type RateEstimate } from './estimate.ts';
import { cachesOf } from '../probe/probe.ts';
import { project, type Projection, type ProjectionBasis } from './projection.ts';
import type { Sample } from '../probe/slab.ts';

export type VerdictKind = 'leak' | 'no-leak' | 'inconclusive';

export interface SegmentVerdict extends RateEstimate {
  /** "start" or the change it follows. */
  after: string;
  verdict: VerdictKind;
}

export interface CacheVerdict {
  cache: string;
  verdict: VerdictKind;
  /** The whole run as one rate. */
  estimate: RateEstimate;
  /** One per segment between mid-run changes (one when there is none). */
  segments: SegmentVerdict[];
  /** Standard deviation of one phase's count around the fit (objects). */
  noise: number;
  /** Objects every phase kept regardless of traffic. */
  drift: number;
  objectsBefore: number;
  objectsAfter: number;
  /** objectsAfter - objectsBefore: what the run kept. */
  objectsKept: number;
  mergedInto?: string;
  sharedWith?: string[];
  /** Bytes one object takes with its share of the slab (projections); unknown for a kernel that did not say. */
  bytesPerObject?: number;
  /** The cache the kernel has, for a watch: entry of alternatives ("ip_dst_cache|rtable" counted as rtable). */
  counted?: string;
  reason: string;
}

export interface Verdict {
  verdict: VerdictKind;
  /** The cache whose numbers decided the verdict. */
  deciding: CacheVerdict;
  caches: CacheVerdict[];
  /** The deciding cache's segments. */
  segments: SegmentVerdict[];
  /** The change after which the leak stopped, if one did. */
  stopsAfter?: string;
  /** Units of work the kernel counted across the measured phases (packets, connections, iterations: see unit). */
  units: number;
  /** What the rates are per. */
  unit: UnitKind;
  tolerance: number;
  /** The confidence the scenario asked for (the run as a whole). */
  confidence: number;
  /** The level each single interval is computed at (Bonferroni over the run's tests). */
  level: number;
  /** For an interval straddling the tolerance: about how many packets in all would decide it. */
  packetsToDecide?: number;
  reason: string;
  /** Every slab cache was measured (watch: all): `caches` holds them all. */
  survey: boolean;
  /** A survey's SUnreclaim (kB of unreclaimable slab) kept per packet: the kernel's own total, beside the caches. */
  sunreclaim?: RateEstimate;
  /** Time to out of memory at the leak's rate (leaks only). */
  projection?: Projection;
}

/** A cache a survey did not see in a sample (created later, or destroyed) had no objects then. */
function objectsIn(sample: Sample, cache: string): number {
  return sample.caches[cache]?.objects ?? 0;
}

/** The caches a verdict judges: the watched ones, or every cache a survey saw. */
export function judgedCaches(s: Scenario, m: Measurement): string[] {
  return cachesOf(
    s,
    m.phases.map((p) => p.sample),
  );
}

/** Every phase's change of the count, against packets received in it. */
export function increments(m: Measurement, cache: string): Increment[] {
  return incrementsOf(m, (sample) => objectsIn(sample, cache));
}

/** Every phase's change of a count read from its sample (a cache's objects, SUnreclaim), against packets received in it. */
function incrementsOf(m: Measurement, count: (sample: Sample) => number): Increment[] {
  const phases = measuredPhases(m);
  return phases.slice(1).map((p, i) => ({
    objects: count(p.sample) - count(phases[i].sample),
    packets: p.sample.units - phases[i].sample.units,
    segment: p.segment,
    traffic: p.kind === 'traffic',
  }));
}

/** The number of segments the scenario's changes cut a run into. */
function segmentCount(m: Measurement): number {
  return Math.max(...m.phases.map((p) => p.segment)) + 1;
}

/** The level of each single interval: the scenario's confidence shared by every test of the run. */
export function testLevel(s: Scenario, m: Measurement): number {
  const segs = segmentCount(m);
  const tests = judgedCaches(s, m).length * (segs > 1 ? segs + 1 : 1) * m.looks;
  return 1 - (1 - s.thresholds.confidence) / tests;
}

export function judge(s: Scenario, m: Measurement): Verdict {
  const level = testLevel(s, m);
  const phases = measuredPhases(m);
  const units = phases[phases.length - 1].sample.units - phases[0].sample.units;
  const caches = judgedCaches(s, m).map((name) => judgeCache(s, m, name, level, units));
  const deciding = pickDeciding(caches);
  const segments = deciding.segments;
  const stopsAt = segments.findIndex(
    (seg, i) => i > 0 && segments.slice(0, i).some((x) => x.verdict === 'leak') && segments.slice(i).every((x) => x.verdict === 'no-leak'),
  );
  const stopsAfter = stopsAt > 0 ? segments[stopsAt].after : undefined;
  const reason = deciding.reason + (stopsAfter ? `; the leak stops after the change "${stopsAfter}"` : '');
  const { tolerance, confidence } = s.thresholds;
  const v: Verdict = {
    verdict: deciding.verdict,
    deciding,
    caches,
    segments,
    stopsAfter,
    units,
    unit: s.unit.kind,
    tolerance,
    confidence,
    level,
    reason,
    survey: s.survey,
    sunreclaim: s.survey ? sunreclaimRate(m, level) : undefined,
  };
  const basis = projectionBasis(s, m);
  if (v.verdict === 'leak' && basis) v.projection = project(leakingCaches(v), basis);
  if (deciding.verdict === 'inconclusive' && units >= s.thresholds.minPackets) v.packetsToDecide = packetsToDecide(deciding.estimate, tolerance);
  return v;
}

/** The caches judged LEAK, fastest first. */
export function leakingCaches(v: Pick<Verdict, 'caches'>): CacheVerdict[] {
  return v.caches.filter((c) => c.verdict === 'leak').sort((a, b) => b.estimate.rate - a.estimate.rate);
}

/** The rate the bursts reached (packets received while they ran, on the guest's clock), for projections. */
export function measuredPacketRate(m: Measurement): number | undefined {
  const phases = measuredPhases(m);
  let packets = 0;
  let seconds = 0;
  phases.forEach((p, i) => {
    if (i === 0 || p.kind !== 'traffic' || !p.burstSeconds) return;
    packets += p.sample.units - phases[i - 1].sample.units;
    seconds += p.burstSeconds;
  });
  return seconds > 0 ? packets / seconds : undefined;
}

/** What a projection assumes: the scenario's project: (or the CLI's), else the run's packet rate and the guest's memory. */
function projectionBasis(s: Scenario, m: Measurement): ProjectionBasis | undefined {
  const measured = measuredPacketRate(m);
  const memTotalKb = m.phases.find((p) => p.sample.memTotalKb !== undefined)?.sample.memTotalKb;
  const packetsPerSecond = s.project.packetsPerSecond ?? measured;
  const memoryBytes = s.project.memoryBytes ?? (memTotalKb === undefined ? undefined : memTotalKb * 1024);
  if (packetsPerSecond === undefined || memoryBytes === undefined) return undefined;
  return {
    packetsPerSecond,
    unit: s.unit.kind,
    rateFrom: s.project.packetsPerSecond === undefined ? 'measured' : 'given',
    memoryBytes,
    memoryFrom: s.project.memoryBytes === undefined ? 'guest' : 'given',
  };
}

/** SUnreclaim (kB) kept per packet, fitted like a cache's count. */
function sunreclaimRate(m: Measurement, level: number): RateEstimate | undefined {
  if (measuredPhases(m).some((p) => p.sample.sunreclaimKb === undefined)) return undefined;
  const incs = incrementsOf(m, (sample) => sample.sunreclaimKb!).map((inc) => ({ ...inc, segment: 0 }));
  return fitRates(incs, 1, level).segments[0];
}

/** A leaking cache (the fastest), else an undecided one, else the noisiest candidate (the largest upper end). */
function pickDeciding(caches: CacheVerdict[]): CacheVerdict {
  const by = (kind: VerdictKind) => caches.filter((c) => c.verdict === kind);
  const leaks = leakingCaches({ caches });
  if (leaks.length) return leaks[0];
  const unsure = by('inconclusive');
  if (unsure.length) return unsure[0];
  return [...caches].sort((a, b) => b.estimate.high - a.estimate.high)[0];
}

function judgeCache(s: Scenario, m: Measurement, name: string, level: number, units: number): CacheVerdict {
  const incs = increments(m, name);
  const whole = fitRates(
    incs.map((i) => ({ ...i, segment: 0 })),
    1,
    level,
  );
  const bySegment = segmentCount(m) > 1 ? fitRates(incs, segmentCount(m), level) : whole;
  const { tolerance, minPackets } = s.thresholds;
  const segments: SegmentVerdict[] = bySegment.segments.map((e, i) => ({
    ...e,
    after: i === 0 ? 'start' : s.changes[i - 1].name,
    verdict: rateVerdict(e, tolerance),
  }));
  const phases = measuredPhases(m);
  // The setup sample is the one that lists a merged slab's aliases and footprints (a survey: the first sample that saw the cache).
  const first = m.phases.map((p) => p.sample.caches[name]).find((c) => c !== undefined);
  const before = objectsIn(phases[0].sample, name);
  const after = objectsIn(phases[phases.length - 1].sample, name);
  const estimate = whole.segments[0];
  const base = {
    cache: name,
    estimate,
    segments,
    noise: bySegment.noise,
    drift: bySegment.drift,
    objectsBefore: before,
    objectsAfter: after,
    objectsKept: after - before,
    mergedInto: first?.mergedInto,
    sharedWith: first?.sharedWith,
    bytesPerObject: first?.bytesPerObject,
    counted: first && first.name !== name ? first.name : undefined,
  };
  if (units < minPackets) {
    return {
      ...base,
      verdict: 'inconclusive',
      reason: `only ${units} ${unitNames(s.unit.kind).many} counted by ${counterName(s.unit)} (thresholds.minPackets is ${minPackets}): check that the traffic reaches its destination`,
    };
  }
  const overall = rateVerdict(estimate, tolerance);
  const verdict: VerdictKind =
    overall === 'leak' || segments.some((x) => x.verdict === 'leak')
      ? 'leak'
      : overall === 'no-leak' && segments.every((x) => x.verdict === 'no-leak')
        ? 'no-leak'
        : 'inconclusive';
  // A leak keeps its objects: growth the bursts show must still be there in the
  // run's last sample. Seen: 1 kmalloc-32 object after every burst of TCP
  // connections on v6.1, gone after the next idle phase: a steady fit, nothing kept.
  if (verdict === 'leak' && !keptBeyondNoise(after - before, tolerance * units, whole, level)) {
    const many = unitNames(s.unit.kind).many;
    return {
      ...base,
      verdict: 'inconclusive',
      reason: `grew during the bursts (${estimate.rate >= 0 ? '+' : ''}${Number(estimate.rate.toPrecision(2))} ${objPer(s.unit.kind)}) but ${after - before} objects were kept by the end of the run (${units} ${many}): what the bursts allocated was freed after them, not shown to stay; give more ${many}, or a tolerance above the transient's rate`,
    };
  }
  return { ...base, verdict, reason: reasonFor(verdict, estimate, segments, tolerance, s.unit.kind) };
}

/** One estimate against the tolerance. */
export function rateVerdict(e: RateEstimate, tolerance: number): VerdictKind {
  // Nothing counted: no rate, so no verdict either way.
  if (!Number.isFinite(e.high)) return 'inconclusive';
  if (e.low > tolerance) return e.trafficPhases >= 2 ? 'leak' : 'inconclusive';
  if (tolerance === 0 || e.high <= tolerance) return 'no-leak';
  return 'inconclusive';
}

function reasonFor(v: VerdictKind, e: RateEstimate, segments: SegmentVerdict[], tolerance: number, unit: UnitKind): string {
  const kept = `${Math.round(e.kept)} objects kept for ${e.packets} ${unitNames(unit).many}`;
  const per = objPer(unit);
  if (v === 'leak') return `${kept}: the interval lies above the tolerance (${tolerance} ${per})`;
  if (v === 'no-leak') return `${kept}: ${tolerance === 0 ? 'no significant growth' : `the interval lies at or below the tolerance (${tolerance} ${per})`}`;
  const oneJump = [e, ...segments].some((x) => x.low > tolerance && x.trafficPhases < 2);
  if (oneJump) return `${kept}, but in one burst only: growth across bursts cannot be told from a one-off jump; give that part of the run more bursts`;
  return `${kept}: the interval straddles the tolerance (${tolerance} ${per})`;
}

/**
 * About how many packets in all would bring the interval off the tolerance,
 * if the rate stays where it is: the half-width shrinks at least as
 * 1/sqrt(packets). Undefined when the rate sits on the tolerance.
 */
export function packetsToDecide(e: RateEstimate, tolerance: number): number | undefined {
  const gap = Math.abs(e.rate - tolerance);
  if (gap === 0 || e.packets === 0) return undefined;
  const half = (e.high - e.low) / 2;
  return Math.ceil(e.packets * (half / gap) ** 2);
}

/** Whether traffic until decided can stop: every cache is LEAK, or (tolerance > 0) decided either way. */
export function isDecided(s: Scenario, m: Measurement): boolean {
  const v = judge(s, m);
  return v.caches.every((c) => c.verdict !== 'inconclusive') && (v.verdict === 'leak' || s.thresholds.tolerance > 0);
}

/** Whether a verdict meets an expectation; the reason says why not. */
export function meetsExpectation(v: Verdict, e: Expectation): { ok: boolean; why: string } {
  if (v.verdict === 'inconclusive') return { ok: false, why: `expected ${e.verdict}, got inconclusive` };
  if (v.verdict !== e.verdict) return { ok: false, why: `expected ${e.verdict}, got ${v.verdict}` };
  if (e.stopsAfter !== undefined && v.stopsAfter !== e.stopsAfter) {
    return {
      ok: false,
      why: `expected the leak to stop after "${e.stopsAfter}", ${v.stopsAfter ? `it stopped after "${v.stopsAfter}"` : 'it did not stop'} (${v.segments.map((x) => `${x.after}: ${x.rate.toFixed(3)}`).join(', ')})`,
    };
  }
  // With expect.cache the rates are that cache's (or the merged slab's that holds it).
  const found = e.cache === undefined ? v.deciding : leakingCaches(v).find((c) => c.cache === e.cache || c.sharedWith?.includes(e.cache!));
  if (!found) {
    const where = leakingCaches(v).map((c) => c.cache);
    return { ok: false, why: `expected the leak in ${e.cache}, ${where.length ? `found it in ${where.join(', ')}` : 'found no leaking cache'}` };
  }
  const rate = found.estimate.rate;
  if (e.minPerUnit !== undefined && rate < e.minPerUnit)
    return { ok: false, why: `expected at least ${e.minPerUnit} ${objPer(v.unit)}, got ${rate.toFixed(3)}` };
  if (e.maxPerUnit !== undefined && rate > e.maxPerUnit)
    return { ok: false, why: `expected at most ${e.maxPerUnit} ${objPer(v.unit)}, got ${rate.toFixed(3)}` };
  return { ok: true, why: `as expected (${e.verdict})` };
}
