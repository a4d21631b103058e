// End to end, boot snapshots (README, "Boot snapshots"): the first run of a
// kernel boots and saves the guest right after it answers; later runs
// restore it instead of booting, each from the same state (what one run
// leaked is not in the next), with the same verdict as a boot. A snapshot
// that is truncated or corrupt is never restored into a run: it is passed
// over or discarded, and the guest boots. The scenario's command line has
// a word of this test's own, so the snapshot is this test's alone (its key
// names the command line) and no other test restores the one it breaks.
import test from 'ava';
import {
  readFileSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
  truncateSync,
  existsSync,
  statSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  rmSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { leaklab, qemuProcesses, tempDir, ROOT } from '../helpers/cli.ts';
import { readConfig } from '../../src/util/config.ts';

const snapshotsDir = join(readConfig(process.env).cacheRoot, 'snapshots');

/** The seed scenario with a command-line word of this test's own. */
function privateSeed(dir: string): string {
  const seed = readFileSync(join(ROOT, 'scenarios/fib6-suppress-leak.yaml'), 'utf8');
  const file = join(dir, 'seed.yaml');
  writeFileSync(file, seed.replace('cmdline: [slab_nomerge]', `cmdline: [slab_nomerge, leaklab.test=${basename(dir)}]`));
  return file;
}

async function run(dir: string, file: string, name: string, extra: string[] = []) {
  const json = join(dir, `${name}.json`);
  const r = await leaklab(['run', file, '-k', 'v6.1-fix-reverted', '--json', json, '--runs-dir', join(dir, 'runs'), ...extra], { timeoutMs: 10 * 60_000 });
  const result = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')).results[0] as any) : undefined;
  return { ...r, result };
}

/** The leak as every run must see it, restored or booted. */
function leaks(t: any, r: Awaited<ReturnType<typeof run>>, what: string): void {
  t.is(r.code, 0, `${what}: ${r.stderr.split('\n').slice(-15).join('\n')}`);
  const e = r.result.verdict.deciding.estimate;
  t.is(r.result.verdict.verdict, 'leak', what);
  t.true(e.low <= 1 && 1 <= e.high && e.low > 0.9, `${what}: [${e.low}, ${e.high}]`);
}

test.serial('boot, then restore: the same verdict, every restore from the same state; --fresh boots', async (t) => {
  const dir = tempDir(t);
  const file = privateSeed(dir);
  const first = await run(dir, file, 'first');
  leaks(t, first, 'first');
  t.regex(first.stderr, /booting \(tcg/);
  t.is(first.result.provenance.bootSnapshot, undefined);
  const second = await run(dir, file, 'second');
  leaks(t, second, 'second');
  const key = second.result.provenance.bootSnapshot as string;
  t.regex(key ?? '', /^[0-9a-f]{24}$/, 'restored from a snapshot');
  // This test's own snapshot (~140 MB) is no use to anyone after it.
  t.teardown(() => rmSync(join(snapshotsDir, key), { recursive: true, force: true }));
  t.regex(second.stderr, new RegExp(`restoring the boot snapshot ${key.slice(0, 12)} \\(tcg\\)`));
  t.regex(second.stderr, /guest up in [\d.]+ s \(kernel 6\.1\.\d+; restored from boot snapshot [0-9a-f]{12}\)/);
  t.notRegex(second.stderr, /booting/);
  // Its console log begins with the boot that made the snapshot.
  const console = readFileSync(join(second.result.runDir, 'console.log'), 'utf8');
  t.regex(console, new RegExp(`\\[leaklab: restored from boot snapshot ${key}; the lines above are that boot's\\]`));
  // Isolation: the second run leaked 2000 objects, yet the third starts where the second did (same counters, same cache).
  const third = await run(dir, file, 'third');
  leaks(t, third, 'third');
  t.is(third.result.provenance.bootSnapshot, key);
  // (A reused guest would hold the 2000 objects the second run kept: each restore starts with the warm-up's few.)
  const kept = (r: typeof second) => r.result.samples.phases[0].sample.caches.ip6_dst_cache.objects as number;
  t.true(kept(second) < 200 && Math.abs(kept(third) - kept(second)) <= 5, `after warm-up: ${kept(second)}, then ${kept(third)} objects`);
  const fresh = await run(dir, file, 'fresh', ['--fresh']);
  leaks(t, fresh, '--fresh');
  t.regex(fresh.stderr, /booting \(tcg/);
  t.is(fresh.result.provenance.bootSnapshot, undefined);
  t.deepEqual(qemuProcesses(dir), []);
});

test.serial('a truncated snapshot is passed over and a corrupt one discarded: the guest boots, the verdict stands, a good snapshot replaces it', async (t) => {
  const dir = tempDir(t);
  const file = privateSeed(dir);
  await run(dir, file, 'make');
  const made = await run(dir, file, 'made');
  const key = made.result.provenance.bootSnapshot as string;
  t.truthy(key, made.stderr);
  t.teardown(() => rmSync(join(snapshotsDir, key), { recursive: true, force: true }));
  const state = join(snapshotsDir, key, 'state.bin');

  truncateSync(state, 1_000_000);
  const truncated = await run(dir, file, 'truncated');
  leaks(t, truncated, 'truncated');
  t.regex(truncated.stderr, /booting \(tcg/);
  t.notRegex(truncated.stderr, /restoring/);

  // Same length, garbage where the stream starts: only QEMU can tell, and it refuses it.
  const fd = openSync(state, 'r+');
  writeSync(fd, Buffer.alloc(65536, 0x5a), 0, 65536, 0);
  closeSync(fd);
  t.is(statSync(state).size, JSON.parse(readFileSync(join(snapshotsDir, key, 'meta.json'), 'utf8')).size, 'a good snapshot in place of the truncated one');
  const corrupt = await run(dir, file, 'corrupt');
  leaks(t, corrupt, 'corrupt');
  t.regex(corrupt.stderr, /restoring the boot snapshot/);
  t.regex(corrupt.stderr, /the boot snapshot could not be restored \([^\n]+\); discarded, booting instead/);
  t.regex(corrupt.stderr, /booting \(tcg/);
  t.is(corrupt.result.provenance.bootSnapshot, undefined);
  const after = await run(dir, file, 'after');
  leaks(t, after, 'after');
  t.is(after.result.provenance.bootSnapshot, key, 'restored from the snapshot saved in place of the corrupt one');
  t.deepEqual(qemuProcesses(dir), []);
});

test.serial('a full disk while saving a snapshot: one line saying so, the run goes on to its verdict, nothing half-written is left', async (t) => {
  const dir = tempDir(t);
  // A cache of its own whose snapshots/ is a 20 MB filesystem (a snapshot is ~140 MB); everything else is the shared cache's.
  const cache = join(dir, 'cache');
  mkdirSync(join(cache, 'snapshots'), { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', join(cache, 'snapshots')], { stdio: 'pipe' });
  } catch (err) {
    t.log(`skipped: cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`);
    return t.pass();
  }
  t.teardown(() => execFileSync('umount', ['-l', join(cache, 'snapshots')]));
  const shared = readConfig(process.env).cacheRoot;
  for (const area of readdirSync(shared)) if (area !== 'snapshots') symlinkSync(join(shared, area), join(cache, area));
  const file = privateSeed(dir);
  const json = join(dir, 'full.json');
  const r = await leaklab(['run', file, '-k', 'v6.1-fix-reverted', '--json', json, '--runs-dir', join(dir, 'runs')], {
    env: { LEAKLAB_CACHE: cache },
    timeoutMs: 10 * 60_000,
  });
  leaks(t, { ...r, result: JSON.parse(readFileSync(json, 'utf8')).results[0] }, 'full disk');
  const said =
    /no boot snapshot saved \(the cache's filesystem is full: \d+ MB of room in [^\n]*snapshots, a snapshot takes ~140 MB\); later cells boot too/.exec(
      r.stderr,
    );
  t.truthy(said, r.stderr);
  t.log(said?.[0]);
  t.deepEqual(readdirSync(join(cache, 'snapshots')), [], 'no snapshot and no temp entry on the full filesystem');
  t.deepEqual(qemuProcesses(dir), []);
});
