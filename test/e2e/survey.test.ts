// End to end: the seed scenario with watch: removed surveys every slab cache
// and must find the leak where it is (ip6_dst_cache on v6.1-fix-reverted,
// kmalloc-64 on the calibration kernel that leaks a kmalloc buffer per echo
// reply), nothing on the fixed kernel, and, without slab_nomerge, name the
// slab slabtop would show with every cache it holds. Also the projection to
// out of memory, and the reports.
import test from 'ava';
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { leaklab, qemuProcesses, tempDir, ROOT } from '../helpers/cli.ts';

/** The seed scenario without its watch: (a survey), renamed; `edit` changes the text further. */
function surveyScenario(dir: string, name: string, edit: (text: string) => string = (x) => x): string {
  const seed = readFileSync(join(ROOT, 'scenarios/fib6-suppress-leak.yaml'), 'utf8');
  const text = edit(seed.replace(/^watch: .*\n/m, '').replace(/^name: .*$/m, `name: ${name}`));
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

test('a survey finds ip6_dst_cache on the reverted fix, kmalloc-64 on the kmalloc calibration kernel, nothing on v6.1', async (t) => {
  const dir = tempDir(t);
  const file = surveyScenario(dir, 'survey', (text) =>
    text
      .replace(/^kernels: .*$/m, 'kernels: [v6.1-fix-reverted, v6.1, v6.1-kmalloc-leak]')
      .replace(
        /^expect:[\s\S]*$/m,
        'expect:\n  v6.1-fix-reverted: { verdict: leak, cache: ip6_dst_cache, minPerPacket: 0.9, maxPerPacket: 1.1 }\n  v6.1-kmalloc-leak: { verdict: leak, cache: kmalloc-64, minPerPacket: 0.9, maxPerPacket: 1.1 }\n  "*": no-leak\n',
      ),
  );
  t.notRegex(readFileSync(file, 'utf8'), /^watch:/m);
  const [json, junit, report] = ['r.json', 'junit.xml', 'report'].map((f) => join(dir, f));
  const r = await leaklab([
    'run',
    file,
    '-j',
    '2',
    '--packets-per-second',
    '2000',
    '--memory',
    '1G',
    '--json',
    json,
    '--junit',
    junit,
    '--report',
    report,
    '--runs-dir',
    join(dir, 'runs'),
  ]);
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr);
  const byKernel = Object.fromEntries((JSON.parse(readFileSync(json, 'utf8')).results as any[]).map((x) => [x.kernel, x.verdict]));
  const leaking = (v: any) => v.caches.filter((c: any) => c.verdict === 'leak').map((c: any) => c.cache);

  const reverted = byKernel['v6.1-fix-reverted'];
  t.true(reverted.survey);
  t.true(reverted.caches.length > 50, `${reverted.caches.length} caches`);
  t.deepEqual(leaking(reverted), ['ip6_dst_cache'], 'ip6_dst_cache first, and no other cache');
  t.true(Math.abs(reverted.deciding.estimate.rate - 1) < 0.1, `${reverted.deciding.estimate.rate}`);
  // 1 object of 256 bytes (16 on a 4 KiB page) per packet at 2000 packets/s: 512 kB/s, 1 GiB in 2^30 / 512000 s.
  t.is(reverted.projection.bytesPerPacket.rate, reverted.deciding.estimate.rate * 256);
  t.true(Math.abs(reverted.projection.seconds - 2 ** 30 / (reverted.deciding.estimate.rate * 256 * 2000)) < 1e-6);
  t.regex(r.stdout, /v6\.1-fix-reverted +LEAK +ip6_dst_cache +\+1\.0\d obj\/packet/);
  t.regex(r.stdout, /projection: at 2000 packets\/s this leaks 0\.5\d MB\/s: 1 GiB is exhausted in about 3\d min/);

  const kmalloc = byKernel['v6.1-kmalloc-leak'];
  t.deepEqual(leaking(kmalloc), ['kmalloc-64']);
  t.true(Math.abs(kmalloc.deciding.estimate.rate - 1) < 0.1, `${kmalloc.deciding.estimate.rate}`);

  // Attribution (a survey's default after a LEAK): a second boot with allocation tracking names the code.
  const attribution = Object.fromEntries((JSON.parse(readFileSync(json, 'utf8')).results as any[]).map((x) => [x.kernel, x.attribution]));
  const top = (a: any) => a.caches[0].stacks[0];
  const dst = top(attribution['v6.1-fix-reverted']);
  t.is(attribution['v6.1-fix-reverted'].caches[0].cache, 'ip6_dst_cache');
  t.deepEqual(dst.frames.slice(0, 2), ['dst_alloc', 'ip6_dst_alloc']);
  t.true(Math.abs(dst.rate - 1) < 0.05, `${dst.rate}`);
  t.regex(dst.lines.find((l: any) => l.frame === 'ip6_dst_alloc').at, /^net\/ipv6\/route\.c:\d+$/);
  const patched = top(attribution['v6.1-kmalloc-leak']);
  t.is(patched.frames[0], 'leaklab_calibration_leak');
  t.regex(patched.lines[0].at, /^net\/ipv6\/icmp\.c:\d+$/);
  t.true(attribution['v6.1-kmalloc-leak'].kmemleak.agrees, 'kmemleak reports the unreferenced buffers too');
  t.true(attribution['v6.1-kmalloc-leak'].kmemleak.objects > 0.8 * attribution['v6.1-kmalloc-leak'].packets);
  t.is(attribution['v6.1'], undefined, 'no leak, no attribution boot');
  t.regex(r.stdout, /allocated at: kmalloc-64 1\.0\d*\/packet {2}leaklab_calibration_leak <- icmpv6_rcv/);
  t.regex(r.stdout, /source: leaklab_calibration_leak net\/ipv6\/icmp\.c:\d+/);
  t.regex(r.stdout, /kmemleak: agrees: \d+ unreferenced objects allocated in leaklab_calibration_leak/);

  const fixed = byKernel['v6.1'];
  t.is(fixed.verdict, 'no-leak');
  t.deepEqual(leaking(fixed), []);
  t.regex(r.stdout, /v6\.1 +no leak +all \d+ caches \(noisiest: \S+\) {2}< 0\.0\d+ obj\/packet at 95 %/);

  // The reports carry the survey: a table of caches, the projection.
  const md = readFileSync(join(report, 'report.md'), 'utf8');
  t.regex(md, /### survey on v6\.1-kmalloc-leak/);
  t.regex(md, /\| kmalloc-64 \| LEAK \| \+1\.0\d obj\/packet \[[\d.]+, [\d.]+\] \| \d+ \| ±[\d.]+ \| 64 \| own \|/);
  t.regex(md, /- projection: at 2000 packets\/s/);
  const html = readFileSync(join(report, 'report.html'), 'utf8');
  t.regex(html, /<table class="survey">/);
  execFileSync('xmllint', ['--noout', junit]);
  t.regex(readFileSync(junit, 'utf8'), /survey: \d+ caches, 1 leaking/);
  t.deepEqual(qemuProcesses(dir), []);
});

test("without slab_nomerge the survey names the shared slab and every cache in it (minimal kernel and Debian's)", async (t) => {
  const dir = tempDir(t);
  const file = surveyScenario(dir, 'survey-merged', (text) => text.replace(/^guest:\n {2}cmdline: \[slab_nomerge\]\n/m, ''));
  t.notRegex(readFileSync(file, 'utf8'), /slab_nomerge/);
  const json = join(dir, 'r.json');
  const r = await leaklab(['run', file, '-k', 'v6.1-fix-reverted,debian-6.1-cloud', '-j', '2', '--json', json, '--runs-dir', join(dir, 'runs')]);
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr);
  const byKernel = Object.fromEntries((JSON.parse(readFileSync(json, 'utf8')).results as any[]).map((x) => [x.kernel, x.verdict]));
  const holding = (v: any) => v.caches.find((c: any) => c.sharedWith?.includes('ip6_dst_cache'));
  const reverted = byKernel['v6.1-fix-reverted'];
  t.is(reverted.verdict, 'leak');
  t.is(reverted.deciding.cache, holding(reverted).cache, 'the leak is the slab that holds ip6_dst_cache, under its slabinfo name');
  t.regex(reverted.deciding.mergedInto, /^:/);
  t.regex(r.stdout, /counted in merged slab :\S+ with [^)]*ip6_dst_cache/);
  // Which cache of the slab it really is (what crash told the field): tracking unmerges each of them.
  const attribution = (JSON.parse(readFileSync(json, 'utf8')).results as any[]).find((x) => x.kernel === 'v6.1-fix-reverted').attribution;
  t.true(attribution.tracked.includes('ip6_dst_cache') && attribution.tracked.length > 2, attribution.tracked.join(' '));
  t.is(attribution.caches[0].cache, 'ip6_dst_cache');
  t.is(attribution.caches[0].leak, reverted.deciding.cache);
  t.regex(r.stdout, /allocated at: ip6_dst_cache \(in \S+\) 1\.0\d*\/packet {2}dst_alloc <- ip6_dst_alloc/);
  const debian = byKernel['debian-6.1-cloud'];
  t.is(debian.verdict, 'no-leak');
  t.regex(holding(debian).mergedInto, /^:A-\d+$/, "Debian's kernel merges ip6_dst_cache into a slab of another name");
  t.deepEqual(qemuProcesses(dir), []);
});

