// End to end: the cache shared by runs. A kernel already built is taken as
// it is: it waits for no other run's build lock, and it runs from a cache
// that cannot be written; a kernel that would need building there is one
// message. Uses the real CLI on the user's cache (the seed's v6.1 is built
// there by the tests before).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leaklab, qemuProcesses, tempDir, ROOT } from '../helpers/cli.ts';
import { acquireLock } from '../../src/util/lock.ts';
import { sha256, short } from '../../src/util/hash.ts';
import { readConfig } from '../../src/util/config.ts';
import { testContext } from '../helpers/context.ts';

const cacheDir = readConfig(process.env).cacheRoot;
const SEED = 'scenarios/fib6-suppress-leak.yaml';

/** The build lock of Debian's linux-source-6.1 in the cache (as kernel/source-build.ts names it). */
function sourceLock(): string {
  const source = readdirSync(join(cacheDir, 'sources')).find((e) => e.startsWith('linux-source-6.1_'));
  if (!source) throw new Error(`no linux-source-6.1 unpacked in ${cacheDir}`);
  return join(cacheDir, 'locks', `${short(sha256(join(cacheDir, 'sources', source)))}.lockdir`);
}

test.serial('a kernel already in the cache does not wait for the build lock another run holds on its source', async (t) => {
  const dir = tempDir(t);
  // Builds v6.1 if it is not there yet (and records what its inputs gave).
  const first = await leaklab(['run', SEED, '-k', 'v6.1', '--runs-dir', join(dir, 'runs')], { timeoutMs: 30 * 60_000 });
  t.is(first.code, 0, first.stderr);
  // Another run's build of the same source holds the lock (refreshed, so never stale) for as long as this test takes.
  const lock = await acquireLock(testContext(), sourceLock(), 'another run');
  t.teardown(() => lock.release());
  const started = Date.now();
  const r = await leaklab(['run', SEED, '-k', 'v6.1', '--runs-dir', join(dir, 'runs')], { timeoutMs: 5 * 60_000 });
  t.is(r.code, 0, r.stderr);
  t.notRegex(r.stderr, /waiting for another leaklab run/);
  t.regex(r.stdout, /v6\.1 +no leak/);
  t.log(`run with the lock held elsewhere: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

/** The cache mounted read-only (a bind mount, unmounted when the test ends); undefined where tests may not mount. */
function readOnlyCache(t: { log: (m: string) => void; teardown: (f: () => void) => void }, dir: string): string | undefined {
  const ro = join(dir, 'ro-cache');
  mkdirSync(ro);
  try {
    execFileSync('mount', ['--bind', cacheDir, ro], { stdio: 'pipe' });
  } catch (err) {
    t.log(`skipped: cannot bind-mount here (${(err as Error).message.split('\n')[0]})`);
    return undefined;
  }
  // Teardowns run newest first: unmounted before tempDir removes the directory.
  t.teardown(() => execFileSync('umount', ['-l', ro]));
  execFileSync('mount', ['-o', 'remount,bind,ro', ro]);
  return ro;
}

test.serial('a cache that cannot be written: a kernel built in it before runs; one that would need building is one message', async (t) => {
  const dir = tempDir(t);
  const ro = readOnlyCache(t, dir);
  if (!ro) return t.pass();
  const ok = await leaklab(['run', SEED, '-k', 'v6.1', '--runs-dir', join(dir, 'runs')], { env: { LEAKLAB_CACHE: ro }, timeoutMs: 5 * 60_000 });
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /v6\.1 +no leak/);
  // The same source with a patch nobody built: building needs the lock, which cannot be made.
  const lab = join(dir, 'lab');
  mkdirSync(join(lab, 'patches'), { recursive: true });
  execFileSync('ln', ['-s', join(ROOT, 'lab/kconfig'), join(lab, 'kconfig')]);
  // A line of its own in the patch's header makes its inputs new: no run ever built them.
  const patch = 'unbuilt.patch';
  writeFileSync(join(lab, 'patches', patch), `Unbuilt: ${dir}\n${readFileSync(join(ROOT, 'test/fixtures/patches/comment-only.patch'), 'utf8')}`);
  writeFileSync(
    join(lab, 'kernels.yaml'),
    `kernels:\n  unbuilt:\n    source: { debian: linux-source-6.1 }\n    config: { base: tinyconfig, fragments: [leaklab-base, ipv6-netfilter] }\n    patches: [${patch}]\n`,
  );
  const r = await leaklab(['run', SEED, '-k', 'unbuilt', '--runs-dir', join(dir, 'runs')], {
    env: { LEAKLAB_CACHE: ro, LEAKLAB_CATALOG: join(lab, 'kernels.yaml') },
    timeoutMs: 5 * 60_000,
  });
  t.is(r.code, 2, r.stderr);
  t.regex(
    r.stderr,
    /leaklab: filesystem error: unbuilt: cannot take the lock \S+\.lockdir: read-only filesystem \(EROFS\)\n {2}next step: unbuilt is not in the cache and building it needs a cache you can write to[^\n]*set LEAKLAB_CACHE/,
  );
  t.notRegex(r.stderr, /internal error|^\s+at /m);
  t.deepEqual(qemuProcesses(dir), []);
});
