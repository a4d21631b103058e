// End to end: kernels that come as RPM files, the way the field case ran an
// openSUSE vendor kernel. The RPMs are built here with Debian's rpmbuild from
// Debian's own cloud kernel (its vmlinuz, config and modules), laid out as
// openSUSE's kernel-default is: the same kernel must give the same verdict
// as its Debian package, its modules loaded from the RPM.
import test from 'ava';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leaklab, qemuProcesses, tempDir } from '../helpers/cli.ts';
import { buildRpm } from '../helpers/rpm.ts';
import { readConfig } from '../../src/util/config.ts';

const cacheDir = readConfig(process.env).cacheRoot;
const kernelEntries = () => (existsSync(join(cacheDir, 'kernels')) ? readdirSync(join(cacheDir, 'kernels')).sort() : []);

/** Debian's cloud kernel as leaklab fetched it (fetched here if no test did before). */
async function debianCloudKernel(t: any, dir: string): Promise<{ bzImage: string; config: string; modules: string; release: string }> {
  const r = await leaklab([
    'run',
    'scenarios/control-no-rule.yaml',
    '-k',
    'debian-6.1-cloud',
    '--json',
    join(dir, 'deb.json'),
    '--runs-dir',
    join(dir, 'runs'),
  ]);
  t.is(r.code, 0, r.stderr);
  const entry = kernelEntries().find((e) => e.startsWith('deb-linux-image-6.1.0-') && e.includes('cloud-amd64'))!;
  const root = join(cacheDir, 'kernels', entry);
  const release = readdirSync(join(root, 'lib', 'modules'))[0];
  return { bzImage: join(root, 'bzImage'), config: join(root, 'config'), modules: join(root, 'lib', 'modules', release), release };
}

function catalog(dir: string, rpm: string): string {
  const file = join(dir, 'kernels.yaml');
  writeFileSync(file, `kernels:\n  vendor:\n    rpm: ${JSON.stringify(rpm)}\n`);
  return file;
}

test('a kernel RPM (vmlinuz, config and modules unpacked with rpm2cpio): the seed scenario runs on it with its modules, no leak, as on the Debian package', async (t) => {
  const dir = tempDir(t);
  const k = await debianCloudKernel(t, dir);
  const rpm = buildRpm(dir, 'kernel-default', k);
  const r = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', 'vendor', '--json', join(dir, 'r.json'), '--runs-dir', join(dir, 'runs')], {
    env: { LEAKLAB_CATALOG: catalog(dir, rpm) },
  });
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /vendor +no leak +ip6_dst_cache +< 0\.0\d+ obj\/packet at 95 %/);
  t.regex(r.stderr, new RegExp(`guest up in [\\d.]+ s \\(kernel ${k.release.replace(/\./g, '\\.')}(; restored from boot snapshot \\w+)?\\)`));
  t.deepEqual(qemuProcesses(dir), []);
});

test('bad RPMs: not a kernel package, a kernel without the modules the scenario needs, not an RPM at all: exit 2 each, nothing cached', async (t) => {
  const dir = tempDir(t);
  const k = await debianCloudKernel(t, dir);
  const cases: [string, string, RegExp][] = [
    [
      buildRpm(dir, 'kernel-docs', { release: k.release, other: { 'usr/share/doc/kernel/README': 'docs\n' } }),
      'not a kernel',
      /is not a kernel package: it has no \/boot\/vmlinuz-RELEASE/,
    ],
    [
      buildRpm(dir, 'kernel-default-base', { release: k.release, bzImage: k.bzImage, config: k.config }),
      'no modules',
      /lacks \d+ config options? the scenario needs[\s\S]*next step: they are modules \(=m\), and .*kernel-default-base.*ships none/,
    ],
    [join(dir, 'fake.rpm'), 'not an RPM', /unpacking .*fake\.rpm failed[\s\S]*next step: check that .*fake\.rpm is an RPM file/],
  ];
  writeFileSync(join(dir, 'fake.rpm'), 'not an rpm\n');
  for (const [rpm, what, message] of cases) {
    const before = kernelEntries();
    const r = await leaklab(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', 'vendor', '--runs-dir', join(dir, 'runs')], {
      env: { LEAKLAB_CATALOG: catalog(dir, rpm) },
    });
    t.is(r.code, 2, `${what}: ${r.stderr}`);
    t.regex(r.stdout + r.stderr, message, what);
    t.deepEqual(kernelEntries(), before, `${what}: nothing cached`);
  }
});
