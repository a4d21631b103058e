// Attribution on data recorded from real guests (test/fixtures/attribution/):
// alloc_traces of the tracked cache before and after the attribution burst
// on v6.1-fix-reverted (ip6_dst_cache) and v6.1-kmalloc-leak (kmalloc-64,
// leaked in leaklab_calibration_leak), the head of kmemleak's report on
// both, and nm / addr2line output of the kmalloc-leak kernel's vmlinux.
import test from 'ava';
import { parseAllocTracesDump } from '../../src/probe/alloc-traces.ts';
import { execFileSync } from 'node:child_process';
import { parseKmemleak, KMEMLEAK_GROUPING_AWK } from '../../src/probe/kmemleak.ts';
import { parseSample } from '../../src/probe/slab.ts';
import { attribute, cachesToTrack, framesToPlace, kmemleakWitness } from '../../src/verdict/attribution.ts';
import { parseNm, frameAddress, outermostLines, sourceLine } from '../../src/kernel/symbolize.ts';
import { attributionLines } from '../../src/report/text.ts';
import type { CacheVerdict } from '../../src/verdict/verdict.ts';
import type { TraceReadings } from '../../src/measure/tracking.ts';
import { fixture, recordedMeasurement } from '../helpers/fixtures.ts';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/scenario.ts';
import { judge, leakingCaches } from '../../src/verdict/verdict.ts';
import { resultLine } from '../../src/report/text.ts';
import { runMarkdown, runHtml } from '../../src/report/run-report.ts';
import type { RunResult } from '../../src/run/result.ts';

const SOURCE_DIR = '/root/.cache/leaklab/sources/linux-source-6.1_6.1.192-3';

/** What the guest's report script prints for a recorded /sys/kernel/debug/kmemleak: its awk run on the file, here by Debian's awk. */
function kmemleakReport(kernel: string): string {
  const raw = fixture('attribution', kernel, 'kmemleak-head.txt');
  return '#leaklab# kmemleak report\n' + execFileSync('awk', [KMEMLEAK_GROUPING_AWK], { input: raw, encoding: 'utf8' });
}

function readings(kernel: string, cache: string): TraceReadings {
  const packets = (f: string) => parseSample(fixture('attribution', kernel, f), [cache], 'ipv6').units;
  return {
    before: parseAllocTracesDump(fixture('attribution', kernel, 'before-alloc_traces.txt')),
    after: parseAllocTracesDump(fixture('attribution', kernel, 'after-alloc_traces.txt')),
    packets: packets('after-sample.txt') - packets('before-sample.txt'),
  };
}

/** The verdict's leaking cache at a rate: attribution asks only its name, its slab's other caches and the rate. */
function leak(cache: string, rate: number, sharedWith?: string[]): CacheVerdict {
  const estimate = { rate, low: rate * 0.9, high: rate * 1.1, level: 0.95, packets: 2000, kept: 2000 * rate, trafficPhases: 4 };
  return { cache, verdict: 'leak', estimate, segments: [], noise: 0.5, drift: 0, objectsBefore: 0, objectsAfter: 0, objectsKept: 0, sharedWith, reason: '' };
}

test('the reverted fix: ip6_dst_cache objects come from dst_alloc <- ip6_dst_alloc, one per packet; nothing else grew', (t) => {
  const r = readings('v6.1-fix-reverted', 'ip6_dst_cache');
  t.true(r.packets >= 500 && r.packets <= 502, `${r.packets}`);
  const a = attribute([leak('ip6_dst_cache', 1)], r);
  t.deepEqual(a.notes, []);
  t.is(a.caches.length, 1);
  const [c] = a.caches;
  t.is(c.cache, 'ip6_dst_cache');
  t.is(c.stacks.length, 1, 'the stack of the boot-time routes did not grow');
  t.deepEqual(c.stacks[0].frames.slice(0, 4), ['dst_alloc', 'ip6_dst_alloc', 'ip6_create_rt_rcu', 'ip6_pol_route_lookup']);
  t.true(c.stacks[0].rate > 0.99 && c.stacks[0].rate <= 1.0, `${c.stacks[0].rate}`);
});

test('the kmalloc calibration kernel: kmalloc-64 objects come from the patched function, not from any other kmalloc-64 user', (t) => {
  const r = readings('v6.1-kmalloc-leak', 'kmalloc-64');
  const a = attribute([leak('kmalloc-64', 1)], r);
  t.is(a.caches[0].stacks.length, 1);
  t.deepEqual(a.caches[0].stacks[0].frames.slice(0, 2), ['leaklab_calibration_leak', 'icmpv6_rcv']);
  t.true(Math.abs(a.caches[0].stacks[0].rate - 1) < 0.01);
  // A slower leak asks less of a stack: still only stacks that gained at least 2 objects.
  const slow = attribute([leak('kmalloc-64', 0.001)], r);
  t.true(slow.caches[0].stacks.every((s) => s.added >= 2));
  // A stack must gain a tenth of what the leak's rate predicts: one object per packet is not a leak of 30.
  const tooFast = attribute([leak('kmalloc-64', 30)], r);
  t.deepEqual(tooFast.caches, []);
  t.regex(tooFast.notes[0], /^kmalloc-64: no allocation stack grew with the traffic in the attribution boot \(50\d packets\)$/);
});

