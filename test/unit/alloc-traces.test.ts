// SLUB's allocation tracking (src/probe/alloc-traces.ts) on a file recorded
// from a real guest: debian-6.1-cloud booted with
// slub_debug=U,ip6_dst_cache,kmalloc-96, /sys/kernel/debug/slab/kmalloc-96/alloc_traces.
import test from 'ava';
import { parseAllocTraces, stackText, traceGrowth, withAllocTracking, parseAllocTracesDump, allocTracesScript } from '../../src/probe/alloc-traces.ts';
import { fixture } from '../helpers/fixtures.ts';

const recorded = fixture('attribution/alloc_traces-debian-6.1-cloud-kmalloc-96.txt');

test('alloc_traces: one entry per stack with its live objects, the caller and the frames, most first', (t) => {
  const traces = parseAllocTraces(recorded);
  t.true(traces.length > 20, `${traces.length}`);
  t.deepEqual(traces[0], {
    count: 50,
    caller: 'lookup_or_create_module_kobject+0x4d/0xe0',
    stack: [
      'kmalloc_trace+0x26/0x90',
      'lookup_or_create_module_kobject+0x4d/0xe0',
      'param_sysfs_init+0x160/0x1ed',
      'do_one_initcall+0x59/0x220',
      'kernel_init_freeable+0x21e/0x27a',
      'kernel_init+0x16/0x130',
      'ret_from_fork+0x22/0x30',
    ],
  });
  const task = traces.find((x) => x.caller.startsWith('security_task_alloc+'))!;
  t.is(stackText(task, 3), 'security_task_alloc <- copy_process <- kernel_clone');
  t.true(traces.every((x, i) => i === 0 || x.count <= traces[i - 1].count));
  t.deepEqual(parseAllocTraces('No data\n'), []);
});

test('growth per stack between two readings: only stacks that gained, most first', (t) => {
  const before = parseAllocTraces(recorded);
  const task = before.findIndex((x) => x.caller.startsWith('security_task_alloc+'));
  // The same caller from another stack is another entry: only this one grows.
  const after = before.map((x, i) => (i === task ? { ...x, count: x.count + 500 } : x));
  after.push({ count: 3, caller: 'dst_alloc+0x5b/0x1a0', stack: ['kmem_cache_alloc+0x1/0x2', 'dst_alloc+0x5b/0x1a0', 'ip6_dst_alloc+0x2b/0x60'] });
  const growth = traceGrowth(before, after);
  t.deepEqual(
    growth.map((g) => [g.trace.caller.split('+')[0], g.added]),
    [
      ['security_task_alloc', 500],
      ['dst_alloc', 3],
    ],
  );
  t.is(stackText(growth[1].trace), 'dst_alloc <- ip6_dst_alloc');
});

test("tracking on the command line: a slub_debug= of its own, or one more block in the user's (slab_debug= too), never a second parameter", (t) => {
  t.deepEqual(withAllocTracking(['slab_nomerge'], ['ip6_dst_cache', 'filp']), ['slab_nomerge', 'slub_debug=U,ip6_dst_cache,filp']);
  t.deepEqual(withAllocTracking(['slub_debug=FZ', 'quiet'], ['kmalloc-64']), ['slub_debug=FZ;U,kmalloc-64', 'quiet']);
  t.deepEqual(withAllocTracking(['slab_debug=P,kmalloc-96'], ['kmalloc-64']), ['slab_debug=P,kmalloc-96;U,kmalloc-64']);
  t.deepEqual(withAllocTracking(['slub_debug='], ['kmalloc-64']), ['slub_debug=U,kmalloc-64']);
  // A bare slub_debug turns every debug option on for every cache: tracking included.
  t.deepEqual(withAllocTracking(['slub_debug'], ['kmalloc-64']), ['slub_debug']);
});

test('the alloc_traces dump: per cache its traces, or why there are none', (t) => {
  t.regex(allocTracesScript(['kmalloc-96', 'ip6_dst_cache']), /for c in kmalloc-96 ip6_dst_cache; do/);
  const dump = [
    '#leaklab# alloc_traces kmalloc-96',
    recorded.trimEnd(),
    '#leaklab# alloc_traces ip6_dst_cache',
    'No data',
    '#leaklab# alloc_traces filp',
    '#missing# no-tracking',
    '#leaklab# alloc_traces maple_node',
    '#missing# no-debugfs',
    '',
  ].join('\n');
  const r = parseAllocTracesDump(dump);
  t.deepEqual(Object.keys(r), ['kmalloc-96', 'ip6_dst_cache', 'filp', 'maple_node']);
  t.deepEqual(r['kmalloc-96'], parseAllocTraces(recorded));
  t.deepEqual(r.ip6_dst_cache, []);
  t.is(r.filp, 'no-tracking');
  t.is(r.maple_node, 'no-debugfs');
});
