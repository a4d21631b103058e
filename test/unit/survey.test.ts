// The survey (watch: all; src/probe/survey.ts and the verdict over every
// cache) on runs recorded from real guests with the seed's traffic:
//   survey-v6.1                 the fixed kernel: nothing grows
//   survey-v6.1-fix-reverted    ip6_dst_cache, 1 object per packet
//   survey-v6.1-kmalloc-leak    a calibration kernel leaking 1 kmalloc-64 buffer per echo reply
//   survey-merged-*             without slab_nomerge: caches folded into shared slabs
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { judge, leakingCaches, meetsExpectation, testLevel } from '../../src/verdict/verdict.ts';
import { parseSurvey, parseLinks, surveySettleScript, surveyScript } from '../../src/probe/survey.ts';
import { sections } from '../../src/probe/slab.ts';
import { execFileSync } from 'node:child_process';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/scenario.ts';
import { resultLine } from '../../src/report/text.ts';
import type { RunResult } from '../../src/run/result.ts';
import { recordedMeasurement, recordedPhases } from '../helpers/fixtures.ts';

const seed = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
const survey: Scenario = { ...seed, watch: [], survey: true };

function result(run: string, s = survey): RunResult {
  const samples = recordedMeasurement(run, s);
  const info = {
    scenario: 'survey',
    scenarioFile: '/x',
    kernel: run,
    backend: 'qemu',
    runDir: '/r',
    troubles: [],
    seconds: { prepare: 0, boot: 0, measure: 0, total: 0 },
  };
  return { ...info, verdict: judge(s, samples), samples };
}

test('a survey sample counts every slab, keyed by the name /proc/slabinfo gives it, with its footprint and the kernel totals', (t) => {
  const text = recordedPhases('survey-v6.1-fix-reverted')[0].text;
  const s = parseSurvey(text, 'ipv6');
  t.true(Object.keys(s.caches).length > 100, `${Object.keys(s.caches).length}`);
  const dst = s.caches.ip6_dst_cache;
  t.is(dst.mergedInto, undefined, 'slab_nomerge: every cache has its own slab');
  t.is(dst.bytesPerObject, 256, '16 objects on one 4 KiB page');
  t.true(s.caches['kmalloc-64'].objects > 0);
  t.true(s.memTotalKb! > 400 * 1024 && s.memTotalKb! < 512 * 1024, `${s.memTotalKb}`);
  t.true(s.sunreclaimKb! > 0);
  t.true(s.units > 0);
});

test('the fixed kernel: no cache grows; "no leak" gives the detection limit of the noisiest cache', (t) => {
  const r = result('survey-v6.1');
  const v = r.verdict!;
  t.is(v.verdict, 'no-leak');
  t.true(v.survey);
  t.is(leakingCaches(v).length, 0);
  t.is(v.deciding.estimate.high, Math.max(...v.caches.map((c) => c.estimate.high)), 'the largest upper end of all');
  t.true(v.deciding.estimate.high < 0.02, `${v.deciding.estimate.high}`);
  t.regex(resultLine(r), new RegExp(`no leak   all ${v.caches.length} caches \\(noisiest: ${v.deciding.cache}\\)  < 0\\.0\\d+ obj/packet at 95 %`));
  t.regex(resultLine(r), /survey: \d+ caches, 0 leaking; SUnreclaim/);
});

test('the leaking kernel: ip6_dst_cache first, at 1 object per packet, and no other cache', (t) => {
  const r = result('survey-v6.1-fix-reverted');
  const v = r.verdict!;
  t.is(v.verdict, 'leak');
  t.deepEqual(
    leakingCaches(v).map((c) => c.cache),
    ['ip6_dst_cache'],
  );
  t.true(Math.abs(v.deciding.estimate.rate - 1) < 0.1, `${v.deciding.estimate.rate}`);
  t.regex(resultLine(r), /LEAK {6}ip6_dst_cache {2}\+1\.00 obj\/packet/);
  t.regex(resultLine(r), /survey: \d+ caches, 1 leaking/);
});

test('a leak in a general-purpose cache is found there (calibration kernel: one kmalloc-64 buffer per echo reply)', (t) => {
  const v = result('survey-v6.1-kmalloc-leak').verdict!;
  t.deepEqual(
    leakingCaches(v).map((c) => c.cache),
    ['kmalloc-64'],
  );
  t.true(Math.abs(v.deciding.estimate.rate - 1) < 0.1, `${v.deciding.estimate.rate}`);
  t.true(meetsExpectation(v, { verdict: 'leak', cache: 'kmalloc-64', minPerUnit: 0.9 }).ok);
  const wrong = meetsExpectation(v, { verdict: 'leak', cache: 'ip6_dst_cache' });
  t.false(wrong.ok);
  t.is(wrong.why, 'expected the leak in ip6_dst_cache, found it in kmalloc-64');
});

