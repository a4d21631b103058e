// End to end: every failure a user can cause ends in one message naming the
// cause and a next step, exit code 2, no QEMU process and no half-made cache
// entry left behind. Uses the real CLI, real kernels and real guests.
import test from 'ava';
import { readdirSync, writeFileSync, mkdirSync, symlinkSync, readFileSync, existsSync } from 'node:fs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { leaklab, qemuProcesses, guestsOf, tempDir, pathWithout, ROOT } from '../helpers/cli.ts';
import { retryUntil } from '../../src/util/retry.ts';
import { readConfig } from '../../src/util/config.ts';
import { acquireLock } from '../../src/util/lock.ts';
import { loadRecipe } from '../../src/image/recipe.ts';
import { testContext } from '../helpers/context.ts';

// Where the CLI under test caches (LEAKLAB_CACHE, else XDG_CACHE_HOME, else ~/.cache): read the way it reads it.
const cacheDir = readConfig(process.env).cacheRoot;
const cacheEntries = (area: string) => (existsSync(join(cacheDir, area)) ? readdirSync(join(cacheDir, area)).sort() : []);

/**
 * The cached kernels (and temp entries) made since `before` that are this
 * test's: they serve catalog name `name`, or their meta.json names `patch`.
 * Other tests (the side lane of npm test) build kernels into the same cache
 * meanwhile: a snapshot of the whole area would count theirs.
 */
function ownerAlive(tempEntry: string): boolean {
  const pid = Number(/\.tmp-(\d+)/.exec(tempEntry)?.[1]);
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function kernelsMadeFor(before: string[], name: string, patch?: string): string[] {
  return cacheEntries('kernels')
    .filter((e) => !before.includes(e))
    .filter((e) => {
      const entry = join(cacheDir, 'kernels', e);
      // A temp entry is left behind when its owner is gone; a live owner's is another test's build in progress.
      if (e.startsWith('.')) return !ownerAlive(e);
      if (existsSync(join(entry, 'names', name))) return true;
      return patch !== undefined && existsSync(join(entry, 'meta.json')) && readFileSync(join(entry, 'meta.json'), 'utf8').includes(`"${patch}"`);
    });
}

function scenario(dir: string, name: string, extra: string, kernels = '[v6.1]'): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nkernels: ${kernels}\n${extra}\ntraffic: { to: remote, packets: 200, bursts: 2 }\nwatch: [ip6_dst_cache]\n`);
  return file;
}

/** A lab dir with the real config fragments and the given patches and catalog. */
function lab(dir: string, catalog: string, patches: Record<string, string> = {}): string {
  const labDir = join(dir, 'lab');
  mkdirSync(join(labDir, 'patches'), { recursive: true });
  symlinkSync(join(ROOT, 'lab/kconfig'), join(labDir, 'kconfig'));
  for (const [name, text] of Object.entries(patches)) writeFileSync(join(labDir, 'patches', name), text);
  writeFileSync(join(labDir, 'kernels.yaml'), catalog);
  return join(labDir, 'kernels.yaml');
}

function expectNoVerdict(t: any, r: { code: number | null; stderr: string; stdout: string }, message: RegExp): void {
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr + r.stdout, message);
  t.regex(r.stderr + r.stdout, /next step: /);
}

test('malformed YAML and schema errors: every problem with its line, exit 2', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'name: x\nkernels: [v6.1]\ntraffic:\n  packets: many\n  colour: red\nwatch: [ip6_dst_cache]\n');
  const r = await leaklab(['run', file]);
  expectNoVerdict(t, r, /bad\.yaml:4:\d+: traffic\.packets: expected integer/);
  t.regex(r.stderr, /bad\.yaml:5:3: traffic\.colour: unknown key/);
  writeFileSync(file, 'name: x\nkernels: [v6.1\n');
  expectNoVerdict(t, await leaklab(['run', file]), /bad\.yaml:\d+:\d+: YAML: /);
});

test('an unknown kernel is refused before anything is built', async (t) => {
  const r = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '--kernel', 'v9.9-nope']);
  expectNoVerdict(t, r, /unknown kernel "v9\.9-nope"/);
  t.regex(r.stderr, /use one of: v6\.1, v6\.1-fix-reverted, debian-6\.1-cloud/);
});

test("an unknown kernel in a scenario's own kernels: list is blamed on that file, for run and matrix", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'typo.yaml');
  writeFileSync(
    file,
    readFileSync(join(ROOT, 'scenarios/fib6-suppress-leak.yaml'), 'utf8').replace(/^kernels: .*$/m, 'kernels: [v6.1-fix-reverted, v6.12-fix-reverted, v6.1.0]'),
  );
  for (const args of [
    ['run', file, '--runs-dir', join(dir, 'runs')],
    ['matrix', file],
  ]) {
    const r = await leaklab(args);
    t.is(r.code, 2, r.stderr);
    t.regex(
      r.stderr,
      new RegExp(
        `scenario error: ${file.replace(/[.]/g, '\\.')}: kernels: unknown kernel "v6\\.1\\.0"\n  next step: use one of: [^\n]*; or fix the scenario's kernels: list`,
      ),
      args[0],
    );
  }
  t.false(existsSync(join(dir, 'runs')));
});

