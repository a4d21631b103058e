// Owns measuring inside the guest: one shell command that dumps the kernel's
// counters (/proc/slabinfo, /sys/kernel/slab for merged caches, the packet
// counters of /proc/net/snmp6 and /proc/net/snmp), and the parsers that turn
// that dump into a Sample. Packets are counted by the kernel, not assumed.
import type { Family } from '../scenario/scenario.ts';
import { ITERATIONS_FILE, type UnitCounter } from '../scenario/unit.ts';
import { closestNames } from '../util/closest.ts';

export interface SlabinfoRow {
  name: string;
  activeObjs: number;
  numObjs: number;
  objSize: number;
  objPerSlab: number;
  pagesPerSlab: number;
}

export interface CacheCount {
  name: string;
  /** Objects in use in the slab the cache lives in. */
  objects: number;
  /** Set when SLUB merged the cache into a shared slab (e.g. ":A-0000256"). */
  mergedInto?: string;
  /** Other cache names counted in the same slab. */
  sharedWith?: string[];
  /** Bytes of memory one object takes, its share of the slab's pages included (for projections). */
  bytesPerObject?: number;
}

export interface Sample {
  units: number;
  caches: Record<string, CacheCount>;
  /** SUnreclaim of /proc/meminfo (kB): the kernel's total of unreclaimable slab (every survey sample; the first of a boot otherwise). */
  sunreclaimKb?: number;
  /** MemTotal of /proc/meminfo (kB): the memory a leak would exhaust (same samples). */
  memTotalKb?: number;
}

export const SECTION = '#leaklab#';

/**
 * A watch: entry is a cache name, or alternatives "a|b" for a cache that
 * kernels name differently (IPv4's dst cache: ip_dst_cache up to 6.1,
 * rtable in 6.12): counted under the entry, from the first the kernel has.
 */
export function alternativesOf(entry: string): string[] {
  return entry.split('|');
}

/** Every cache name a watch list may read. */
function readNames(watch: string[]): string[] {
  return [...new Set(watch.flatMap(alternativesOf))];
}

/** The lines of /proc/meminfo the parsers read. */
export const MEMINFO_SCRIPT = `echo '${SECTION} meminfo'; while read -r k v x; do case "$k" in MemTotal:|SUnreclaim:) echo "$k $v";; esac; done < /proc/meminfo`;

