import test from 'ava';
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parseSample, parseSlabinfo, parseSnmp6InReceives, parseSnmpInReceives, MissingCacheError, settleScript } from '../../src/probe/slab.ts';
import { fixture } from '../helpers/fixtures.ts';

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
  t.true(after.packetsIn - before.packetsIn >= 2000);
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

test('a cache the kernel does not have is a clear error', (t) => {
  const text = fixture('samples/seed-v6.1/0-before.txt');
  t.throws(() => parseSample(text, ['no_such_cache'], 'ipv6'), { instanceOf: MissingCacheError, message: /no_such_cache does not exist/ });
});

test('packet counters: Ip6InReceives and the two-line Ip: table of /proc/net/snmp', (t) => {
  const text = fixture('samples/seed-v6.1/0-before.txt');
  const snmp6 = text.split('#leaklab# snmp6')[1].split('#leaklab#')[0];
  const snmp = text.split('#leaklab# snmp\n')[1].split('#leaklab#')[0];
  t.true(parseSnmp6InReceives(snmp6) >= 0);
  t.true(Number.isInteger(parseSnmpInReceives(snmp)));
  t.throws(() => parseSnmp6InReceives(''), { message: /Ip6InReceives/ });
});

test('the compact dump (only the lines the parsers read) of a real leaking run parses the same way', (t) => {
  const before = parseSample(fixture('samples/seed-v6.1-fix-reverted-compact/0-before.txt'), ['ip6_dst_cache'], 'ipv6');
  const settled = parseSample(fixture('samples/seed-v6.1-fix-reverted-compact/5-settled.txt'), ['ip6_dst_cache'], 'ipv6');
  t.true(settled.packetsIn - before.packetsIn >= 2000);
  t.true(settled.caches.ip6_dst_cache.objects - before.caches.ip6_dst_cache.objects >= 1990);
});

// The settle loop runs in the host's own shell against its real /sys/kernel/slab.
const hostCache = readdirSync('/sys/kernel/slab').find((c) => !c.startsWith(':'))!;

test('settling ends at once when the count is already within its limit', (t) => {
  const started = Date.now();
  const r = spawnSync('sh', ['-ec', settleScript({ [hostCache]: 1e12 }, 3)]);
  t.is(r.status, 0, r.stderr.toString());
  t.true(Date.now() - started < 1000, `${hostCache}: ${Date.now() - started} ms`);
});

test('settling waits the whole settleSeconds while the count stays above its limit', (t) => {
  const started = Date.now();
  const r = spawnSync('sh', ['-ec', settleScript({ [hostCache]: -1 }, 0.5)]);
  t.is(r.status, 0, r.stderr.toString());
  t.true(Date.now() - started >= 500, `${Date.now() - started} ms`);
});