test('a kernel that panics at boot: exit 2 naming the panic, no QEMU left', async (t) => {
  const dir = tempDir(t);
  // Neither the initramfs init nor the requested init exists: the kernel panics.
  const file = scenario(dir, 'panics', 'guest: { cmdline: [rdinit=/no/such/init, init=/no/such/init] }');
  // The first test to need v6.1: on a fresh cache this includes its cold build.
  const r = await leaklab(['run', file, '--runs-dir', join(dir, 'runs')], { timeoutMs: 30 * 60_000 });
  expectNoVerdict(t, r, /the kernel panicked during boot/);
  t.regex(r.stdout + r.stderr, /Kernel panic - not syncing/);
  t.deepEqual(qemuProcesses(dir), []);
});

test('a guest that never answers: exit 2 after the boot timeout, no QEMU left', async (t) => {
  const dir = tempDir(t);
  const file = scenario(dir, 'silent', '');
  const r = await leaklab(['run', file, '--runs-dir', join(dir, 'runs')], { env: { LEAKLAB_BOOT_TIMEOUT: '1' }, timeoutMs: 5 * 60_000 });
  expectNoVerdict(t, r, /did not answer within 1 s/);
  t.regex(r.stdout + r.stderr, /LEAKLAB_BOOT_TIMEOUT/);
  // The console's tail is shown, without the firmware's terminal codes (SeaBIOS writes ESC c, ESC [2J, ...).
  t.regex(r.stdout + r.stderr, /\| /);
  t.notRegex(r.stdout + r.stderr, /\x1b/);
  t.deepEqual(qemuProcesses(dir), []);
});

test('a scenario command the guest rejects names the step and what the guest said', async (t) => {
  const dir = tempDir(t);
  const file = scenario(dir, 'badrule', 'rules: ["from all lookup main suppress_prefixlength banana"]');
  const r = await leaklab(['run', file, '--runs-dir', join(dir, 'runs')], { timeoutMs: 5 * 60_000 });
  expectNoVerdict(t, r, /failed at "ip -6 rule add from all lookup main suppress_prefixlength banana"/);
  t.regex(r.stdout + r.stderr, /\| Error: argument "banana" is wrong/);
  // ip netns add's warning on kernels without file locking (tinyconfig) is not what went wrong.
  t.notRegex(r.stdout + r.stderr, /could not flock/);
  t.deepEqual(qemuProcesses(dir), []);
});