test('every cache surveyed is a test: the confidence is shared by all of them', (t) => {
  const m = recordedMeasurement('survey-v6.1', survey);
  const caches = Object.keys(m.phases[0].sample.caches).length;
  t.is(testLevel(survey, m), 1 - 0.05 / caches);
});

test('without slab_nomerge a leak is named by the slab slabtop shows, with every cache sharing it', (t) => {
  const v = result('survey-merged-v6.1-fix-reverted').verdict!;
  t.is(v.verdict, 'leak');
  const [leak] = leakingCaches(v);
  t.true(leak.sharedWith!.includes('ip6_dst_cache') || leak.cache === 'ip6_dst_cache', JSON.stringify(leak));
  t.is(leak.cache, 'maple_node', 'the name /proc/slabinfo gives the slab on this kernel');
  t.is(leak.mergedInto, ':0000256');
  t.deepEqual(leak.sharedWith, ['filp', 'ip6_dst_cache', 'pool_workqueue'], 'every other name of the slab, sorted');
  t.true(meetsExpectation(v, { verdict: 'leak', cache: 'ip6_dst_cache', minPerUnit: 0.9, maxPerUnit: 1.1 }).ok, 'found through the slab that holds it');
});

test('links are "name slab" lines; a cache created mid-run counts 0 objects before it existed', (t) => {
  t.deepEqual(
    [...parseLinks('ip6_dst_cache :0000256\nfilp :0000256\n\n')],
    [
      ['ip6_dst_cache', ':0000256'],
      ['filp', ':0000256'],
    ],
  );
  const m = recordedMeasurement('survey-v6.1-fix-reverted', survey);
  const late = m.phases.slice(4);
  late.forEach((p, i) => (p.sample.caches.late_cache = { name: 'late_cache', objects: 3 + i }));
  const v = judge(survey, m);
  const c = v.caches.find((x) => x.cache === 'late_cache')!;
  t.is(c.objectsBefore, 0);
  t.is(c.objectsAfter, 3 + late.length - 1);
});

// The survey's settle loop, run by dash against a file laid out like
// /proc/slabinfo, whose counts a test changes while it waits.
test('survey settling sums every cache of slabinfo: it waits while the total falls and ends two polls after', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-survey-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'slabinfo');
  const header = 'slabinfo - version: 2.1\n# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>\n';
  // Written whole and renamed into place: a read never sees half a file.
  const set = (dst: number) => {
    writeFileSync(`${file}.new`, `${header}ip6_dst_cache ${dst} 6000 256 16 1\nkmalloc-64 100 128 64 64 1\n`);
    renameSync(`${file}.new`, file);
  };
  set(5000);
  const started = Date.now();
  const child = spawn('dash', ['-ec', surveySettleScript(5, 2, file)], { stdio: 'ignore', timeout: 20_000 });
  let n = 5000;
  const falling = setInterval(() => set((n -= 50)), 20);
  setTimeout(() => clearInterval(falling), 800);
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  clearInterval(falling);
  t.is(code, 0);
  const ms = Date.now() - started;
  t.true(ms >= 800 && ms < 3000, `${ms} ms`);
});

// The survey's sample command, run by dash against a directory laid out like
// /sys/kernel/slab (real slabs are directories, merged names links to them);
// /proc is the host's.
test('the survey command lists links, the count of every real slab, slabinfo and meminfo; a sample without slabinfo is refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-survey-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, objects] of [
    [':0000256', 5000],
    ['kmalloc-64', 100],
  ] as const) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'objects'), `${objects} N0=${objects}\n`);
    writeFileSync(join(dir, name, 'shrink'), '');
  }
  symlinkSync(':0000256', join(dir, 'ip6_dst_cache'));
  symlinkSync(':0000256', join(dir, 'filp'));
  const out = sections(execFileSync('dash', ['-c', surveyScript(dir)], { encoding: 'utf8', timeout: 20_000 }));
  t.deepEqual([...parseLinks(out.get('links') ?? '')].sort(), [
    ['filp', ':0000256'],
    ['ip6_dst_cache', ':0000256'],
  ]);
  t.deepEqual(
    [...parseLinks(out.get('slabs') ?? '')],
    [
      [':0000256', '5000'],
      ['kmalloc-64', '100'],
    ],
  );
  t.regex(out.get('slabinfo') ?? '', /^\S+ \d+ \d+ \d+ \d+ \d+$/m, 'fields 1-6 of /proc/slabinfo');
  t.regex(out.get('meminfo') ?? '', /^MemTotal: \d+\nSUnreclaim: \d+\n\n?$/);
  t.regex(out.get('snmp') ?? '', /^Ip: /m);
  t.throws(() => parseSurvey('#leaklab# snmp6\nIp6InReceives 5\n#leaklab# slabinfo\n', 'ipv6'), { message: 'no caches in /proc/slabinfo' });
});
