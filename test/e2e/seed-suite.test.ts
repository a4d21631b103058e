// End to end: the whole scenario suite on the catalog's six kernels (both
// Debian lines: built with and without the fix, and Debian's cloud kernel),
// in real QEMU guests. The leak must show on the fix-reverted kernels for
// the seed scenarios only, at about one object per received packet.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { leaklab, qemuProcesses, tempDir } from '../helpers/cli.ts';

test('the suite gives LEAK only for the seed scenarios (ping, UDP, workaround) on v6.1-fix-reverted and v6.12-fix-reverted', async (t) => {
  const dir = tempDir(t);
  const report = join(dir, 'report.json');
  const r = await leaklab(['run', 'scenarios/', '--json', report, '--report', join(dir, 'report'), '--runs-dir', join(dir, 'runs')], {
    // Cold, it builds the 6.12 line beside the other end-to-end lane (scripts/e2e-lanes.ts).
    timeoutMs: 60 * 60_000,
  });
  t.log(r.stdout);
  if (r.code !== 0) t.log(r.stderr.split('\n').slice(-30).join('\n'));
  const results = JSON.parse(readFileSync(report, 'utf8')).results as any[];
  t.is(results.length, 48, 'eight scenarios x six kernels');
  for (const res of results) {
    const label = `${res.scenario} on ${res.kernel}`;
    t.is(res.error, undefined, `${label}: ${res.error?.message}`);
    const shouldLeak = res.scenario.startsWith('fib6-suppress') && res.kernel.endsWith('-fix-reverted');
    const workaround = res.scenario === 'fib6-suppress-workaround';
    t.is(res.verdict?.verdict, shouldLeak ? 'leak' : 'no-leak', label);
    t.true(res.verdict.units >= 1900, `${label}: ${res.verdict.units} packets counted by the guest`);
    const e = res.verdict.deciding.estimate;
    if (shouldLeak && workaround) {
      // 1500 of 2000 packets arrive before the rule is deleted; the first segment leaks one per packet.
      t.true(e.rate > 0.7 && e.rate < 0.8, `${label}: ${e.rate} objects kept per packet`);
      t.true(res.verdict.segments[0].low < 1 && res.verdict.segments[0].high > 1, `${label}: first segment`);
      t.is(res.verdict.stopsAfter, 'remove rule', label);
    } else if (shouldLeak) t.true(e.low <= 1 && e.high >= 1 && e.low > 0.9, `${label}: [${e.low}, ${e.high}] objects kept per packet`);
    // A clean kernel's limit depends on the run's noise: the tiny kernel's count steps by 10 objects now
    // and then (seen in any phase), which lifts a 2000-packet limit from ~0.002 to ~0.03. Far below 1.
    else t.true(e.high < 0.1, `${label}: a clean kernel's detection limit ${e.high} obj/packet`);
    t.deepEqual(res.troubles, [], `${label}: kernel trouble on the console`);
  }
  // The stock kernel boots without slab_nomerge only if asked; the suite uses it, so the
  // cache is counted under its own name everywhere.
  t.is(r.code, 0, 'every verdict as the scenarios expect');
  for (const line of ['6.1', '6.12']) {
    t.regex(
      r.stdout,
      new RegExp(`v${line.replace('.', '\\.')}-fix-reverted\\s+LEAK\\s+ip6_dst_cache\\s+\\+(0\\.9\\d|1\\.0\\d) obj/packet \\[0\\.\\d\\d, 1\\.\\d\\d\\]`),
    );
    t.regex(r.stdout, new RegExp(`v${line.replace('.', '\\.')} +no leak +ip6_dst_cache +< 0\\.0\\d+ obj/packet at 95 %`));
  }
  // The report's kernel x scenario table: one row per kernel.
  t.regex(readFileSync(join(dir, 'report', 'report.md'), 'utf8'), /\n\| v6\.12-fix-reverted \|[^\n]*\| LEAK \+(0\.9\d|1\.0\d) \|/);
  t.deepEqual(qemuProcesses(dir), [], 'no guest left running');
});