test('a setup command that hangs: cut off after setupTimeout (default 30 s), named setup[i] with its command, shown as running meanwhile, exit 2', async (t) => {
  const dir = tempDir(t);
  const file = scenario(dir, 'hangs', 'setup: ["true", "sleep 600"]');
  let upAt = 0;
  const r = await leaklab(['run', file, '--runs-dir', join(dir, 'runs')], {
    timeoutMs: 5 * 60_000,
    onStderr: (all) => {
      if (!upAt && /guest up in/.test(all)) upAt = Date.now();
      return undefined;
    },
  });
  const afterBoot = (Date.now() - upAt) / 1000;
  expectNoVerdict(t, r, /setup\[1\]: timed out after 30 s/);
  t.regex(r.stdout, /\| command: sleep 600\n/);
  t.regex(r.stdout, /next step: [^\n]*raise setupTimeout/);
  t.notRegex(r.stdout + r.stderr, /lost the guest/);
  // While it runs: the step says what may take how long; in a log, the running task prints a line every 15 s.
  t.regex(r.stderr, /hangs on v6\.1: setting up the guest with setup\[0\.\.1\] \(at most 30 s each\)\n/);
  t.regex(r.stderr, /hangs on v6\.1: \[[#-]+\] +\d+% setting up the guest with setup\[0\.\.1\] \(at most 30 s each\): \d+ s of 190 s allowed/);
  t.true(afterBoot > 29 && afterBoot < 60, `ended ${afterBoot} s after the guest came up`);
  t.deepEqual(qemuProcesses(dir), []);
});

test('a patch that does not apply: exit 2 naming the hunk, cache and source tree unchanged', async (t) => {
  const dir = tempDir(t);
  const badPatch = readFileSync(join(ROOT, 'lab/patches/fib6-suppress-revert-fix.patch'), 'utf8').replace('suppress_route:', 'suppress_route_renamed:');
  const catalog = lab(
    dir,
    'kernels:\n  broken:\n    source: { debian: linux-source-6.1 }\n    config: { base: tinyconfig, fragments: [leaklab-base, ipv6-netfilter] }\n    patches: [bad.patch]\n',
    { 'bad.patch': badPatch },
  );
  const before = cacheEntries('kernels');
  const r = await leaklab(['run', scenario(dir, 's', '', '[broken]'), '--runs-dir', join(dir, 'runs')], { env: { LEAKLAB_CATALOG: catalog } });
  expectNoVerdict(t, r, /patch bad\.patch does not apply/);
  t.regex(r.stdout + r.stderr, /Hunk #1 FAILED/);
  t.deepEqual(kernelsMadeFor(before, 'broken', 'bad.patch'), [], 'no kernel cached');
  t.notRegex(r.stderr, /building bzImage/);
  // The shared source tree is pristine: nothing of the failed patch stayed.
  const src = cacheEntries('sources').find((e) => e.startsWith('linux-source-6.1'));
  const code = readFileSync(join(cacheDir, 'sources', src!, 'net/ipv6/fib6_rules.c'), 'utf8');
  t.regex(code, /suppress_route:\n\tip6_rt_put_flags\(rt, flags\);/);
  t.false(existsSync(join(cacheDir, 'sources', src!, 'net/ipv6/fib6_rules.c.rej')), 'no reject file left');
});

test('a kernel missing a config option the scenario needs: named before building', async (t) => {
  const dir = tempDir(t);
  const catalog = lab(
    dir,
    'kernels:\n  no-netfilter:\n    source: { debian: linux-source-6.1 }\n    config: { base: tinyconfig, fragments: [leaklab-base] }\n',
  );
  const before = cacheEntries('kernels');
  const r = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', 'no-netfilter', '--runs-dir', join(dir, 'runs')], {
    env: { LEAKLAB_CATALOG: catalog },
  });
  // Why, from the tree's own Kconfig: the first option in the message, every one in the details, all the lines to add in the next step.
  expectNoVerdict(
    t,
    r,
    /kernel no-netfilter lacks \d+ config options the scenario needs: CONFIG_VETH=y \(the scenario, for the veth pair between guest and peer\) is not set: it depends on NET_CORE && NETDEVICES, and NET_CORE is not set \(its default\)/,
  );
  t.regex(r.stdout + r.stderr, /next step: add .*"CONFIG_IPV6=y".*"CONFIG_NF_TABLES_IPV6=y".*"CONFIG_NFT_FIB_IPV6=y" to a fragment in /);
  t.deepEqual(kernelsMadeFor(before, 'no-netfilter'), [], 'nothing built');
  t.notRegex(r.stderr, /building bzImage/);
});

test("a fragment option make olddefconfig drops on 6.12: why, from the kernel's own Kconfig, and the line that keeps it", async (t) => {
  // The shipped leaklab-base as it was before 6.12: without its "# CONFIG_SLUB_TINY is not set".
  const dir = tempDir(t);
  const labDir = join(dir, 'lab');
  mkdirSync(join(labDir, 'kconfig'), { recursive: true });
  for (const f of ['leaklab-base', 'ipv6-netfilter']) {
    const text = readFileSync(join(ROOT, 'lab/kconfig', `${f}.config`), 'utf8');
    writeFileSync(join(labDir, 'kconfig', `${f}.config`), text.replace(/^# CONFIG_SLUB_TINY is not set\n/m, ''));
  }
  writeFileSync(
    join(labDir, 'kernels.yaml'),
    'kernels:\n  old-fragments:\n    source: { debian: linux-source-6.12 }\n    config: { base: tinyconfig, fragments: [leaklab-base, ipv6-netfilter] }\n',
  );
  const before = cacheEntries('kernels');
  const r = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', 'old-fragments', '--runs-dir', join(dir, 'runs')], {
    env: { LEAKLAB_CATALOG: join(labDir, 'kernels.yaml') },
  });
  expectNoVerdict(
    t,
    r,
    /kernel old-fragments: CONFIG_SLUB_DEBUG=y \(leaklab-base\) was dropped: it depends on SYSFS && !SLUB_TINY, and SLUB_TINY=y \(set by tinyconfig\)/,
  );
  t.regex(r.stdout + r.stderr, /next step: add "# CONFIG_SLUB_TINY is not set" to a fragment of old-fragments/);
  t.regex(r.stdout + r.stderr, /fix \(checked with the kernel’s Kconfig\): "# CONFIG_SLUB_TINY is not set"/);
  t.deepEqual(kernelsMadeFor(before, 'old-fragments'), [], 'nothing built');
  t.notRegex(r.stderr, /building bzImage/);
});

test('a kernel that fails to build: exit 2 with the compiler error, nothing cached (after waiting for the one build another run holds)', async (t) => {
  const dir = tempDir(t);
  const breaking = [
    '--- a/net/ipv6/fib6_rules.c',
    '+++ b/net/ipv6/fib6_rules.c',
    '@@ -300,6 +300,7 @@',
    ' 	return false;',
    ' ',
    ' suppress_route:',
    '+	this_is_not_c;',
    ' 	ip6_rt_put_flags(rt, flags);',
    ' 	res->rt6 = NULL;',
    ' 	return true;',
    '',
  ].join('\n');
  const catalog = lab(
    dir,
    'kernels:\n  breaks:\n    source: { debian: linux-source-6.1 }\n    config: { base: tinyconfig, fragments: [leaklab-base, ipv6-netfilter] }\n    patches: [breaks.patch]\n',
    { 'breaks.patch': breaking },
  );
  const before = cacheEntries('kernels');
  // Another run is building a kernel: this one waits for it (one build at a time per cache), then builds.
  const build = await acquireLock(testContext(), join(cacheDir, 'locks', 'kernel-build.lockdir'), 'another run');
  t.teardown(() => build.release());
  let waited = 0;
  const r = await leaklab(['run', scenario(dir, 's', '', '[breaks]'), '--runs-dir', join(dir, 'runs')], {
    env: { LEAKLAB_CATALOG: catalog },
    onStderr: (all) => {
      if (!waited && /breaks: waiting for another kernel build to finish \(one at a time: each uses every core\)/.test(all)) {
        waited = Date.now();
        void build.release();
      }
      return undefined;
    },
  });
  t.true(waited > 0, 'it said it waits for the other build');
  // The patched file's object is compiled first when an earlier build left one (stale-objects.ts), else with the rest.
  t.regex(r.stderr, /waiting for another kernel build to finish[\s\S]*breaks: (building bzImage|compiling net\/ipv6\/fib6_rules\.o afresh)/);
  expectNoVerdict(t, r, /kernel breaks failed to build/);
  t.regex(r.stdout + r.stderr, /this_is_not_c/);
  t.deepEqual(kernelsMadeFor(before, 'breaks', 'breaks.patch'), [], 'nothing cached');
  const src = cacheEntries('sources').find((e) => e.startsWith('linux-source-6.1'));
  t.truthy(src);
  t.notRegex(readFileSync(join(cacheDir, 'sources', src!, 'net/ipv6/fib6_rules.c'), 'utf8'), /this_is_not_c/, 'patch reverted');
});

test('mmdebstrap not installed: exit 2 naming the package, no image cached', async (t) => {
  const dir = tempDir(t);
  // A recipe never made before, so the image must be built.
  const images = join(dir, 'images');
  mkdirSync(images);
  writeFileSync(join(images, 'debian-bookworm.yaml'), readFileSync(join(ROOT, 'images/debian-bookworm.yaml'), 'utf8') + `# ${dir}\n`);
  const before = cacheEntries('images');
  const r = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', 'v6.1', '--runs-dir', join(dir, 'runs')], {
    env: { PATH: pathWithout(dir, 'mmdebstrap'), LEAKLAB_IMAGES: images },
  });
  expectNoVerdict(t, r, /mmdebstrap is not installed/);
  // The shipped recipe's image may appear meanwhile: npm test's other lane makes it in the same cache.
  const shipped = await loadRecipe(join(ROOT, 'images'), 'debian-bookworm');
  const made = cacheEntries('images').filter((e) => !before.includes(e) && e !== `${shipped.name}-${shipped.key}`);
  t.deepEqual(made, [], 'no image cached');
});

