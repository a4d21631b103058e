// Owns the survey: sampling EVERY slab cache in one guest command (watch:
// all), for the user who does not know which cache leaks. One sample is:
//   links     every cache name SLUB folded into a shared slab, and that slab
//             (/sys/kernel/slab/NAME -> :A-0000256; resolved with the `cd -P`
//             builtin, not one readlink fork per link)
//   slabs     the objects in use of every real slab, each the least of three
//             reads after a shrink (slab.ts explains why)
//   slabinfo  /proc/slabinfo, fields 1-6: the name slabtop shows for each
//             slab (its creator's), and its footprint per object
//   meminfo   SUnreclaim, the kernel's own total of unreclaimable slab, and
//             MemTotal (what a leak would exhaust)
// Caches are keyed by their /proc/slabinfo name, the way the field saw
// pool_workqueue grow: a merged slab's line names every cache it holds.
import type { Family } from '../scenario/scenario.ts';
import type { UnitCounter } from '../scenario/unit.ts';
import {
  SECTION,
  sections,
  parseSlabinfo,
  unitsCounted,
  COUNTERS_SCRIPT,
  leastOfShrunkReads,
  footprint,
  settleLoop,
  MEMINFO_SCRIPT,
  parseMeminfo,
  type Sample,
  type CacheCount,
} from './slab.ts';

const SLAB_DIR = '/sys/kernel/slab';

/** The command that dumps one survey sample (builtins only but `cd`, which is one too: under TCG a fork costs tens of ms). */
export function surveyScript(slabDir = SLAB_DIR): string {
  return [
    COUNTERS_SCRIPT,
    `echo '${SECTION} links'; for l in ${slabDir}/*; do [ -L "$l" ] && cd -P "$l" 2>/dev/null && echo "\${l##*/} \${PWD##*/}"; done; cd /`,
    // Shrunk and read first: /proc/slabinfo is then read right after the shrinks (its counts are the fallback without SLUB_DEBUG).
    `echo '${SECTION} slabs'; for d in ${slabDir}/*; do [ -L "$d" ] && continue; [ -d "$d" ] || continue; ${leastOfShrunkReads()}; [ -n "$o" ] && echo "\${d##*/} $o"; done`,
    `echo '${SECTION} slabinfo'; while read -r n a t s o p x; do echo "$n $a $t $s $o $p"; done < /proc/slabinfo`,
    MEMINFO_SCRIPT,
    ':',
  ].join('\n');
}

/** "name value" lines: each merged cache name and its slab (links), or each slab and its count (slabs). */
export function parseLinks(text: string): Map<string, string> {
  const links = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [name, target] = line.trim().split(/\s+/);
    if (name && target) links.set(name, target);
  }
  return links;
}

/** Parses the output of surveyScript: one count per slab, keyed by the name /proc/slabinfo gives it. */
export function parseSurvey(text: string, counting: Family | UnitCounter): Sample {
  const s = sections(text);
  const links = parseLinks(s.get('links') ?? '');
  const slabs = parseLinks(s.get('slabs') ?? '');
  const rows = parseSlabinfo(s.get('slabinfo') ?? '');
  if (rows.size === 0) throw new Error('no caches in /proc/slabinfo');
  const caches: Record<string, CacheCount> = {};
  for (const row of rows.values()) {
    const slab = links.get(row.name);
    const counted = Number(slabs.get(slab ?? row.name));
    const count: CacheCount = {
      name: row.name,
      objects: Number.isFinite(counted) ? counted : row.activeObjs,
      bytesPerObject: footprint(row.pagesPerSlab, row.objPerSlab),
    };
    if (slab) {
      count.mergedInto = slab;
      count.sharedWith = [...links]
        .filter(([n, t]) => t === slab && n !== row.name)
        .map(([n]) => n)
        .sort();
    }
    caches[row.name] = count;
  }
  return { units: unitsCounted(s, counting), caches, ...parseMeminfo(s.get('meminfo')) };
}

/**
 * The wait after a route flush for a survey: like settleScript (slab.ts),
 * on the total of /proc/slabinfo's objects in use. One file per poll, not
 * two per cache: every open of a sysfs file allocates (and, on kernels with
 * LSMs, frees later), which would keep the counts it waits on moving.
 * Without a shrink, an object freed into a CPU's active slab does not show;
 * the sample that follows shrinks and counts exactly.
 */
export function surveySettleScript(maxSeconds: number, stablePolls = 2, slabinfo = '/proc/slabinfo'): string {
  return settleLoop({
    // Header lines have no number in the second field.
    read: ['  t=0', `  while read -r n a x; do case "$a" in ''|*[!0-9]*) ;; *) t=$((t + a)) ;; esac; done < ${slabinfo}`],
    keep: 'p=$t',
    fell: '[ "$t" -lt "$p" ]',
    maxSeconds,
    stablePolls,
  });
}
