// End to end against Debian's archive as this machine's apt knows it: the
// released cloud kernels listed and pinned, a series run -k SERIES (on the
// kernels matrix makes one job each), and the bad input of versions and
// patterns: one message each, exit 2, nothing in the cache.
import test from 'ava';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leaklab, tempDir } from '../helpers/cli.ts';
import { readConfig } from '../../src/util/config.ts';

const cacheDir = readConfig(process.env).cacheRoot;
const entries = (area: string) => (existsSync(join(cacheDir, area)) ? readdirSync(join(cacheDir, area)).sort() : []);

test('kernels --debian: every released 6.1 cloud kernel, oldest first, pinned; --yaml gives catalog entries; matrix -k SERIES makes one job per kernel', async (t) => {
  const r = await leaklab(['kernels', '--debian', 'linux-image-6.1.0-*-cloud-amd64', '--json']);
  t.is(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { name: string; package: string; version: string }[];
  t.true(rows.length >= 11, `${rows.length} packages`);
  t.is(rows[0].name, '6.1.0-47-cloud-amd64');
  for (const row of rows) {
    t.is(row.package, `linux-image-${row.name}`);
    t.regex(row.version, /^6\.1\.\d+-\d+$/);
  }
  const abi = rows.map((x) => Number(/6\.1\.0-(\d+)-/.exec(x.name)![1]));
  t.deepEqual(
    abi,
    [...abi].sort((a, b) => a - b),
    'oldest first',
  );
  const yaml = await leaklab(['kernels', '--debian', 'linux-image-6.1.0-5?-cloud-amd64', '--yaml']);
  t.regex(yaml.stdout, /^kernels:\n {2}6\.1\.0-50-cloud-amd64:\n {4}package: linux-image-6\.1\.0-50-cloud-amd64\n {4}version: "6\.1\.\d+-\d+"\n/);
  const matrix = await leaklab(['matrix', 'scenarios/fib6-suppress-leak.yaml', '-k', 'debian-6.1-cloud-released']);
  t.is(matrix.code, 0, matrix.stderr);
  t.is(JSON.parse(matrix.stdout).include.length, rows.length, 'one job per kernel of the series');
});

test('bad input: a source version the archive lacks (its versions listed), a series pattern that matches nothing, a package version it lacks: exit 2, nothing cached', async (t) => {
  const dir = tempDir(t);
  const catalog = join(dir, 'kernels.yaml');
  writeFileSync(
    catalog,
    [
      'kernels:',
      '  old-source:',
      '    source: { debian: linux-source-6.1, version: 6.1.1-1 }',
      '    config: { base: tinyconfig }',
      '  old-package:',
      '    package: linux-image-6.1.0-57-cloud-amd64',
      '    version: 6.1.1-1',
      'series:',
      '  nothing: { debian: "linux-image-9.9.*-cloud-amd64" }',
      '',
    ].join('\n'),
  );
  const before = [entries('kernels'), entries('sources'), entries('source-packages')];
  const cases: [string, RegExp][] = [
    [
      'old-source',
      /the archive has no linux-source-6\.1 version 6\.1\.1-1 \(kernel old-source\)[\s\S]*next step: use one it has: 6\.1\.\d+-\d+(, 6\.1\.\d+-\d+)+/,
    ],
    ['old-package', /Debian package linux-image-6\.1\.0-57-cloud-amd64 has no version 6\.1\.1-1 in the archive[\s\S]*next step: use one it has: 6\.1\.\d+-\d+/],
    ['nothing', /series nothing: no kernel package in the archive matches linux-image-9\.9\.\*-cloud-amd64/],
  ];
  for (const [kernel, message] of cases) {
    const r = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', kernel, '--runs-dir', join(dir, 'runs')], { env: { LEAKLAB_CATALOG: catalog } });
    t.is(r.code, 2, `${kernel}: ${r.stderr}`);
    t.regex(r.stdout + r.stderr, message, kernel);
  }
  // Only what names the missing version: npm test's other lane fills the same cache meanwhile.
  const made = [entries('kernels'), entries('sources'), entries('source-packages')].flatMap((now, i) => now.filter((e) => !before[i].includes(e)));
  t.deepEqual(
    made.filter((e) => e.includes('6.1.1-1')),
    [],
    'nothing cached',
  );
  const none = await leaklab(['kernels', '--debian', 'linux-image-9.9*']);
  t.is(none.code, 2);
  t.regex(none.stderr, /no kernel package in the archive matches linux-image-9\.9\*/);
});
