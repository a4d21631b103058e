import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, renameSync } from 'node:fs';
import { spawn, execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseSample,
  parseSlabinfo,
  parseSnmp6InReceives,
  parseSnmpInReceives,
  MissingCacheError,
  settleScript,
  leastOfShrunkReads,
} from '../../src/probe/slab.ts';
import { fixture, recordedPhases } from '../helpers/fixtures.ts';
import { closestNames } from '../../src/util/closest.ts';

test('slabinfo of a real guest: ip6_dst_cache under its own name with slab_nomerge', (t) => {
  const text = fixture('samples/seed-v6.1-fix-reverted/4-burst.txt');
  const rows = parseSlabinfo(text.split('#leaklab# slabinfo')[1].split('#leaklab#')[0]);
  const row = rows.get('ip6_dst_cache')!;
  t.is(row.objSize, 256);
  t.true(row.activeObjs > 2000, `${row.activeObjs}`);
  t.true(rows.size > 50);
});

test('a sample on the leaking kernel counts objects and received packets', (t) => {
  const before = parseSample(fixture('samples/seed-v6.1-fix-reverted/0-before.txt'), ['ip6_dst_cache'], 'ipv6');
  const after = parseSample(fixture('samples/seed-v6.1-fix-reverted/4-burst.txt'), ['ip6_dst_cache'], 'ipv6');
  t.is(before.caches.ip6_dst_cache.mergedInto, undefined);
  t.true(after.units - before.units >= 2000);
  t.true(after.caches.ip6_dst_cache.objects - before.caches.ip6_dst_cache.objects >= 1990);
});

test('a merged cache (Debian kernel without slab_nomerge) is resolved through sysfs', (t) => {
  const text = fixture('samples/seed-debian-6.1-cloud-merged/0-before.txt');
  t.notRegex(text.split('#leaklab# slabinfo')[1], /^ip6_dst_cache /m, 'not listed under its own name');
  const s = parseSample(text, ['ip6_dst_cache'], 'ipv6');
  t.is(s.caches.ip6_dst_cache.mergedInto, ':A-0000256');
  t.deepEqual(s.caches.ip6_dst_cache.sharedWith, ['filp', 'io_kiocb', 'posix_timers_cache']);
  t.true(s.caches.ip6_dst_cache.objects > 0);
});

test('a cache the kernel does not have is a clear error, naming the closest caches it has', (t) => {
  const text = fixture('samples/seed-v6.1/0-before.txt');
  t.throws(() => parseSample(text, ['no_such_cache'], 'ipv6'), { instanceOf: MissingCacheError, message: /no_such_cache does not exist/ });
  // The first sample of a boot lists every cache name (recorded on v6.1).
  const names = recordedPhases('survey-v6.1')[0]
    .text.split('#leaklab# slabs\n')[1]
    .split('#leaklab#')[0]
    .split('\n')
    .map((l) => l.split(' ')[0]);
  const first = `${text}#leaklab# names\n${names.join('\n')}\n`;
  t.throws(() => parseSample(first, ['ip6_dst_cach'], 'ipv6'), { message: /ip6_dst_cach does not exist .*; closest: ip6_dst_cache, ip_dst_cache/ });
  t.throws(() => parseSample(first, ['kmalloc-48'], 'ipv6'), { message: /; closest: kmalloc-4k, kmalloc-8, kmalloc-128$/ });
  t.deepEqual(closestNames('dst', ['ip6_dst_cache', 'ip_dst_cache', 'filp']), ['ip_dst_cache', 'ip6_dst_cache']);
  t.deepEqual(closestNames('zzzzzzzz', ['ip6_dst_cache', 'filp']), [], 'nothing close: no guess');
  t.deepEqual(
    closestNames('dst_cache', ['dst_cachx', 'ip6_dst_cache']),
    ['ip6_dst_cache', 'dst_cachx'],
    'a name that contains it comes before a nearer spelling',
  );
});

