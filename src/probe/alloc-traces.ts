// Owns reading SLUB's allocation tracking (a cache booted with
// slub_debug=U,<cache>): /sys/kernel/debug/slab/<cache>/alloc_traces lists
// the live objects grouped by allocating call stack, most first:
//       50 lookup_or_create_module_kobject+0x4d/0xe0 age=842/842/844 pid=1
//          kmalloc_trace+0x26/0x90
//          lookup_or_create_module_kobject+0x4d/0xe0
//          ...
//   (blank line)
// ("No data" when the cache has no objects). Two readings, before and after
// traffic, give per stack how many live objects the traffic added: where a
// leak's objects come from.

export interface AllocTrace {
  /** Live objects allocated from this stack. */
  count: number;
  /** The allocating function as the kernel prints it: name+offset/size. */
  caller: string;
  /** The call stack, innermost first (frames as name+offset/size). */
  stack: string[];
}

/** Parses one alloc_traces file. */
export function parseAllocTraces(text: string): AllocTrace[] {
  const traces: AllocTrace[] = [];
  for (const line of text.split('\n')) {
    const head = /^\s*(\d+) (\S+)/.exec(line);
    if (head && !line.startsWith('        ')) {
      traces.push({ count: Number(head[1]), caller: head[2], stack: [] });
    } else if (line.startsWith('        ') && traces.length > 0) {
      traces[traces.length - 1].stack.push(line.trim());
    }
  }
  return traces;
}

/** A stack's function names from its caller on, the allocator's own frames left out: "dst_alloc <- ip6_dst_alloc <- ...". */
export function stackText(t: AllocTrace, frames = 5): string {
  return callerFrames(t).slice(0, frames).join(' <- ');
}

export interface TraceGrowth {
  trace: AllocTrace;
  /** Live objects the stack gained between the two readings. */
  added: number;
}

/** Per stack, the live objects gained from `before` to `after`, most first; stacks that did not gain are left out. */
export function traceGrowth(before: AllocTrace[], after: AllocTrace[]): TraceGrowth[] {
  const key = (t: AllocTrace) => [t.caller, ...t.stack].join('|');
  const had = new Map<string, number>();
  for (const t of before) had.set(key(t), (had.get(key(t)) ?? 0) + t.count);
  return after
    .map((trace) => ({ trace, added: trace.count - (had.get(key(trace)) ?? 0) }))
    .filter((g) => g.added > 0)
    .sort((a, b) => b.added - a.added);
}

/** Frames of the slab allocator itself: a stack is shown from the first frame after them (its caller). */
const ALLOCATOR_FRAME =
  /^(kmem_cache_alloc|kmalloc|__kmalloc|kmalloc_trace|__kmem_cache_alloc|slab_alloc|__slab_alloc|___slab_alloc|kmalloc_node|kvmalloc|__kvmalloc)/;

/** Whether a function is the slab allocator's own (kmalloc, kmem_cache_alloc and their helpers). */
export function isAllocatorFrame(name: string): boolean {
  return ALLOCATOR_FRAME.test(name);
}

/** A trace's function names, the allocator's own frames left out: ["dst_alloc", "ip6_dst_alloc", ...]. */
export function callerFrames(t: AllocTrace): string[] {
  const names = t.stack.map(functionOf);
  const first = names.findIndex((n) => !ALLOCATOR_FRAME.test(n));
  return first === -1 ? [functionOf(t.caller)] : names.slice(first);
}

/** "ip6_dst_alloc+0x2a/0x90" -> "ip6_dst_alloc". */
export function functionOf(frame: string): string {
  return frame.replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+$/, '').replace(/^\[<[0-9a-f]+>\] /, '');
}

/**
 * The kernel command line with SLUB user tracking on for `caches` as well:
 * one more `;U,<cache>,...` block in the user's own slub_debug= (or
 * slab_debug=, the name since 6.8) when there is one, so what they asked for
 * still holds (blocks separated by ';' since 5.14); else `slub_debug=U,...`,
 * which every SLUB kernel reads. A bare `slub_debug` already tracks every
 * cache: left as it is.
 */
export function withAllocTracking(cmdline: string[], caches: string[]): string[] {
  const block = `U,${caches.join(',')}`;
  if (cmdline.some((w) => /^(slub|slab)_debug$/.test(w))) return cmdline;
  const i = cmdline.findIndex((w) => /^(slub|slab)_debug=/.test(w));
  if (i === -1) return [...cmdline, `slub_debug=${block}`];
  const eq = cmdline[i].indexOf('=');
  const [key, value] = [cmdline[i].slice(0, eq), cmdline[i].slice(eq + 1)];
  return cmdline.map((w, j) => (j !== i ? w : value === '' ? `${key}=${block}` : `${key}=${value};${block}`));
}

const SECTION = '#leaklab# alloc_traces';

/**
 * The guest command that dumps alloc_traces of `caches` (debugfs mounted
 * first). A cache without the file (no tracking, no debugfs) says why.
 */
export function allocTracesScript(caches: string[]): string {
  return [
    '[ -d /sys/kernel/debug/slab ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null',
    `for c in ${caches.join(' ')}; do`,
    `  echo "${SECTION} $c"`,
    '  f=/sys/kernel/debug/slab/$c/alloc_traces',
    '  if [ -r "$f" ]; then cat "$f"; elif [ -d /sys/kernel/debug/slab ]; then echo "#missing# no-tracking"; else echo "#missing# no-debugfs"; fi',
    'done',
  ].join('\n');
}

/** Why a cache's traces could not be read: its slab has no tracking (not booted with it, or merged), or the kernel has no debugfs slab directory. */
export type TracesMissing = 'no-tracking' | 'no-debugfs';

/** Parses what allocTracesScript printed: per cache its traces, or why there are none. */
export function parseAllocTracesDump(text: string): Record<string, AllocTrace[] | TracesMissing> {
  const out: Record<string, AllocTrace[] | TracesMissing> = {};
  for (const part of text.split(`${SECTION} `).slice(1)) {
    const nl = part.indexOf('\n');
    const cache = (nl === -1 ? part : part.slice(0, nl)).trim();
    const body = nl === -1 ? '' : part.slice(nl + 1);
    const missing = /^#missing# (no-tracking|no-debugfs)$/m.exec(body);
    out[cache] = missing ? (missing[1] as TracesMissing) : parseAllocTraces(body);
  }
  return out;
}
