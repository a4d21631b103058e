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

/** A stack's function names without offsets: "dst_alloc <- ip6_dst_alloc <- ..." (the allocator's own frames first). */
export function stackText(t: AllocTrace, frames = 5): string {
  return t.stack
    .slice(0, frames)
    .map((f) => f.replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+$/, ''))
    .join(' <- ');
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