test('packet counters: Ip6InReceives and the two-line Ip: table of /proc/net/snmp, by name, not by position', (t) => {
  const section = (text: string, name: string) => text.split(`#leaklab# ${name}\n`)[1].split('#leaklab#')[0];
  // Recorded on v6.1 after the seed's 2000 echo replies: Ip6InDelivers (2002) and the lines around differ.
  const settled = fixture('samples/seed-v6.1/5-settled.txt');
  t.is(parseSnmp6InReceives(section(settled, 'snmp6')), 2008);
  t.is(parseSnmp6InReceives(section(fixture('samples/seed-v6.1/0-before.txt'), 'snmp6')), 5);
  // Recorded on v6.1 with IPv4 echo requests dropped on input: InReceives 338, InDelivers 150, OutRequests 150.
  const dropped = fixture('samples/ipv4-dropped-v6.1/sample.txt');
  t.is(parseSnmpInReceives(section(dropped, 'snmp')), 338);
  t.is(parseSample(dropped, ['ip_dst_cache'], 'ipv4').units, 338);
  t.is(parseSample(dropped, ['ip6_dst_cache'], 'ipv6').units, 47);
  t.throws(() => parseSnmp6InReceives(''), { message: /Ip6InReceives/ });
  t.throws(() => parseSnmpInReceives('Ip: Forwarding DefaultTTL\nIp: 2 64\n'), { message: /InReceives/ });
});

test('the compact dump (only the lines the parsers read) of a real leaking run parses the same way', (t) => {
  const before = parseSample(fixture('samples/seed-v6.1-fix-reverted-compact/0-before.txt'), ['ip6_dst_cache'], 'ipv6');
  const settled = parseSample(fixture('samples/seed-v6.1-fix-reverted-compact/5-settled.txt'), ['ip6_dst_cache'], 'ipv6');
  t.true(settled.units - before.units >= 2000);
  t.true(settled.caches.ip6_dst_cache.objects - before.caches.ip6_dst_cache.objects >= 1990);
});

// The settle loop, run by dash (the guests' /bin/sh) against a slab directory
// laid out like /sys/kernel/slab, whose counts a test changes while it waits.
function slabDir(t: ExecutionContext, objects: number | undefined): { dir: string; set: (n: number) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-slab-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'ip6_dst_cache'));
  // Written whole and renamed into place: sysfs reads never see half a file.
  const set = (n: number) => {
    writeFileSync(join(dir, 'ip6_dst_cache', '.objects'), `${n} N0=${n}\n`);
    renameSync(join(dir, 'ip6_dst_cache', '.objects'), join(dir, 'ip6_dst_cache', 'objects'));
  };
  if (objects !== undefined) set(objects);
  return { dir, set };
}

function settle(dir: string, maxSeconds: number): { ms: number; promise: Promise<number | null> } {
  const started = Date.now();
  const child = spawn('dash', ['-ec', settleScript(['ip6_dst_cache'], maxSeconds, 2, dir)], { stdio: 'ignore', timeout: 20_000 });
  const result = {
    ms: 0,
    promise: new Promise<number | null>((done) =>
      child.on('exit', (code) => {
        result.ms = Date.now() - started;
        done(code);
      }),
    ),
  };
  return result;
}

test('settling ends after two polls when the count does not fall (also when it cannot be read)', async (t) => {
  for (const objects of [16, undefined]) {
    const { dir } = slabDir(t, objects);
    const r = settle(dir, 3);
    t.is(await r.promise, 0);
    t.true(r.ms < 1000, `objects ${objects}: ${r.ms} ms`);
  }
});

test('settling goes on while the count keeps falling, and ends two polls after it stops', async (t) => {
  const { dir, set } = slabDir(t, 2016);
  const r = settle(dir, 5);
  let n = 2016;
  const falling = setInterval(() => set((n -= 10)), 30);
  await new Promise((res) => setTimeout(res, 800));
  clearInterval(falling);
  t.is(await r.promise, 0);
  t.true(r.ms >= 800 && r.ms < 2500, `${r.ms} ms`);
});

test('settling ends at settleSeconds when the count never stops falling', async (t) => {
  const { dir, set } = slabDir(t, 100000);
  const r = settle(dir, 1);
  let n = 100000;
  const falling = setInterval(() => set((n -= 10)), 20);
  const code = await r.promise;
  clearInterval(falling);
  t.is(code, 0);
  // The deadline is on /proc/uptime in centiseconds: up to 10 ms before a second by the host's clock.
  t.true(r.ms >= 950 && r.ms < 3000, `${r.ms} ms`);
});

