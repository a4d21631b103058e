// Owns the time-to-out-of-memory projection of a leak: what was measured
// (each leaking cache's objects per packet, with its interval, times the
// memory one object takes in its slab) at a traffic rate and a memory size
// the user gives, or else the rate the run reached and the guest's memory:
//   "at 2000 packets/s this leaks 0.53 MB/s: 1 GiB is exhausted in about 34 min"
// It is arithmetic on the kernel's own figures: a rate held up forever, with
// nothing else using memory; the report says so.
import type { RateEstimate } from './estimate.ts';
import { unitNames, type UnitKind } from '../scenario/unit.ts';

/** What a projection needs of a leaking cache (verdict.ts's CacheVerdict has it). */
export interface LeakingCache {
  cache: string;
  estimate: RateEstimate;
  bytesPerObject?: number;
}

export interface ProjectionBasis {
  /** Units of work per second (packets, connections, iterations: see unit). */
  packetsPerSecond: number;
  /** The unit the rate counts (absent in an older report.json: packets). */
  unit?: UnitKind;
  /** Where the rate comes from: the scenario's project: (or --packets-per-second), or the bursts of this run. */
  rateFrom: 'given' | 'measured';
  memoryBytes: number;
  /** The scenario's project: (or --memory), or MemTotal of the guest's kernel. */
  memoryFrom: 'given' | 'guest';
}

export interface Projection extends ProjectionBasis {
  /** Bytes kept per packet: each leaking cache's rate x its footprint, summed; the interval ends summed alike. */
  bytesPerPacket: { rate: number; low: number; high: number };
  bytesPerSecond: number;
  /** Seconds until memoryBytes are kept at the estimated rate. */
  seconds: number;
  /** The interval's ends: soonest from its upper end, latest from its lower (undefined: the lower end allows no leak at all). */
  soonest: number;
  latest?: number;
  /** The caches counted, and leaking ones whose footprint the kernel did not give (not counted). */
  caches: string[];
  unknownFootprint: string[];
}

/** The projection for the leaking caches of a verdict; undefined when none leaks or no footprint is known. */
export function project(leaking: LeakingCache[], basis: ProjectionBasis): Projection | undefined {
  const known = leaking.filter((c) => c.bytesPerObject !== undefined && c.estimate.rate > 0);
  if (known.length === 0 || basis.packetsPerSecond <= 0 || basis.memoryBytes <= 0) return undefined;
  const sum = (f: (c: LeakingCache) => number) => known.reduce((a, c) => a + f(c) * c.bytesPerObject!, 0);
  const bytesPerPacket = { rate: sum((c) => c.estimate.rate), low: sum((c) => Math.max(0, c.estimate.low)), high: sum((c) => c.estimate.high) };
  const time = (perPacket: number) => (perPacket > 0 ? basis.memoryBytes / (perPacket * basis.packetsPerSecond) : undefined);
  return {
    ...basis,
    bytesPerPacket,
    bytesPerSecond: bytesPerPacket.rate * basis.packetsPerSecond,
    seconds: time(bytesPerPacket.rate)!,
    soonest: time(bytesPerPacket.high)!,
    latest: time(bytesPerPacket.low),
    caches: known.map((c) => c.cache),
    unknownFootprint: leaking.filter((c) => c.bytesPerObject === undefined).map((c) => c.cache),
  };
}

/** "0.53 MB/s", "12 kB/s", "310 B/s": two significant digits, decimal units (as rates are usually written). */
export function fmtBytesPerSecond(b: number): string {
  const two = (x: number) => String(Number(x.toPrecision(2)));
  if (b >= 1e5) return `${two(b / 1e6)} MB/s`;
  if (b >= 1e3) return `${two(b / 1e3)} kB/s`;
  return `${two(b)} B/s`;
}

/** "1 GiB", "512 MiB" (binary units, as memory sizes are given). */
export function fmtMemory(bytes: number): string {
  const units: [string, number][] = [
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ];
  const [name, size] = units.find(([, size]) => bytes >= size) ?? ['B', 1];
  return `${Number((bytes / size).toFixed(1))} ${name}`;
}

/** "45 s", "32 min", "5.2 h", "3.1 days", "2.4 years". */
export function fmtDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Number((seconds / 3600).toPrecision(2))} h`;
  if (seconds < 730 * 86400) return `${Number((seconds / 86400).toPrecision(2))} days`;
  return `${Number((seconds / (365 * 86400)).toPrecision(2))} years`;
}

/** The projection as one sentence. */
export function projectionText(p: Projection): string {
  const rate = `${Number(p.packetsPerSecond.toPrecision(2)) >= 100 ? Math.round(p.packetsPerSecond) : Number(p.packetsPerSecond.toPrecision(2))} ${unitNames(p.unit).many}/s${p.rateFrom === 'measured' ? ' (the rate of this run)' : ''}`;
  const memory = `${fmtMemory(p.memoryBytes)}${p.memoryFrom === 'guest' ? " (the guest's memory)" : ''}`;
  const range = `${fmtDuration(p.soonest)} to ${p.latest === undefined ? 'never' : fmtDuration(p.latest)}`;
  const unknown = p.unknownFootprint.length ? `; not counted (no footprint known): ${p.unknownFootprint.join(', ')}` : '';
  return `at ${rate} this leaks ${fmtBytesPerSecond(p.bytesPerSecond)}: ${memory} is exhausted in about ${fmtDuration(p.seconds)} (${range})${unknown}`;
}
