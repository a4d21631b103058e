import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCatalog, findKernel } from '../../src/kernel/catalog.ts';
import { LeaklabError } from '../../src/util/errors.ts';
import { tempDir } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { readFragments } from '../../src/kernel/kconfig.ts';
import { readPatches } from '../../src/kernel/patch-set.ts';
import { assertConfigMeets, parseKernelConfig } from '../../src/kernel/requirements.ts';

test('the shipped catalog has the three kernels of the seed scenario', async (t) => {
  const c = await loadCatalog('lab/kernels.yaml');
  t.is(findKernel(c, 'v6.1').kind, 'source');
  t.deepEqual((findKernel(c, 'v6.1-fix-reverted') as any).patches, ['fib6-suppress-revert-fix.patch']);
  t.is(findKernel(c, 'debian-6.1-cloud').kind, 'package');
  const err = t.throws(() => findKernel(c, 'v9'), { instanceOf: LeaklabError });
  t.regex(err!.hint!, /v6\.1, v6\.1-fix-reverted, debian-6\.1-cloud/);
});

test('a misspelt key or a bad entry name is reported with its position', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'kernels.yaml');
  writeFileSync(file, 'kernels:\n  good:\n    pakage: linux-image-foo\n  "bad name!":\n    package: linux-image-x\n');
  const err = await t.throwsAsync(loadCatalog(file), { instanceOf: LeaklabError });
  t.regex(err!.details!, /kernels\.yaml:3:\d+: kernels\.good/);
  t.regex(err!.details!, /kernels\.yaml:4:\d+: kernels\.bad name!/);
});

test('a series naming an unknown kernel, or a kernel twice, is reported at its line', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'kernels.yaml');
  writeFileSync(file, 'kernels:\n  a:\n    package: linux-image-a\n  b:\n    package: linux-image-b\nseries:\n  s: [a, b, a]\n  u: [a, toString]\n');
  const err = await t.throwsAsync(loadCatalog(file), { instanceOf: LeaklabError });
  t.is(err!.message, `${file} has 2 problems`);
  t.regex(err!.details!, /kernels\.yaml:7:13: series\.s\.2: lists "a" twice/);
  t.regex(err!.details!, /kernels\.yaml:8:10: series\.u\.1: names an unknown kernel "toString"; use kernels defined under kernels: \(a, b\)/);
});

test('a kernel name is a name, not a path (it names run and cache directories)', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'kernels.yaml');
  writeFileSync(file, 'kernels:\n  ..:\n    package: linux-image-a\n');
  const err = await t.throwsAsync(loadCatalog(file), { instanceOf: LeaklabError });
  t.regex(err!.details!, /kernels\.yaml:2:3: kernels\.\.\.: /);
});

test('an entry is exactly one kind: source and bzImage together are one problem saying so, not "source: unknown key"', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'kernels.yaml');
  writeFileSync(
    file,
    [
      'kernels:',
      '  both:',
      '    source: { debian: linux-source-6.1 }',
      '    bzImage: /boot/vmlinuz',
      '  three:',
      '    package: linux-image-a',
      '    source: { debian: linux-source-6.1 }',
      '    config: { base: tinyconfig }',
      '    bzImage: /boot/vmlinuz',
      '  none:',
      '    description: nothing to boot',
      '',
    ].join('\n'),
  );
  const err = await t.throwsAsync(loadCatalog(file), { instanceOf: LeaklabError });
  t.deepEqual(err!.details!.split('\n'), [
    `${file}:3:5: kernels.both: has source and bzImage: an entry is exactly one kind: source (built from source, with config and patches), package (a Debian package), bzImage (a kernel you built, with modules and config) or rpm (a kernel RPM)`,
    `${file}:6:5: kernels.three: has source, package and bzImage: an entry is exactly one kind: source (built from source, with config and patches), package (a Debian package), bzImage (a kernel you built, with modules and config) or rpm (a kernel RPM)`,
    `${file}:11:5: kernels.none: has none of source, package, bzImage and rpm: an entry is exactly one kind: source (built from source, with config and patches), package (a Debian package), bzImage (a kernel you built, with modules and config) or rpm (a kernel RPM)`,
  ]);
});