/** MemTotal and SUnreclaim (kB), when the sample has them. */
export function parseMeminfo(text: string | undefined): Pick<Sample, 'memTotalKb' | 'sunreclaimKb'> {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}: (\\d+)`, 'm').exec(text ?? '');
    return m ? Number(m[1]) : undefined;
  };
  return { memTotalKb: kb('MemTotal'), sunreclaimKb: kb('SUnreclaim') };
}

/**
 * The command that dumps one sample. `listAliases` also names the other
 * caches folded into a merged slab (a loop over /sys/kernel/slab, slow
 * under TCG, so done once per run).
 */
export function sampleScript(watch: string[], listAliases = false): string {
  // Few forks (tens of ms each under TCG): builtins for the small sysfs files, grep for the long /proc ones (dash reads those a byte per system call).
  const names = readNames(watch).join(' ');
  // Cache names are [A-Za-z0-9_.:-] (the scenario schema checks), so none needs quoting in the pattern but the dot.
  const rows = readNames(watch)
    .map((w) => w.replace(/\./g, '\\.'))
    .join('|');
  const aliasLoop = listAliases
    ? `    for l in /sys/kernel/slab/*; do [ -L "$l" ] || continue; r=$(readlink "$l"); [ "\${r##*/}" = "$t" ] && [ "\${l##*/}" != "$c" ] && echo "alias \${l##*/}"; done`
    : '';
  return [
    // SLUB counts free objects still held in per-CPU slabs as active; shrinking
    // the watched caches first hands those back, so the count is objects in use.
    `for c in ${names}; do [ -w /sys/kernel/slab/$c/shrink ] && echo 1 > /sys/kernel/slab/$c/shrink; done 2>/dev/null`,
    // Only the lines the parsers read: every byte crosses an emulated serial port.
    COUNTERS_SCRIPT,
    // grep rather than a loop of reads for the same reason as the counters (~50 ms a sample under TCG).
    `echo '${SECTION} slabinfo'; grep -E '^(slabinfo|# name|${rows}) ' /proc/slabinfo || :`,
    listAliases ? MEMINFO_SCRIPT : '',
    // Once per boot: every cache name, so a name under watch: the kernel lacks can be answered with the closest ones.
    listAliases ? `echo '${SECTION} names'; for l in /sys/kernel/slab/*; do echo "\${l##*/}"; done` : '',
    `for c in ${names}; do`,
    `  echo "${SECTION} sysfs $c"`,
    `  d=/sys/kernel/slab/$c`,
    `  if [ -L "$d" ]; then`,
    `    t=$(readlink "$d"); t=\${t##*/}; echo "link $t"; ${leastOfShrunkReads()}; echo "objects $o"`,
    aliasLoop,
    // Once per boot too: the slab's order and objects per slab give each object's footprint (projections).
    listAliases ? `  [ -r "$d/order" ] && read -r so < "$d/order" && read -r sp < "$d/objs_per_slab" && echo "footprint $so $sp"` : '',
    `  elif [ -d "$d" ]; then ${leastOfShrunkReads()}; echo "objects $o"; else echo missing; fi`,
    `done`,
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * The objects in use of the cache in $d, as the least of three reads each
 * after a shrink. SLUB counts every free object of a CPU's active slab as
 * in use; an allocation between the shrink and the read (a softirq, a
 * timer) activates a new slab and the count jumps by its free objects
 * (seen under TCG: +10 in one sample, gone in the next). Such a jump only
 * ever adds, so the least of the reads is the count.
 * The files are opened before the shrink: opening a sysfs file allocates
 * (kmalloc-192, seq_file, ...), and an allocation after the shrink would
 * activate a slab of that very cache for its own read (seen: kmalloc-192
 * +21 after every burst, back in the next phase, a false LEAK in a survey).
 * What is left after the shrink is the read buffer (kmalloc-4k) and the
 * count's own scratch array (kmalloc-8): those two stay noisier.
 */
export function leastOfShrunkReads(): string {
  // r is emptied first: a failed read must not leave the previous cache's count behind (o stays empty: no objects line is used).
  // Tested before exec: a redirection that fails on exec ends a non-interactive shell (a read-only /sys in a container).
  const one =
    'r=; if [ -r "$d/objects" ]; then if [ -w "$d/shrink" ]; then exec 4< "$d/objects" 5> "$d/shrink"; echo 1 >&5; else exec 4< "$d/objects"; fi; read -r r x <&4; exec 4<&- 5>&-; fi 2>/dev/null';
  return `${one}; o=$r; for k in 2 3; do ${one}; if [ -n "$r" ] && { [ -z "$o" ] || [ "$r" -lt "$o" ]; }; then o=$r; fi; done`;
}

export function parseSlabinfo(text: string): Map<string, SlabinfoRow> {
  const rows = new Map<string, SlabinfoRow>();
  for (const line of text.split('\n')) {
    if (line.startsWith('slabinfo') || line.startsWith('#') || !line.trim()) continue;
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    rows.set(f[0], {
      name: f[0],
      activeObjs: Number(f[1]),
      numObjs: Number(f[2]),
      objSize: Number(f[3]),
      objPerSlab: Number(f[4] ?? 0),
      pagesPerSlab: Number(f[5] ?? 0),
    });
  }
  return rows;
}

/** A counter of /proc/net/snmp6 text ("Ip6InReceives 123" lines). */
export function parseSnmp6Counter(text: string, name: string): number {
  const m = new RegExp(`^${name}\\s+(\\d+)`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in /proc/net/snmp6 (is IPv6 enabled?)`);
  return Number(m[1]);
}

/** A counter of /proc/net/snmp text: its group ("Ip", "Tcp") has a header line, then a value line. */
export function parseSnmpCounter(text: string, group: string, name: string): number {
  const lines = text.split('\n').filter((l) => l.startsWith(`${group}:`));
  if (lines.length < 2) throw new Error(`no ${group}: lines in /proc/net/snmp`);
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  const i = names.indexOf(name);
  if (i < 0) throw new Error(`no ${group} ${name} in /proc/net/snmp`);
  return Number(values[i]);
}

/** Ip6InReceives from /proc/net/snmp6 text. */
export function parseSnmp6InReceives(text: string): number {
  return parseSnmp6Counter(text, 'Ip6InReceives');
}

/** Ip InReceives from /proc/net/snmp text. */
export function parseSnmpInReceives(text: string): number {
  return parseSnmpCounter(text, 'Ip', 'InReceives');
}

/**
 * The lines of the counters every unit needs (snmp6, snmp, leaklab's
 * iteration count). grep, not a `while read` loop: dash reads a file a byte
 * per system call, and under TCG the loop over these 5 kB cost ~50 ms per
 * sample against ~20 ms for the two forks (measured on v6.1).
 */
export const COUNTERS_SCRIPT = [
  `echo '${SECTION} snmp6'; [ ! -r /proc/net/snmp6 ] || grep -E '^(Ip6InReceives|Ip6OutForwDatagrams)[[:space:]]' /proc/net/snmp6 || :`,
  `echo '${SECTION} snmp'; grep -E '^(Ip|Tcp):' /proc/net/snmp || :`,
  `echo '${SECTION} iterations'; n=0; [ -r ${ITERATIONS_FILE} ] && read -r n < ${ITERATIONS_FILE}; echo "$n"`,
].join('\n');

/** The units of work done so far, from the counter the scenario's unit is counted by (a bare family: packets received). */
export function unitsCounted(s: Map<string, string>, counting: Family | UnitCounter): number {
  const c: UnitCounter = typeof counting === 'string' ? { kind: 'packet', family: counting, from: 'guest' } : counting;
  const v6 = c.family === 'ipv6';
  switch (c.kind) {
    case 'packet':
      return v6 ? parseSnmp6InReceives(s.get('snmp6') ?? '') : parseSnmpInReceives(s.get('snmp') ?? '');
    case 'forwarded':
      return v6 ? parseSnmp6Counter(s.get('snmp6') ?? '', 'Ip6OutForwDatagrams') : parseSnmpCounter(s.get('snmp') ?? '', 'Ip', 'ForwDatagrams');
    case 'connection':
      return parseSnmpCounter(s.get('snmp') ?? '', 'Tcp', c.from === 'guest' ? 'ActiveOpens' : 'PassiveOpens');
    case 'iteration':
      return Number((s.get('iterations') ?? '0').trim()) || 0;
  }
}

/** The dump cut at its "#leaklab# NAME" lines: NAME -> the lines under it. */
export function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let current = '';
  for (const line of text.split('\n')) {
    if (line.startsWith(SECTION)) {
      current = line.slice(SECTION.length).trim();
      out.set(current, '');
    } else if (current) {
      out.set(current, out.get(current) + line + '\n');
    }
  }
  return out;
}

export class MissingCacheError extends Error {}

/** Bytes of memory one object takes, its share of the slab's pages included; undefined when the kernel did not say. */
export function footprint(pagesPerSlab: number, objPerSlab: number, pageSize = 4096): number | undefined {
  return objPerSlab > 0 && pagesPerSlab > 0 ? (pagesPerSlab * pageSize) / objPerSlab : undefined;
}

/** Parses the output of sampleScript. */
export function parseSample(text: string, watch: string[], counting: Family | UnitCounter): Sample {
  const s = sections(text);
  const slabinfo = parseSlabinfo(s.get('slabinfo') ?? '');
  const caches: Record<string, CacheCount> = {};
  for (const entry of watch) {
    const name = alternativesOf(entry).find((n) => /^objects /m.test(s.get(`sysfs ${n}`) ?? '') || slabinfo.has(n)) ?? entry;
    const sysfs = s.get(`sysfs ${name}`) ?? '';
    const objects = /^objects (\d+)/m.exec(sysfs);
    const link = /^link (\S+)/m.exec(sysfs);
    const row = slabinfo.get(name);
    const size = /^footprint (\d+) (\d+)/m.exec(sysfs);
    const bytesPerObject = size ? footprint(2 ** Number(size[1]), Number(size[2])) : row ? footprint(row.pagesPerSlab, row.objPerSlab) : undefined;
    if (link && objects) {
      // Merged: /proc/slabinfo lists the shared slab under another name.
      const sharedWith = [...sysfs.matchAll(/^alias (\S+)/gm)]
        .map((m) => m[1])
        .filter((n) => n !== name)
        .sort();
      caches[entry] = { name, objects: Number(objects[1]), mergedInto: link[1], sharedWith, bytesPerObject };
    } else if (objects) {
      // The least of three shrunk reads (sampleScript); /proc/slabinfo's count is one read.
      caches[entry] = { name, objects: Number(objects[1]), bytesPerObject };
    } else if (row) {
      caches[entry] = { name, objects: row.activeObjs, bytesPerObject };
    } else {
      const known = [...(s.get('names') ?? '').split('\n').filter(Boolean), ...slabinfo.keys()];
      const names = alternativesOf(entry);
      const closest = [...new Set(names.flatMap((n) => closestNames(n, known)))];
      throw new MissingCacheError(
        `slab cache ${names.length > 1 ? `${names.join(' or ')} (any of them)` : name} does not exist in this kernel (not in /proc/slabinfo nor /sys/kernel/slab)${closest.length ? `; closest: ${closest.join(', ')}` : ''}`,
      );
    }
  }
  return { units: unitsCounted(s, counting), caches, ...parseMeminfo(s.get('meminfo')) };
}

/**
 * The wait after a route flush: polls every watched cache every 0.05 s and
 * ends once no count has fallen for `stablePolls` polls in a row (what the
 * flush released has been freed), or after `maxSeconds` (a deadline on the
 * kernel's uptime, so slow polls under TCG do not stretch it). Measured
 * under TCG, the objects a flush releases are gone by the first poll; a
 * count that keeps falling (e.g. host churn in a container) waits longer.
 * Builtins only: no fork per poll. `slabDir` is for tests.
 */
export function settleScript(caches: string[], maxSeconds: number, stablePolls = 2, slabDir = '/sys/kernel/slab'): string {
  const names = readNames(caches);
  const read = names.map((c, i) => {
    const d = `${slabDir}/${c}`;
    // `|| :` everywhere: this runs under set -e, and a read-only /sys (containers) must not end the phase.
    return `  { echo 1 > ${d}/shrink; } 2>/dev/null || :; o${i}=0; [ -r ${d}/objects ] && read -r o${i} x < ${d}/objects || :`;
  });
  return settleLoop({
    read: [...read, '  :'],
    keep: names.map((_, i) => `p${i}=$o${i}`).join('; '),
    fell: names.map((_, i) => `[ "$o${i}" -lt "$p${i}" ]`).join(' || '),
    maxSeconds,
    stablePolls,
  });
}

/**
 * The polling loop of a settle script: `read` (the body of leaklab_read)
 * takes the counts, `keep` saves them before the next read, `fell` is the
 * test that some count fell; the loop ends after `stablePolls` polls in a
 * row without a fall, or `maxSeconds` of the kernel's uptime.
 */
export function settleLoop(o: { read: string[]; keep: string; fell: string; maxSeconds: number; stablePolls: number }): string {
  return [
    'leaklab_read() {',
    ...o.read,
    '}',
    // Uptime in centiseconds with builtins only ("123.45 ..." -> 12345).
    'leaklab_now() { read -r u x < /proc/uptime; now=${u%.*}${u#*.}; }',
    `leaklab_now; end=$((now + ${Math.round(o.maxSeconds * 100)})); stable=0`,
    'leaklab_read',
    'while :; do',
    '  leaklab_now',
    `  [ $stable -lt ${o.stablePolls} ] && [ $now -lt $end ] || break`,
    '  sleep 0.05',
    `  ${o.keep}`,
    '  leaklab_read',
    `  if ${o.fell}; then stable=0; else stable=$((stable + 1)); fi`,
    'done',
  ].join('\n');
}

/** Flushes the routing caches of both families: cached routes are what a leak must survive. */
// IPv4's flush written as `ip -4 route flush cache` writes it (to the same file), without the ~45 ms a fork of ip costs under TCG.
export const FLUSH_SCRIPT = [
  '[ ! -e /proc/sys/net/ipv6/route/flush ] || echo 1 > /proc/sys/net/ipv6/route/flush',
  '[ ! -e /proc/sys/net/ipv4/route/flush ] || echo 1 > /proc/sys/net/ipv4/route/flush',
].join('\n');
