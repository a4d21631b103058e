// End to end, the second real leak (README, "The second case: a socket kept
// by its own TX timestamp"): its folder of scenarios on the six kernels of
// both Debian lines, built with and without the fix (upstream 50749f2dd685,
// reverted by lab/patches/tstamp-zerocopy-revert-fix.patch) and Debian's
// cloud kernels. Only the two leak scenarios on the fix-reverted kernels
// leak, one socket per iteration, in UDP or UDPv6; the controls (error queue
// read, no MSG_ZEROCOPY, no timestamps) leak on no kernel.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { leaklab, qemuProcesses, tempDir } from '../helpers/cli.ts';

const LEAKS: Record<string, string> = { 'udp-zerocopy-tstamp-leak': 'UDP', 'udp6-zerocopy-tstamp-leak': 'UDPv6' };

test('the TX-timestamp zerocopy leak: LEAK of 1 socket per iteration only with the fix reverted, on 6.1 and 6.12', async (t) => {
  const dir = tempDir(t);
  const report = join(dir, 'report.json');
  const r = await leaklab(['run', 'scenarios/tstamp-zerocopy/', '--json', report, '--runs-dir', join(dir, 'runs')]);
  t.log(r.stdout);
  if (r.code !== 0) t.log(r.stderr.split('\n').slice(-30).join('\n'));
  const results = JSON.parse(readFileSync(report, 'utf8')).results as any[];
  t.is(results.length, 30, 'five scenarios x six kernels');
  for (const res of results) {
    const label = `${res.scenario} on ${res.kernel}`;
    t.is(res.error, undefined, `${label}: ${res.error?.message}`);
    const cache = res.kernel.endsWith('-tstamp-fix-reverted') ? LEAKS[res.scenario] : undefined;
    t.is(res.verdict?.verdict, cache ? 'leak' : 'no-leak', label);
    t.is(res.verdict.unit, 'iteration', label);
    t.true(res.verdict.units >= 1900, `${label}: ${res.verdict.units} iterations counted`);
    const e = res.verdict.deciding.estimate;
    if (cache) {
      t.is(res.verdict.deciding.cache, cache, label);
      t.true(e.low <= 1 && 1 <= e.high && e.low > 0.9 && e.high < 1.1, `${label}: [${e.low}, ${e.high}] sockets kept per iteration`);
    } else t.true(e.high < 0.02, `${label}: detection limit ${e.high} obj/iteration`);
    t.deepEqual(res.troubles, [], `${label}: kernel trouble on the console`);
  }
  t.is(r.code, 0, 'every verdict as the scenarios expect');
  // The attribution boot (attribute: true) names the code allocating the kept sockets, and kmemleak agrees.
  t.regex(r.stdout, /v6\.1-tstamp-fix-reverted\s+LEAK\s+UDP\s+\+1\.00 obj\/iteration \[0\.9\d, 1\.0\d\]/);
  t.regex(r.stdout, /allocated at: UDP 1\.00\/iteration .*inet_create/);
  t.regex(r.stdout, /kmemleak: agrees: \d+ unreferenced objects allocated in sk_prot_alloc/);
  t.deepEqual(qemuProcesses(dir), [], 'no guest left running');
});