test('qemu not installed: exit 2 naming the package to install', async (t) => {
  const dir = tempDir(t);
  const r = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', 'v6.1', '--runs-dir', join(dir, 'runs')], {
    env: { PATH: pathWithout(dir, 'qemu-system') },
  });
  expectNoVerdict(t, r, /qemu-system-x86_64 is not installed/);
  t.regex(r.stderr + r.stdout, /qemu-system-x86/);
});

test('Ctrl-C while a guest runs: exit 130, guest stopped, temp dirs removed', async (t) => {
  const dir = tempDir(t);
  const r = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', 'v6.1', '--runs-dir', join(dir, 'runs')], {
    onStderr: (all) => (/burst 1\//.test(all) ? 'SIGINT' : undefined),
  });
  t.is(r.code, 130, r.stderr);
  t.regex(r.stderr, /stopping guests/);
  t.deepEqual(qemuProcesses(dir), []);
});

test('Ctrl-C while a guest is being stopped: exit 130 once the stop has finished (no QEMU, no socket dir left)', async (t) => {
  const dir = tempDir(t);
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const r = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', 'v6.1', '--runs-dir', join(dir, 'runs')], {
    env: { TMPDIR: tmp, LEAKLAB_DEBUG: 'guest' },
    onStderr: (all) => (/debug guest: v6\.1: stopping/.test(all) ? 'SIGINT' : undefined),
  });
  t.is(r.code, 130, r.stderr.slice(-2000));
  t.regex(r.stderr, /stopping \(QMP quit, then SIGKILL\)[^]*SIGINT: stopping guests/);
  t.deepEqual(
    readdirSync(tmp).filter((f) => f.startsWith('leaklab-')),
    [],
    'the socket dir is removed',
  );
  t.deepEqual(qemuProcesses(dir), []);
});

test('SIGKILL to leaklab while a guest boots: the guest dies with it; the next run removes its socket dir', async (t) => {
  const dir = tempDir(t);
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  let owner = 0;
  const r = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', 'v6.1', '--runs-dir', join(dir, 'runs')], {
    env: { TMPDIR: tmp },
    poll: (pid) => {
      owner = pid;
      return guestsOf(pid).length > 0 ? 'SIGKILL' : undefined;
    },
  });
  // Should it outlive the test (the check below failing), it is ours to end.
  t.teardown(() => guestsOf(owner).forEach((pid) => process.kill(pid, 'SIGKILL')));
  t.is(r.signal, 'SIGKILL', r.stderr);
  t.regex(r.stderr, /booting|restoring the boot snapshot/);
  // SIGKILL gives leaklab no chance to clean up: the kernel ends the guest (its parent-death signal).
  const gone = await retryUntil(() => (guestsOf(owner).length === 0 ? true : undefined), { intervalMs: 100, timeoutMs: 5_000 });
  t.true(gone, `guest of ${owner} still running: ${guestsOf(owner).join(' ')}`);
  t.is(readdirSync(tmp).filter((f) => f.startsWith(`leaklab-${owner}.`)).length, 1, 'its socket dir is left behind');
  const next = await leaklab(['run', join(dir, 'no-such-scenario.yaml')], { env: { TMPDIR: tmp } });
  t.is(next.code, 2);
  t.deepEqual(
    readdirSync(tmp).filter((f) => f.startsWith('leaklab-')),
    [],
    'the next run removed it',
  );
});