test('a sample takes the least of three shrunk reads: a CPU slab activated between shrink and read only ever adds', (t) => {
  // Recorded under TCG (v6.1, seed topology): one sample read 16 objects, the next (and the true count) 7.
  // shrink and objects are FIFOs: each value is served only after a shrink, as the kernel would count anew;
  // both are opened before the shrink is written (the order the probe opens them in, objects first).
  const d = mkdtempSync(join(tmpdir(), 'leaklab-slab-'));
  execFileSync('mkfifo', [join(d, 'objects'), join(d, 'shrink')]);
  // A shrink file closed by the last read can hand the next open an empty line: only a written 1 serves a value.
  const kernel = `set -- 16 7 9; while [ $# -gt 0 ]; do exec 7> "$d/objects"; read -r x < "$d/shrink"; if [ "$x" = 1 ]; then echo "$1 N0=$1" >&7; shift; fi; exec 7>&-; done`;
  const out = execFileSync('sh', ['-c', `(${kernel}) & ${leastOfShrunkReads()}; wait; echo "$o"`], {
    encoding: 'utf8',
    env: { ...process.env, d },
    timeout: 10_000,
  });
  t.is(out.trim(), '7');
  rmSync(d, { recursive: true, force: true });
});

test('a cache kernels name differently (ip_dst_cache|rtable): counted under the entry, from the one this kernel has; none of them is a clear error', async (t) => {
  const { sampleScript, settleScript: settle } = await import('../../src/probe/slab.ts');
  const watch = ['ip6_dst_cache', 'ip_dst_cache|rtable'];
  // Recorded runs of scenarios/control-ipv4.yaml: 6.1 has ip_dst_cache, 6.12 names the same cache rtable.
  for (const [run, name] of [
    ['control-ipv4-v6.1', 'ip_dst_cache'],
    ['control-ipv4-v6.12', 'rtable'],
  ]) {
    const baseline = recordedPhases(run).find((p) => p.kind === 'baseline')!.text;
    const s = parseSample(baseline, watch, 'ipv4');
    t.is(s.caches['ip_dst_cache|rtable'].name, name, run);
    t.true(s.caches['ip_dst_cache|rtable'].objects >= 0);
    t.deepEqual(Object.keys(s.caches), watch);
  }
  // The guest reads every alternative: sysfs and the slabinfo line of each, and the settle loop polls each.
  t.regex(sampleScript(watch), /for c in ip6_dst_cache ip_dst_cache rtable; do/);
  t.regex(settle(watch, 1), /\/sys\/kernel\/slab\/rtable\/objects/);
  const baseline = recordedPhases('control-ipv4-v6.12').find((p) => p.kind === 'baseline')!.text;
  t.throws(() => parseSample(baseline, ['nope_cache|nada_cache'], 'ipv4'), {
    instanceOf: MissingCacheError,
    message: /^slab cache nope_cache or nada_cache \(any of them\) does not exist in this kernel/,
  });
});

test('a verdict on a cache of alternatives says which one was counted, and attribution tracks that one', async (t) => {
  const { loadScenarioFile } = await import('../../src/scenario/load.ts');
  const { judge } = await import('../../src/verdict/verdict.ts');
  const { cachesToTrack } = await import('../../src/verdict/attribution.ts');
  const { recordedMeasurement } = await import('../helpers/fixtures.ts');
  const s = await loadScenarioFile('scenarios/control-ipv4.yaml');
  for (const [run, counted] of [
    ['control-ipv4-v6.1', 'ip_dst_cache'],
    ['control-ipv4-v6.12', 'rtable'],
  ]) {
    const v = judge(s, recordedMeasurement(run, s));
    const c = v.caches.find((x) => x.cache === 'ip_dst_cache|rtable')!;
    t.is(c.counted, counted, run);
    t.is(c.verdict, 'no-leak', run);
    t.deepEqual(cachesToTrack([c]), [counted]);
    t.is(v.caches.find((x) => x.cache === 'ip6_dst_cache')!.counted, undefined);
  }
});
