// Owns kmemleak as a second witness (a kernel with CONFIG_DEBUG_KMEMLEAK,
// booted with kmemleak=on): the guest commands of the scan protocol the
// field's CIs use, and parsing its report. Protocol:
//   before the traffic: automatic scans off; wait past the grace period
//     (kmemleak reports only objects older than 5 s), scan twice (see below),
//     clear (what boot and setup left is never reported again: clear only
//     forgets objects a scan has reported);
//   after the traffic: wait past the grace period, scan twice (an object
//     whose contents changed since the previous scan is not reported yet),
//     read.
// kmemleak finds objects nothing points to; a leaked reference count keeps an
// object linked, which it cannot see. It never decides a verdict.
import { functionOf } from './alloc-traces.ts';

const FILE = '/sys/kernel/debug/kmemleak';
const GRACE_SECONDS = 6;
const SECTION = '#leaklab# kmemleak';
/**
 * Groups the report in the guest: one line per size and backtrace,
 * "COUNT SIZE frame frame ...", innermost frame first (the report itself
 * is ~1.2 kB per object, slow to read back through the guest agent).
 * Busybox's awk and Debian's both run it; the 6.8+ format (frames without
 * addresses, "backtrace (crc ...):") reads the same.
 */
export const KMEMLEAK_GROUPING_AWK = [
  '/^unreferenced object/ { if (key != "") n[key]++; s = $0; sub(/.*[(]size /, "", s); sub(/[)].*/, "", s); key = s; t = 0; next }',
  '/^  backtrace/ { t = 1; next }',
  't && /^    / { key = key " " $NF; next }',
  'END { if (key != "") n[key]++; for (k in n) print n[k], k }',
].join('\n');

const MOUNT_DEBUGFS = '[ -d /sys/kernel/debug/slab ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null';

/** Before the traffic: prints whether kmemleak runs, and clears what boot and setup left. */
export function kmemleakClearScript(): string {
  return [
    MOUNT_DEBUGFS,
    `if [ -w ${FILE} ] && echo scan=off > ${FILE} 2>/dev/null; then`,
    `  sleep ${GRACE_SECONDS}; echo scan > ${FILE}; echo scan > ${FILE}; echo clear > ${FILE}; echo "${SECTION} on"`,
    `else echo "${SECTION} off"; fi`,
  ].join('\n');
}

/** After the traffic: the objects it left unreferenced, with how many there are in all. */
export function kmemleakReportScript(): string {
  return [
    MOUNT_DEBUGFS,
    `[ -w ${FILE} ] || { echo "${SECTION} off"; exit 0; }`,
    `sleep ${GRACE_SECONDS}; echo scan > ${FILE}; echo scan > ${FILE}`,
    `echo "${SECTION} report"`,
    `awk '${KMEMLEAK_GROUPING_AWK}' ${FILE}`,
  ].join('\n');
}

/** Whether the clear script found kmemleak running. */
export function kmemleakRuns(text: string): boolean {
  return text.includes(`${SECTION} on`);
}

export interface LeakGroup {
  /** Unreferenced objects with this size and backtrace. */
  count: number;
  size: number;
  /** Function names, innermost first (the allocator's frames included, as kmemleak prints them). */
  frames: string[];
}

export interface KmemleakReport {
  /** Unreferenced objects reported. */
  objects: number;
  /** Grouped by size and backtrace, most first. */
  groups: LeakGroup[];
}

/** Parses the report script's output (groups of objects); undefined when kmemleak was not running. */
export function parseKmemleak(text: string): KmemleakReport | undefined {
  const at = text.indexOf(`${SECTION} report`);
  if (at === -1) return undefined;
  const groups: LeakGroup[] = [];
  for (const line of text.slice(at).split('\n').slice(1)) {
    const m = /^(\d+) (\d+)((?: \S+)*)$/.exec(line.trim());
    if (m) groups.push({ count: Number(m[1]), size: Number(m[2]), frames: m[3].trim().split(' ').filter(Boolean).map(functionOf) });
  }
  groups.sort((a, b) => b.count - a.count);
  return { objects: groups.reduce((n, g) => n + g.count, 0), groups };
}