test('a guest left running by a killed leaklab (one without the parent-death signal, say) is stopped by the next run', async (t) => {
  const dir = tempDir(t);
  // An owner that is surely gone: a process that has exited.
  const dead = spawn('true');
  await once(dead, 'exit');
  const orphan = spawn(
    'qemu-system-x86_64',
    ['-name', `leaklab-owner-${dead.pid}`, '-S', '-nodefaults', '-display', 'none', '-serial', `file:${join(dir, 'console.log')}`],
    { stdio: 'ignore' },
  );
  t.teardown(() => orphan.kill('SIGKILL'));
  await retryUntil(() => (qemuProcesses(dir).length > 0 ? true : undefined), { intervalMs: 100, timeoutMs: 10_000 });
  t.is(qemuProcesses(dir).length, 1);
  const next = await leaklab(['run', join(dir, 'no-such-scenario.yaml')]);
  t.is(next.code, 2);
  t.regex(next.stderr, /QEMU guests stopped: 1, left by a leaklab process that was killed/);
  t.true(await retryUntil(() => (qemuProcesses(dir).length === 0 ? true : undefined), { intervalMs: 100, timeoutMs: 3_000 }));
});

/** A process that starts making the cache entry images/KEY in `cache` and never finishes; returned once its temp dir exists. */
async function unfinishedEntry(cache: string, key: string): Promise<ChildProcess> {
  const code = `import { cachedDir } from ${JSON.stringify(join(ROOT, 'src/util/cache.ts'))};
import { createContext } from ${JSON.stringify(join(ROOT, 'src/util/context.ts'))};
import { writeFileSync } from 'node:fs';
await cachedDir(createContext({ quiet: true }), 'images', ${JSON.stringify(key)}, async (tmp) => {
  writeFileSync(tmp + '/half-made', '');
  console.log('filling');
  await new Promise(() => setInterval(() => {}, 1000));
});`;
  const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env: { ...process.env, LEAKLAB_CACHE: cache },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('filling') && resolve());
    child.on('exit', (c) => reject(new Error(`the entry maker exited (${c})`)));
  });
  return child;
}

test('SIGKILL while a cache entry is being made: leaklab clean (or the next run) removes its temp dir; one of a live leaklab is kept', async (t) => {
  const dir = tempDir(t);
  const cache = join(dir, 'cache');
  const temps = () =>
    readdirSync(join(cache, 'images'))
      .filter((n) => n.includes('.tmp-'))
      .map((n) => n.split('.tmp-')[0])
      .sort();
  const killed = await unfinishedEntry(cache, 'killed');
  killed.kill('SIGKILL');
  await once(killed, 'exit');
  const live = await unfinishedEntry(cache, 'alive');
  t.teardown(() => live.kill('SIGKILL'));
  t.deepEqual(temps(), ['.alive', '.killed']);
  const clean = await leaklab(['clean'], { env: { LEAKLAB_CACHE: cache } });
  t.is(clean.code, 0, clean.stderr);
  t.regex(clean.stdout, /unfinished cache entries removed: 1\n/);
  t.deepEqual(temps(), ['.alive'], "a live leaklab's entry is never removed");
  live.kill('SIGKILL');
  await once(live, 'exit');
  const next = await leaklab(['run', join(dir, 'no-such-scenario.yaml')], { env: { LEAKLAB_CACHE: cache } });
  t.is(next.code, 2);
  t.regex(next.stderr, /removed 1 unfinished cache entry left by a leaklab process that was killed/);
  t.deepEqual(temps(), []);
});

test('output paths that cannot be made (under /proc, where a recursive mkdir loops forever): one message each, exit 2, nothing run', async (t) => {
  const dir = tempDir(t);
  const seed = 'scenarios/fib6-suppress-leak.yaml';
  const cases: [string[], Record<string, string>, RegExp][] = [
    [
      ['--report', '/proc/leaklab-x', '--runs-dir', join(dir, 'runs')],
      {},
      /cannot write \/proc\/leaklab-x: [^]*next step: give --report a path you can write to/,
    ],
    [
      ['--json', '/proc/leaklab-x/r.json', '--runs-dir', join(dir, 'runs')],
      {},
      /cannot write \/proc\/leaklab-x\/r\.json: [^]*next step: give --json a path you can write to/,
    ],
    [['--runs-dir', '/proc/leaklab-x'], {}, /cannot make the runs directory \/proc\/leaklab-x[^]*next step: give --runs-dir/],
    [
      ['--runs-dir', join(dir, 'runs')],
      { LEAKLAB_CACHE: '/proc/leaklab-x' },
      /cannot make the cache directory \/proc\/leaklab-x[^]*next step: set LEAKLAB_CACHE/,
    ],
  ];
  for (const [args, env, message] of cases) {
    const r = await leaklab(['run', seed, '-k', 'v6.1', ...args], { env, timeoutMs: 60_000 });
    t.is(r.code, 2, `${args.join(' ')}: ${r.signal ?? ''}\n${r.stderr}`);
    t.regex(r.stderr, message);
  }
  t.false(existsSync(join(dir, 'runs')), 'no run directory');
  t.deepEqual(qemuProcesses(dir), []);
});

test('LEAKLAB_ACCEL=kvm where KVM cannot work: refused at once instead of waiting out the boot timeout', async (t) => {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const dir = tempDir(t);
  if (/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo) && existsSync('/dev/kvm')) {
    // KVM can work here: forcing it must be accepted, and the run must give its verdicts.
    const ok = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', 'v6.1', '--runs-dir', join(dir, 'runs')], {
      env: { LEAKLAB_ACCEL: 'kvm' },
      timeoutMs: 120_000,
    });
    t.is(ok.code, 0, ok.stderr);
    t.regex(ok.stderr, /booting \(kvm: LEAKLAB_ACCEL\)|restoring the boot snapshot \w+ \(kvm\)/);
    return;
  }
  const r = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', 'v6.1', '--runs-dir', join(dir, 'runs')], {
    env: { LEAKLAB_ACCEL: 'kvm' },
    timeoutMs: 60_000,
  });
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /LEAKLAB_ACCEL=kvm cannot work here: [^\n]*\n {2}next step: unset LEAKLAB_ACCEL/);
  t.false(existsSync(join(dir, 'runs')));
});