test('a merged slab is tracked through every cache it holds; a cache without tracking says why', (t) => {
  t.deepEqual(cachesToTrack([leak('maple_node', 1, ['filp', 'ip6_dst_cache', 'pool_workqueue']), leak('kmalloc-64', 1)]), [
    'maple_node',
    'filp',
    'ip6_dst_cache',
    'pool_workqueue',
    'kmalloc-64',
  ]);
  t.deepEqual(cachesToTrack([leak(':A-0000256', 1, ['ip6_dst_cache', 'filp'])]), ['ip6_dst_cache', 'filp'], "a slab's own name is no cache to track");
  const r = readings('v6.1-fix-reverted', 'ip6_dst_cache');
  const merged = attribute([leak('maple_node', 1, ['ip6_dst_cache'])], r);
  t.is(merged.caches[0].cache, 'ip6_dst_cache');
  t.is(merged.caches[0].leak, 'maple_node');
  const none = attribute([leak('kmalloc-64', 1)], { before: { 'kmalloc-64': 'no-debugfs' }, after: { 'kmalloc-64': 'no-debugfs' }, packets: 500 });
  t.deepEqual(none.caches, []);
  t.regex(none.notes[0], /CONFIG_DEBUG_FS/);
  const untracked = attribute([leak('kmalloc-64', 1)], { before: { 'kmalloc-64': [] }, after: { 'kmalloc-64': 'no-tracking' }, packets: 500 });
  t.deepEqual(untracked.notes, ['kmalloc-64: the kernel did not track its allocations (slub_debug=U refused, or the cache was merged anyway)']);
  t.is(attribute([leak('ip6_dst_cache', 1)], { ...r, packets: 0 }).caches[0]?.stacks[0]?.rate ?? 0, 0, 'no packets: no rate');
});

test("frames to file:line: nm places the symbol (static duplicates only by size), addr2line's outermost line is the frame's own function", (t) => {
  const symbols = parseNm(fixture('attribution/v6.1-kmalloc-leak/nm.txt'));
  const recorded = fixture('attribution/v6.1-kmalloc-leak/addr2line.txt');
  const asked = recorded.split('\n').filter((l) => l.startsWith('0x'));
  const frames = ['leaklab_calibration_leak+0x16/0x17', 'icmpv6_rcv+0x24c/0x30e', 'ip6_protocol_deliver_rcu+0xaf/0x302', 'ip6_input_finish+0x47/0x4c'];
  t.deepEqual(
    frames.map((f) => '0x' + frameAddress(symbols, f)!.toString(16)),
    asked,
  );
  t.is(frameAddress(symbols, 'BIT_initDStream+0x10/0xfa'), undefined, 'three static functions of that name and size');
  t.is(frameAddress(symbols, 'no_such_function+0x1/0x2'), undefined);
  t.deepEqual(
    outermostLines(recorded).map((l) => sourceLine(l, SOURCE_DIR)),
    ['net/ipv6/icmp.c:893', 'net/ipv6/icmp.c:966', 'net/ipv6/ip6_input.c:438', 'net/ipv6/ip6_input.c:483'],
  );
  t.is(sourceLine('??:0', SOURCE_DIR), undefined);
  // Built in an object directory inside its tree: from there, also when ccache served the object from another tree.
  t.is(sourceLine('/c/trees/h/src/.leaklab-objdir-0a1b/../net/ipv6/route.c:345 (discriminator 1)', SOURCE_DIR), 'net/ipv6/route.c:345');
  t.is(sourceLine('/elsewhere/x.c:3 (discriminator 1)', SOURCE_DIR), '/elsewhere/x.c:3');
  const r = readings('v6.1-kmalloc-leak', 'kmalloc-64');
  const toPlace = framesToPlace(r);
  t.true(toPlace.includes('leaklab_calibration_leak+0x16/0x17'));
  t.false(
    toPlace.some((f) => f.startsWith('kmalloc_trace+')),
    "the allocator's own frames are not placed",
  );
  t.false(toPlace.includes('__netif_receive_skb_one_core+0x3e/0x44'), 'only the first 4 frames from the caller');
  const everywhere = new Map(toPlace.map((f) => [f, 'x.c:1']));
  t.is(attribute([leak('kmalloc-64', 1)], r, everywhere).caches[0].stacks[0].lines.length, 4);
  const lines = new Map([['leaklab_calibration_leak+0x16/0x17', 'net/ipv6/icmp.c:893']]);
  t.deepEqual(attribute([leak('kmalloc-64', 1)], r, lines).caches[0].stacks[0].lines, [{ frame: 'leaklab_calibration_leak', at: 'net/ipv6/icmp.c:893' }]);
});

