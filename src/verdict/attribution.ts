// Owns attribution: from SLUB's allocation tracking read before and after
// the attribution boot's burst, the call stacks whose live objects grew with
// the traffic, per leaking cache, with their rate per packet; and kmemleak's
// report beside it, with whether the two witnesses agree. The slab counts
// of the measured run decide the verdict: nothing here changes it.
import { traceGrowth, callerFrames, isAllocatorFrame, type AllocTrace, type TracesMissing } from '../probe/alloc-traces.ts';
import type { KmemleakReport, LeakGroup } from '../probe/kmemleak.ts';
import type { CacheVerdict } from './verdict.ts';
import type { TraceReadings } from '../measure/tracking.ts';

/** A stack is named when it gained at least this share of what the leak's rate predicts for the burst (and at least 2 objects). */
const SHARE_OF_EXPECTED = 0.1;
const MIN_OBJECTS = 2;
/** Stacks listed per cache. */
const MAX_STACKS = 3;

export interface AttributedStack {
  /** Function names from the caller of the allocator outwards. */
  frames: string[];
  /** file:line of the first frames (by function name), where the kernel's vmlinux places them. */
  lines: { frame: string; at: string }[];
  /** Live objects the stack gained during the burst. */
  added: number;
  /** added / packets received. */
  rate: number;
}

export interface CacheAttribution {
  /** The cache tracked (its own slab in the attribution boot: tracking turns merging off for it). */
  cache: string;
  /** The leaking cache of the verdict it explains (a merged slab's name when the leak was counted there). */
  leak: string;
  stacks: AttributedStack[];
}

export interface KmemleakWitness {
  /** Unreferenced objects kmemleak reported after the traffic. */
  objects: number;
  /** The largest groups (same size and backtrace). */
  groups: LeakGroup[];
  /** Whether kmemleak saw the leak the slab counts found: a group allocated where attribution's top stack was. */
  agrees: boolean;
  /** One sentence for the report. */
  says: string;
}

export interface Attribution {
  /** Packets the attribution burst brought in. */
  packets: number;
  /** The caches booted with tracking. */
  tracked: string[];
  /** Caches with a stack that grew with the traffic, in the order of the verdict's leaks. */
  caches: CacheAttribution[];
  kmemleak?: KmemleakWitness;
  /** Why attribution is missing or partial (a kernel option, a failed boot); the verdict stands without it. */
  notes: string[];
}

/** The caches to boot with tracking for these leaks: each leaking cache and every cache its slab holds (a merged slab's own name is not a cache). */
export function cachesToTrack(leaks: CacheVerdict[]): string[] {
  // By the name the kernel has: a watch: entry of alternatives is tracked as the one it was counted as.
  const names = leaks.flatMap((c) => [c.counted ?? c.cache, ...(c.sharedWith ?? [])]).filter((n) => !n.startsWith(':'));
  return [...new Set(names)];
}

/** Per leak, the stacks of its caches that grew with the traffic: each gained a real share of what the leak's rate predicts for the burst. */
export function attribute(leaks: CacheVerdict[], r: TraceReadings, lines: Map<string, string> = new Map()): Pick<Attribution, 'caches' | 'notes'> {
  const caches: CacheAttribution[] = [];
  const notes: string[] = [];
  for (const leak of leaks) {
    const threshold = Math.max(MIN_OBJECTS, SHARE_OF_EXPECTED * leak.estimate.rate * r.packets);
    const found: CacheAttribution[] = [];
    for (const cache of cachesToTrack([leak])) {
      const [before, after] = [r.before[cache], r.after[cache]];
      if (!Array.isArray(before) || !Array.isArray(after)) continue;
      const stacks = traceGrowth(before, after)
        .filter((g) => g.added >= threshold)
        .slice(0, MAX_STACKS)
        .map((g) => stackOf(g.trace, g.added, r.packets, lines));
      if (stacks.length > 0) found.push({ cache, leak: leak.cache, stacks });
    }
    const missing = cachesToTrack([leak])
      .map((c) => r.after[c] ?? r.before[c])
      .find((x) => typeof x === 'string');
    if (found.length === 0) notes.push(noStackNote(leak, missing, r.packets));
    caches.push(...found.sort((a, b) => b.stacks[0].added - a.stacks[0].added));
  }
  return { caches, notes };
}

function stackOf(t: AllocTrace, added: number, packets: number, lines: Map<string, string>): AttributedStack {
  const frames = callerFrames(t);
  // The raw frames (with offsets) after the allocator's own, in the same order as `frames`.
  const raw = t.stack.slice(t.stack.length - frames.length);
  return {
    frames,
    lines: raw.slice(0, MAX_LINES).flatMap((f, i) => (lines.has(f) ? [{ frame: frames[i], at: lines.get(f)! }] : [])),
    added,
    rate: packets > 0 ? added / packets : 0,
  };
}

/** file:line is resolved for this many frames from the caller on. */
export const MAX_LINES = 4;

/** The raw frames whose file:line a report shows: the first frames from each growing stack's caller. */
export function framesToPlace(r: TraceReadings): string[] {
  const out = new Set<string>();
  for (const after of Object.values(r.after)) {
    if (!Array.isArray(after)) continue;
    for (const t of after) {
      const n = callerFrames(t).length;
      for (const f of t.stack.slice(t.stack.length - n).slice(0, MAX_LINES)) out.add(f);
    }
  }
  return [...out];
}

function noStackNote(leak: CacheVerdict, missing: AllocTrace[] | TracesMissing | undefined, packets: number): string {
  if (missing === 'no-debugfs')
    return `${leak.cache}: no allocation tracking (the kernel has no /sys/kernel/debug/slab: CONFIG_DEBUG_FS and CONFIG_SLUB_DEBUG)`;
  if (missing === 'no-tracking') return `${leak.cache}: the kernel did not track its allocations (slub_debug=U refused, or the cache was merged anyway)`;
  return `${leak.cache}: no allocation stack grew with the traffic in the attribution boot (${packets} packets)`;
}

/** kmemleak's report beside the slab counts: whether it saw the leak attribution found, in a sentence. */
export function kmemleakWitness(report: KmemleakReport, caches: CacheAttribution[]): KmemleakWitness {
  const top = caches[0]?.stacks[0]?.frames[0];
  const groups = report.groups.slice(0, MAX_STACKS);
  const agrees = top !== undefined && report.groups.some((g) => g.frames.includes(top));
  let says: string;
  if (report.objects === 0) {
    says =
      'no unreferenced object: the leaked objects are still referenced from somewhere (e.g. a reference count never dropped), which kmemleak cannot see; the slab counts decide';
  } else if (agrees) {
    says = `agrees: ${report.groups.filter((g) => g.frames.includes(top!)).reduce((n, g) => n + g.count, 0)} unreferenced objects allocated in ${top}`;
  } else {
    says = `disagrees: its ${report.objects} unreferenced objects come from elsewhere (${groups.map((g) => g.frames.find((f) => !isAllocatorFrame(f)) ?? g.frames[g.frames.length - 1]).join(', ')}); the slab counts decide`;
  }
  return { objects: report.objects, groups, agrees, says };
}