test('a guest.image without a recipe is refused before anything runs', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'image.yaml');
  writeFileSync(file, readFileSync(join(ROOT, 'scenarios/fib6-suppress-leak.yaml'), 'utf8').replace(/^guest:\n/m, 'guest:\n  image: debian-nope\n'));
  const r = await leaklab(['run', file, '--runs-dir', join(dir, 'runs')]);
  t.is(r.code, 2, r.stderr);
  t.regex(
    r.stderr,
    /scenario error: .*image\.yaml has 1 problem\n {2}next step: [^]*image\.yaml:\d+:\d+: guest\.image: names no recipe: there is no debian-nope\.yaml in .*images \(recipes there: debian-bookworm\)/,
  );
  t.false(existsSync(join(dir, 'runs')));
});

test('a guest.image that is a path, not a recipe name, is refused at its line, naming the recipes', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'image.yaml');
  writeFileSync(file, readFileSync(join(ROOT, 'scenarios/fib6-suppress-leak.yaml'), 'utf8').replace(/^guest:\n/m, 'guest:\n  image: ../../../../etc/passwd\n'));
  const line = readFileSync(file, 'utf8').split('\n').indexOf('  image: ../../../../etc/passwd') + 1;
  const r = await leaklab(['run', file, '--runs-dir', join(dir, 'runs')]);
  expectNoVerdict(
    t,
    r,
    new RegExp(
      `image\\.yaml:${line}:10: guest\\.image: is not a recipe name: give the NAME of a recipe images/NAME\\.yaml, not a path \\(recipes in \\S+: debian-bookworm\\)`,
    ),
  );
  t.notRegex(r.stderr, /passwd\.yaml/);
  t.false(existsSync(join(dir, 'runs')));
});

test('validate-patch and bisect refuse a bad scenario or a missing image recipe before building or making a run directory', async (t) => {
  const dir = tempDir(t);
  const seedText = readFileSync(join(ROOT, 'scenarios/fib6-suppress-leak.yaml'), 'utf8');
  const noImage = join(dir, 'image.yaml');
  writeFileSync(noImage, seedText.replace(/^guest:\n/m, 'guest:\n  image: debian-nope\n'));
  const badYaml = join(dir, 'bad.yaml');
  writeFileSync(badYaml, seedText.replace(/^ {2}packets: 2000$/m, '  packets: lots'));
  const commands = [
    ['validate-patch', '-s', 'v6.1-fix-reverted', '-p', 'lab/patches/fib6-suppress-fix.patch', '--no-suite'],
    ['bisect', 'versions', '-k', 'v6.1-fix-reverted,v6.1', '--fix'],
  ];
  for (const cmd of commands) {
    for (const [file, message] of [
      [noImage, /scenario error: [^]*guest\.image: names no recipe: there is no debian-nope\.yaml/],
      [badYaml, /scenario error: .*bad\.yaml has 1 problem/],
    ] as const) {
      const r = await leaklab([...cmd, file, '--runs-dir', join(dir, 'runs')], { timeoutMs: 60_000 });
      t.is(r.code, 2, `${cmd[0]} ${file}: ${r.stderr}`);
      t.regex(r.stderr, message);
      t.notRegex(r.stderr, /building|booting/);
      t.false(existsSync(join(dir, 'runs')), `${cmd[0]}: no run directory`);
    }
  }
});

test('a kernel given twice, or an empty kernel name, is a usage error before anything is built or a run directory is made', async (t) => {
  const dir = tempDir(t);
  // Kernels whose bzImage does not exist: should the check ever let one through, the run fails at once instead of booting.
  const catalog = lab(dir, 'kernels:\n  a:\n    bzImage: /nonexistent/a\n  b:\n    bzImage: /nonexistent/b\n');
  const file = scenario(dir, 'twice', '', '[a, b]');
  const runs = ['--runs-dir', join(dir, 'runs')];
  for (const [args, message] of [
    [['run', file, '-k', 'a,a', ...runs], /usage error: --kernel names a twice/],
    [['run', file, '-k', 'a', '-k', 'b,a', ...runs], /usage error: --kernel names a twice/],
    [['run', file, '-k', '', ...runs], /usage error: --kernel "" has an empty kernel name/],
    [['run', file, '-k', 'a,', ...runs], /usage error: --kernel "a," has an empty kernel name/],
    [['matrix', file, '-k', 'b,b'], /usage error: --kernel names b twice/],
    [['bisect', 'versions', '-k', 'a,,b', file, ...runs], /usage error: --kernels "a,,b" has an empty kernel name/],
    [['bisect', 'versions', '-k', 'a,b,a', file, ...runs], /usage error: --kernels names a twice/],
  ] as const) {
    const r = await leaklab([...args], { env: { LEAKLAB_CATALOG: catalog }, timeoutMs: 60_000 });
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message, args.join(' '));
    t.regex(r.stderr, /next step: /);
    t.notRegex(r.stderr, /leaklab: run directory|building|booting/, args.join(' '));
  }
  t.false(existsSync(join(dir, 'runs')), 'no run directory');
});