test('bad input: a projection flag that is not a number or a size, cache: with no-leak, a watched cache the kernel lacks', async (t) => {
  const dir = tempDir(t);
  const seed = join(ROOT, 'scenarios/fib6-suppress-leak.yaml');
  const pps = await leaklab(['run', seed, '-k', 'v6.1', '--packets-per-second', 'fast']);
  t.is(pps.code, 2);
  t.regex(pps.stderr, /--packets-per-second must be a number above 0, not "fast"/);
  const mem = await leaklab(['run', seed, '-k', 'v6.1', '--memory', '1GB']);
  t.is(mem.code, 2);
  t.regex(mem.stderr, /--memory must be a size such as 512M or 1G, not "1GB"/);
  const noLeakCache = surveyScenario(dir, 'cache-no-leak', (text) => text.replace(/"\*": no-leak/, '"*": { verdict: no-leak, cache: ip6_dst_cache }'));
  const load = await leaklab(['run', noLeakCache, '-k', 'v6.1']);
  t.is(load.code, 2);
  t.regex(load.stderr, /cache-no-leak\.yaml:\d+:\d+: expect\.\*\.cache: is where a leak is found: give it with verdict: leak only/);
  const misspelt = join(dir, 'misspelt.yaml');
  writeFileSync(
    misspelt,
    readFileSync(seed, 'utf8')
      .replace('watch: [ip6_dst_cache]', 'watch: [ip6_dst_cach]')
      .replace(/^name: .*$/m, 'name: misspelt'),
  );
  const missing = await leaklab(['run', misspelt, '-k', 'v6.1', '--runs-dir', join(dir, 'runs')]);
  t.is(missing.code, 2);
  t.regex(missing.stdout, /slab cache ip6_dst_cach does not exist in this kernel .*; closest: ip6_dst_cache/);
  t.deepEqual(qemuProcesses(dir), []);
});

