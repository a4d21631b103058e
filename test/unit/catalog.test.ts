import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCatalog, findKernel } from '../../src/kernel/catalog.ts';
import { LeaklabError } from '../../src/util/errors.ts';
import { tempDir } from '../helpers/cli.ts';

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