test("a kernel listed twice in a scenario's kernels: is a scenario error at its line", async (t) => {
  const dir = tempDir(t);
  const catalog = lab(dir, 'kernels:\n  a:\n    bzImage: /nonexistent/a\n  b:\n    bzImage: /nonexistent/b\n');
  const file = scenario(dir, 'dup', '', '[a, b, a]');
  const r = await leaklab(['run', file, '--runs-dir', join(dir, 'runs')], { env: { LEAKLAB_CATALOG: catalog }, timeoutMs: 60_000 });
  expectNoVerdict(t, r, /scenario error: .*dup\.yaml has 1 problem[^]*dup\.yaml:2:17: kernels\.2: lists "a" twice/);
  t.false(existsSync(join(dir, 'runs')), 'no run directory');
});

test('traffic.to that is not an endpoint or an address is refused at load time, and nothing of it reaches a shell', async (t) => {
  const dir = tempDir(t);
  // Kernels whose bzImage does not exist: should the check ever let one through, the run fails at once instead of booting.
  const catalog = lab(dir, 'kernels:\n  a:\n    bzImage: /nonexistent/a\n');
  const marker = join(dir, 'touched');
  for (const [to, shown] of [
    [`"2001:db8:ffff::1; touch ${marker}"`, `"2001:db8:ffff::1; touch ${marker}"`],
    ['not-an-address', '"not-an-address"'],
  ]) {
    const file = join(dir, 'to.yaml');
    writeFileSync(file, `name: to\nkernels: [a]\ntraffic: { packets: 200, bursts: 2, to: ${to} }\nwatch: [ip6_dst_cache]\n`);
    const r = await leaklab(['run', file, '--runs-dir', join(dir, 'runs')], { env: { LEAKLAB_CATALOG: catalog }, timeoutMs: 60_000 });
    expectNoVerdict(t, r, new RegExp(`to\\.yaml:3:\\d+: traffic\\.to: is ${shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: give an endpoint`));
    t.false(existsSync(join(dir, 'runs')), 'no run directory');
  }
  t.false(existsSync(marker));
});

test('a binary file, an alias bomb or a huge file as scenario or catalog: one message each, no internal error, no bytes of the file', async (t) => {
  const dir = tempDir(t);
  const bomb = join(dir, 'bomb.yaml');
  const levels = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (const [i, c] of [...'bcdefghi'].entries()) levels.push(`${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`);
  writeFileSync(bomb, `name: bomb\nkernels: [v6.1]\ntraffic: { packets: 100 }\nwatch: [ip6_dst_cache]\n${levels.join('\n')}\n`);
  const runs = ['--runs-dir', join(dir, 'runs')];
  const huge = join(dir, 'huge.yaml');
  writeFileSync(huge, `name: huge\nkernels: [v6.1]\ntraffic: { packets: 100 }\nwatch: [ip6_dst_cache]\n${'# padding\n'.repeat(110_000)}`);
  for (const [args, env, message] of [
    [
      ['run', '/bin/ls', ...runs],
      {},
      /^leaklab: scenario error: \/bin\/ls is not a text scenario file: it holds binary data \(byte 0x7f on line 1\)\n {2}next step: /,
    ],
    [['run', bomb, ...runs], {}, /^leaklab: scenario error: \S+bomb\.yaml has 1 problem\n[^]*bomb\.yaml:6:8: YAML: its aliases expand to too much/],
    [['run', huge, ...runs], {}, /^leaklab: scenario error: \S+huge\.yaml is too large for a scenario file: 1\.1 MB \(at most 1 MB\)\n {2}next step: /],
    [['kernels'], { LEAKLAB_CATALOG: '/bin/ls' }, /^leaklab: catalog error: \/bin\/ls is not a text kernel catalog: it holds binary data/],
  ] as const) {
    const r = await leaklab([...args], { env, timeoutMs: 60_000 });
    expectNoVerdict(t, r, message);
    t.notRegex(r.stderr, /internal error/);
    t.true(r.stderr.length < 600, `${args.join(' ')}: ${r.stderr.length} bytes on stderr`);
  }
  t.false(existsSync(join(dir, 'runs')), 'no run directory');
});

test('a catalog bzImage that is not one (/bin/ls) is refused before booting; leaklab kernels lists a missing one as missing', async (t) => {
  const dir = tempDir(t);
  const catalog = lab(dir, 'kernels:\n  ls:\n    bzImage: /bin/ls\n  gone:\n    bzImage: /nonexistent/bzImage\n');
  const r = await leaklab(['run', scenario(dir, 'ls', '', '[ls]'), '--runs-dir', join(dir, 'runs')], {
    env: { LEAKLAB_CATALOG: catalog },
    timeoutMs: 5 * 60_000,
  });
  expectNoVerdict(t, r, /kernel ls: \/bin\/ls is not a bzImage \(no x86 boot header "HdrS" at offset 0x202\)/);
  t.notRegex(r.stdout + r.stderr, /LEAKLAB_BOOT_TIMEOUT|booting/);
  t.deepEqual(qemuProcesses(dir), []);
  const list = await leaklab(['kernels'], { env: { LEAKLAB_CATALOG: catalog } });
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /^ls +not a bzImage +bzImage \/bin\/ls$/m);
  t.regex(list.stdout, /^gone +missing +bzImage \/nonexistent\/bzImage$/m);
  const json = JSON.parse((await leaklab(['kernels', '--json'], { env: { LEAKLAB_CATALOG: catalog } })).stdout);
  t.deepEqual(
    json.map((k: any) => [k.name, k.status, k.cached]),
    [
      ['ls', 'not a bzImage', false],
      ['gone', 'missing', false],
    ],
  );
});