test("kmemleak's report grouped by size and backtrace; it agrees when it names attribution's function, and says so when it does not", (t) => {
  const raw = fixture('attribution/v6.1-kmalloc-leak/kmemleak-head.txt');
  const report = parseKmemleak(kmemleakReport('v6.1-kmalloc-leak'))!;
  t.is(report.objects, (raw.match(/^unreferenced object/gm) ?? []).length);
  t.true(report.objects >= 18, `${report.objects}`);
  t.is(report.groups.length, 1, 'complete objects, one backtrace');
  t.is(report.groups[0].size, 64);
  t.deepEqual(report.groups[0].frames.slice(0, 3), ['__kmem_cache_alloc_node', 'kmalloc_trace', 'leaklab_calibration_leak']);
  t.is(parseKmemleak('#leaklab# kmemleak off\n'), undefined);

  const found = attribute([leak('kmalloc-64', 1)], readings('v6.1-kmalloc-leak', 'kmalloc-64')).caches;
  const w = kmemleakWitness(report, found);
  t.true(w.agrees);
  t.regex(w.says, /^agrees: \d+ unreferenced objects allocated in leaklab_calibration_leak$/);
  const dst = attribute([leak('ip6_dst_cache', 1)], readings('v6.1-fix-reverted', 'ip6_dst_cache')).caches;
  const other = kmemleakWitness(report, dst);
  t.false(other.agrees);
  t.is(other.says, `disagrees: its ${report.objects} unreferenced objects come from elsewhere (leaklab_calibration_leak); the slab counts decide`);
  t.false(kmemleakWitness(report, []).agrees, 'no stack found: nothing to agree with');
  t.regex(kmemleakWitness({ objects: 0, groups: [] }, dst).says, /^no unreferenced object: .*the slab counts decide$/);
  const reverted = parseKmemleak(kmemleakReport('v6.1-fix-reverted'))!;
  t.true(kmemleakWitness(reverted, dst).agrees);

  const lines = attributionLines({ packets: 500, tracked: ['kmalloc-64'], caches: found, kmemleak: w, notes: ['a note'] });
  t.regex(lines[0], /^allocated at: kmalloc-64 1\.0+\/packet {2}leaklab_calibration_leak <- icmpv6_rcv <- /);
  t.regex(lines[1], /^kmemleak: agrees/);
  t.is(lines[2], 'attribution: a note');
});

test('a result carries its attribution into the text line, report.md and report.html (the verdict judged on a recorded survey)', async (t) => {
  const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
  const survey: Scenario = { ...seed, watch: [], survey: true };
  const samples = recordedMeasurement('survey-v6.1-kmalloc-leak', survey);
  const verdict = judge(survey, samples);
  const r = readings('v6.1-kmalloc-leak', 'kmalloc-64');
  const found = attribute(leakingCaches(verdict), r);
  const report = parseKmemleak(kmemleakReport('v6.1-kmalloc-leak'))!;
  const attribution = {
    packets: r.packets,
    tracked: cachesToTrack(leakingCaches(verdict)),
    caches: found.caches,
    kmemleak: kmemleakWitness(report, found.caches),
    notes: found.notes,
  };
  const info = {
    scenario: 'survey',
    scenarioFile: '/x',
    kernel: 'v6.1-kmalloc-leak',
    backend: 'qemu',
    runDir: '/r',
    troubles: [],
    seconds: { prepare: 0, boot: 0, measure: 0, total: 0 },
  };
  const result: RunResult = { ...info, verdict, samples, attribution };
  t.deepEqual(attribution.tracked, ['kmalloc-64']);
  t.regex(resultLine(result), /\n +allocated at: kmalloc-64 1\.0\d*\/packet {2}leaklab_calibration_leak <- icmpv6_rcv/);
  t.regex(resultLine(result), /\n +kmemleak: agrees: \d+ unreferenced objects allocated in leaklab_calibration_leak/);
  t.regex(runMarkdown([result]), /- allocated at: kmalloc-64 1\.0\d*\/packet {2}leaklab_calibration_leak/);
  t.regex(runHtml([result]), /<li>allocated at: kmalloc-64 1\.0\d*\/packet {2}leaklab_calibration_leak &lt;- icmpv6_rcv/);
  // Without attribution, a watched (not surveyed) result has no details section at all.
  const watched: Scenario = { ...seed };
  const plain: RunResult = {
    ...info,
    verdict: { ...judge(watched, recordedMeasurement('survey-v6.1', survey, ['ip6_dst_cache'])), survey: false, projection: undefined },
    samples,
  };
  t.notRegex(runMarkdown([plain]), /allocated at/);
});