test("attribution with the user's own slub_debug (merged, not replaced), and on a kernel whose config lacks DEBUG_FS (said, verdict kept)", async (t) => {
  const dir = tempDir(t);
  const seed = readFileSync(join(ROOT, 'scenarios/fib6-suppress-leak.yaml'), 'utf8');
  const file = join(dir, 'own-debug.yaml');
  writeFileSync(
    file,
    seed
      .replace(/^name: .*$/m, 'name: own-debug')
      .replace('cmdline: [slab_nomerge]', 'cmdline: [slab_nomerge, "slub_debug=F,kmalloc-128"]')
      .replace(/^ {2}packets: 2000$/m, '  packets: 600')
      .replace(/^watch: .*$/m, 'watch: [ip6_dst_cache]\nattribute: true')
      .replace('"*": no-leak', '"*": leak'),
  );
  const json = join(dir, 'r.json');
  const r = await leaklab(['run', file, '-k', 'v6.1-fix-reverted', '--json', json, '--runs-dir', join(dir, 'runs')]);
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr);
  const [result] = JSON.parse(readFileSync(json, 'utf8')).results;
  t.deepEqual(result.attribution.caches[0].stacks[0].frames.slice(0, 2), ['dst_alloc', 'ip6_dst_alloc']);
  const cmdline = readFileSync(join(result.runDir, 'attribution', '0-cmdline.txt'), 'utf8');
  t.regex(cmdline, /slab_nomerge slub_debug=F,kmalloc-128;U,ip6_dst_cache/);

  // The same kernel, given as a bzImage whose config says it has no debugfs: the verdict stands, the note names the option.
  const cacheRoot = process.env.LEAKLAB_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'leaklab');
  const kernelDir = readdirSync(join(cacheRoot, 'kernels'))
    .map((d) => join(cacheRoot, 'kernels', d))
    .find((d) => existsSync(join(d, 'meta.json')) && readFileSync(join(d, 'meta.json'), 'utf8').includes(result.provenance.bzImageSha256))!;
  writeFileSync(join(dir, 'config'), readFileSync(join(kernelDir, 'config'), 'utf8').replace(/^CONFIG_DEBUG_FS=y$/m, '# CONFIG_DEBUG_FS is not set'));
  writeFileSync(join(dir, 'kernels.yaml'), `kernels:\n  no-debugfs:\n    bzImage: ${join(kernelDir, 'bzImage')}\n    config: ${join(dir, 'config')}\n`);
  const lacking = await leaklab(['run', file, '-k', 'no-debugfs', '--runs-dir', join(dir, 'runs')], { env: { LEAKLAB_CATALOG: join(dir, 'kernels.yaml') } });
  t.log(lacking.stdout);
  t.is(lacking.code, 0, lacking.stderr);
  t.regex(lacking.stdout, /no-debugfs +LEAK +ip6_dst_cache/);
  t.regex(lacking.stdout, /attribution: none: the kernel lacks CONFIG_DEBUG_FS \(needed to read the tracking: \S+\); the verdict is given without attribution/);
  t.deepEqual(qemuProcesses(dir), []);
});