test('with a catalog of your own, next steps name its file and its kconfig/ and patches/ directories, not lab/', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'my-kernels.yaml');
  writeFileSync(file, 'kernels:\n  k:\n    source: { debian: linux-source-6.1 }\n    config: { fragments: [nope] }\n    patches: [nope.patch]\n');
  const k = findKernel(await loadCatalog(file), 'k') as any;
  const fragment = await t.throwsAsync(readFragments(k), { instanceOf: LeaklabError });
  t.is(fragment!.hint, `fragments are files in ${dir}/kconfig/ (beside ${file}), named without .config`);
  const patch = await t.throwsAsync(readPatches(k), { instanceOf: LeaklabError });
  t.is(patch!.hint, `patches are files in ${dir}/patches/ (beside ${file})`);
  const config = parseKernelConfig(fixture('kernel/config-v6.1-leaklab-tiny'));
  const noVeth = new Map([...config].filter(([o]) => o !== 'VETH'));
  const missing = t.throws(() => assertConfigMeets(k, '/x/.config', noVeth, [{ option: 'VETH', why: 'the veth pair' }], false), { instanceOf: LeaklabError });
  t.regex(missing!.hint!, new RegExp(`in a fragment in ${dir}/kconfig/ listed under config\\.fragments of k in ${file.replace(/\./g, '\\.')};`));
  t.notRegex(`${fragment!.hint} ${patch!.hint} ${missing!.hint}`, /lab\//);
});

test('both Debian lines in the shipped catalog, and its series of released cloud kernels as archive patterns', async (t) => {
  const c = await loadCatalog('lab/kernels.yaml');
  for (const name of ['v6.12', 'v6.12-fix-reverted']) t.deepEqual((findKernel(c, name) as any).source, { debian: 'linux-source-6.12' });
  t.is((findKernel(c, 'debian-6.12-cloud') as any).package, 'linux-image-6.12-cloud-amd64');
  t.deepEqual(c.series.get('debian-6.1-cloud-released'), { debian: 'linux-image-6.1.0-*-cloud-amd64' });
  t.deepEqual(c.series.get('debian-6.12-cloud-released'), { debian: 'linux-image-6.12.*-cloud-amd64' });
});

test('versions and series forms: pinned versions load; a bad version, a pattern over other packages, a series named like a kernel are refused at their line', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'kernels.yaml');
  writeFileSync(
    file,
    'kernels:\n  old:\n    source: { debian: linux-source-6.1, version: 6.1.176-1 }\n    config: { base: tinyconfig }\n  cloud-57:\n    package: linux-image-6.1.0-57-cloud-amd64\n    version: 6.1.192-3\nseries:\n  all: { debian: "linux-image-6.1.0-*-cloud-amd64" }\n  two: [old, cloud-57]\n',
  );
  const c = await loadCatalog(file);
  t.deepEqual((findKernel(c, 'old') as any).source, { debian: 'linux-source-6.1', version: '6.1.176-1' });
  t.is((findKernel(c, 'cloud-57') as any).version, '6.1.192-3');
  t.deepEqual(c.series.get('two'), { kernels: ['old', 'cloud-57'] });
  writeFileSync(
    file,
    'kernels:\n  old:\n    package: linux-image-x\n    version: "6.1 176"\nseries:\n  old: [old, old2]\n  tools: { debian: "linux-tools-*" }\n',
  );
  const err = await t.throwsAsync(loadCatalog(file), { instanceOf: LeaklabError });
  t.regex(err!.details!, /kernels\.yaml:4:\d+: kernels\.old\.version/);
  t.regex(err!.details!, /kernels\.yaml:7:\d+: series\.tools/);
  t.regex(err!.details!, /kernels\.yaml:6:\d+: series\.old: has the name of a kernel/);
});
