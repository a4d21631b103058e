// bin/leaklab.js: the command runs from a bundle of the sources, cached by
// their hash, and the bundle finds the package's files (package.json, lab/,
// kconfig-why.py) from where it is cached.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT, VERSION } from '../../src/util/paths.ts';

const cacheDir = join(PACKAGE_ROOT, 'node_modules', '.cache', 'leaklab');

test('the command is bundled once per source state, with a source map, and the bundle runs on its own from the cache', (t) => {
  const r = spawnSync('node', [join(PACKAGE_ROOT, 'bin', 'leaklab.js'), '--version'], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), VERSION);
  // The newest bundle is this checkout's (others may be of earlier sources, removed an hour after they were made).
  const [bundle] = readdirSync(cacheDir)
    .filter((f) => /^cli-[0-9a-f]{16}\.mjs$/.test(f))
    .sort((a, b) => statSync(join(cacheDir, b)).mtimeMs - statSync(join(cacheDir, a)).mtimeMs);
  t.true(existsSync(join(cacheDir, `${bundle}.map`)), 'with its source map');
  // Run from its cache directory, not through bin/: package.json is found up from there.
  const direct = spawnSync('node', [join(cacheDir, bundle), '--version'], { encoding: 'utf8', timeout: 60_000, cwd: '/' });
  t.is(direct.status, 0, direct.stderr);
  t.is(direct.stdout.trim(), VERSION);
  t.regex(readFileSync(join(cacheDir, bundle), 'utf8'), /kconfig-why\.py/);
  t.true(existsSync(join(PACKAGE_ROOT, 'src', 'kernel', 'kconfig-why.py')));
});
