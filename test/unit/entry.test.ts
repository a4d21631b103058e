// bin/leaklab.js: the command runs from a bundle of the sources, cached by
// their hash, and the bundle finds the package's files (package.json, lab/,
// kconfig-why.py) from where it is cached.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT, VERSION } from '../../src/util/paths.ts';

const cacheDir = join(PACKAGE_ROOT, 'node_modules', '.cache', 'leaklab');

test('the command is bundled once per source state, and the bundle runs on its own from the cache', (t) => {
  const r = spawnSync('node', [join(PACKAGE_ROOT, 'bin', 'leaklab.js'), '--version'], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), VERSION);
  const bundles = readdirSync(cacheDir).filter((f) => /^cli-[0-9a-f]{16}\.mjs$/.test(f));
  t.is(bundles.length, 1, 'one bundle: those of earlier sources are removed');
  // Run from its cache directory, not through bin/: package.json is found up from there.
  const direct = spawnSync('node', [join(cacheDir, bundles[0]), '--version'], { encoding: 'utf8', timeout: 60_000, cwd: '/' });
  t.is(direct.status, 0, direct.stderr);
  t.is(direct.stdout.trim(), VERSION);
  t.regex(readFileSync(join(cacheDir, bundles[0]), 'utf8'), /kconfig-why\.py/);
  t.true(existsSync(join(PACKAGE_ROOT, 'src', 'kernel', 'kconfig-why.py')));
});