test("with LEAKLAB_CATALOG, a missing fragment names that catalog's kconfig/ directory, not lab/kconfig/", async (t) => {
  const dir = tempDir(t);
  const catalog = lab(dir, 'kernels:\n  k:\n    source: { debian: linux-source-6.1 }\n    config: { fragments: [leaklab-base, no-such-fragment] }\n');
  const r = await leaklab(['run', scenario(dir, 'frag', '', '[k]'), '--runs-dir', join(dir, 'runs')], {
    env: { LEAKLAB_CATALOG: catalog },
    timeoutMs: 5 * 60_000,
  });
  expectNoVerdict(
    t,
    r,
    new RegExp(
      `config fragment not found: ${dir}/lab/kconfig/no-such-fragment\\.config\\n *next step: fragments are files in ${dir}/lab/kconfig/ \\(beside ${dir}/lab/kernels\\.yaml\\)`,
    ),
  );
  t.notRegex(r.stdout + r.stderr, /next step: [^\n]* lab\/kconfig\//);
});

/** A tmpfs with no room left, unmounted when the test ends; undefined where tests may not mount (no CAP_SYS_ADMIN). */
function fullFilesystem(t: any, dir: string): string | undefined {
  const mnt = join(dir, 'full');
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'leaklab-test-full', mnt], { stdio: 'pipe' });
  } catch (err) {
    t.log(`no full-filesystem cases: cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`);
    return undefined;
  }
  // Teardowns run newest first: unmounted before tempDir removes the directory.
  t.teardown(() => execFileSync('umount', ['-l', mnt]));
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=4k'], { stdio: 'pipe' });
  } catch {
    // dd stops with "No space left on device": that is the point.
  }
  return mnt;
}

test('outputs that cannot be written (a directory, /dev/full, a full filesystem): one message naming the path before anything runs, for run, validate-patch, bisect and report merge', async (t) => {
  const dir = tempDir(t);
  const runs = join(dir, 'runs');
  const seed = 'scenarios/fib6-suppress-leak.yaml';
  const shard = join(dir, 'shard.json');
  writeFileSync(shard, JSON.stringify({ leaklab: '0', suite: { id: 'x', cells: 0, positions: [] }, results: [] }));
  const full = fullFilesystem(t, dir);
  const isDir = (p: string, flag: string) => new RegExp(`cannot write ${p}: it is a directory \\(EISDIR\\)\n {2}next step: give ${flag} a file name`);
  const noSpace = (p: string, flag: string) =>
    new RegExp(`cannot write ${p}[^\n]*: no space left on the device \\(ENOSPC\\)\n {2}next step: free space [^\n]*give ${flag}`);
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['run', seed, '-k', 'v6.1', '--json', dir, '--runs-dir', runs], {}, isDir(dir, '--json')],
    [['run', seed, '-k', 'v6.1', '--junit', '/dev/full', '--runs-dir', runs], {}, noSpace('/dev/full', '--junit')],
    [['run', seed, '-k', 'v6.1', '--json', '/dev/full', '--runs-dir', runs], {}, noSpace('/dev/full', '--json')],
    [
      ['validate-patch', '-s', 'v6.1-fix-reverted', '-p', 'lab/patches/fib6-suppress-fix.patch', '--no-suite', seed, '--json', dir, '--runs-dir', runs],
      {},
      isDir(dir, '--json'),
    ],
    [['bisect', 'versions', '-k', 'v6.1-fix-reverted,v6.1', '--fix', seed, '--json', '/dev/full', '--runs-dir', runs], {}, noSpace('/dev/full', '--json')],
    [['report', 'merge', shard, '--json', dir], {}, isDir(dir, '--json')],
    [['report', 'merge', shard, '--junit', '/dev/full'], {}, noSpace('/dev/full', '--junit')],
    ...(full
      ? ([
          [['run', seed, '-k', 'v6.1'], { LEAKLAB_RUNS: full }, noSpace(full, '--runs-dir \\(or LEAKLAB_RUNS\\)')],
          [['run', seed, '-k', 'v6.1', '--json', join(full, 'r.json'), '--runs-dir', runs], {}, noSpace(full, '--json')],
          [['report', 'merge', shard, '--report', join(full, 'report')], {}, noSpace(join(full, 'report'), '--report')],
        ] as [string[], Record<string, string>, RegExp][])
      : []),
  ];
  for (const [args, env, message] of cases) {
    const r = await leaklab(args, { env, timeoutMs: 60_000 });
    const what = `${args.join(' ')} ${JSON.stringify(env)}`;
    t.is(r.code, 2, `${what}: ${r.signal ?? ''}\n${r.stderr}`);
    t.regex(r.stderr, message, what);
    t.notRegex(r.stderr, /internal error|this is a leaklab bug|^\s+at /m, what);
    t.notRegex(r.stderr, /building|booting|run directory/, `${what}: nothing ran`);
  }
  t.false(existsSync(runs), 'no run directory');
  if (full) t.deepEqual(readdirSync(full), ['filler'], 'nothing left on the full filesystem (no run directory, no probe, no temp file)');
  t.deepEqual(qemuProcesses(dir), []);
});
