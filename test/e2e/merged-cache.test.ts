// End to end: without slab_nomerge, SLUB folds ip6_dst_cache into a shared
// slab and /proc/slabinfo no longer lists it (in the field the growth showed
// as pool_workqueue). leaklab must still find the leak, through sysfs, and
// say which slab it counted.
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leaklab, qemuProcesses, tempDir, ROOT } from '../helpers/cli.ts';

test('the seed leak is found through the merged slab, and named', async (t) => {
  const dir = tempDir(t);
  const seed = readFileSync(join(ROOT, 'scenarios/fib6-suppress-leak.yaml'), 'utf8');
  const merged = seed.replace(/^guest:\n {2}cmdline: \[slab_nomerge\]\n/m, '').replace(/^name: .*$/m, 'name: seed-merged');
  t.notRegex(merged, /slab_nomerge/);
  writeFileSync(join(dir, 'merged.yaml'), merged);
  const report = join(dir, 'report.json');
  const r = await leaklab(['run', join(dir, 'merged.yaml'), '-k', 'v6.1-fix-reverted,debian-6.1-cloud', '--json', report, '--runs-dir', join(dir, 'runs')]);
  t.log(r.stdout);
  const results = JSON.parse(readFileSync(report, 'utf8')).results as any[];
  const byKernel = Object.fromEntries(results.map((x) => [x.kernel, x]));
  const debian = byKernel['debian-6.1-cloud'].verdict;
  t.is(debian.verdict, 'no-leak');
  t.regex(debian.deciding.mergedInto, /^:A-\d+$/, "Debian's kernel merges ip6_dst_cache");
  t.true(debian.deciding.sharedWith.length > 0);
  const reverted = byKernel['v6.1-fix-reverted'].verdict;
  t.is(reverted.verdict, 'leak');
  t.true(Math.abs(reverted.deciding.estimate.rate - 1) < 0.1, `${reverted.deciding.estimate.rate}`);
  t.is(r.code, 0);
  t.deepEqual(qemuProcesses(dir), []);
});
