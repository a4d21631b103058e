// The archive's answers turned into kernels: name patterns, member names,
// and dpkg's version order (Debian's own dpkg, as leaklab asks it).
import test from 'ava';
import { namePattern, sortByVersion } from '../../src/kernel/debian-archive.ts';
import { memberName } from '../../src/kernel/series.ts';
import { testContext } from '../helpers/context.ts';

test('a name pattern: * and ? over whole package names, dots and pluses literal', (t) => {
  const re = namePattern('linux-image-6.1.0-*-cloud-amd64');
  t.true(re.test('linux-image-6.1.0-47-cloud-amd64'));
  t.false(re.test('linux-image-6.1.0-47-cloud-amd64-dbg'), 'anchored at the end');
  t.false(re.test('linux-image-6.1.0-47-cloud-amd64-unsigned'));
  t.false(re.test('xlinux-image-6.1.0-47-cloud-amd64'), 'anchored at the start');
  t.false(namePattern('linux-image-6.1.0-4?-cloud-amd64').test('linux-image-6.1.0-4-cloud-amd64'));
  t.true(namePattern('linux-image-6.12.*+deb12-cloud-amd64').test('linux-image-6.12.118+deb12-cloud-amd64'));
  t.false(namePattern('linux-image-6.1.0').test('linux-image-6x1x0'), 'a dot is a dot');
});

test("member names: the package's name without linux-image-, characters a directory name should not have as -, the version when there are several", (t) => {
  const one = { name: 'linux-image-6.12.118+deb12-cloud-amd64', version: '6.12.118-1~deb12u1' };
  t.is(memberName(one, [one]), '6.12.118-deb12-cloud-amd64');
  const a = { name: 'linux-image-6.1.0-55-cloud-amd64', version: '6.1.192-1' };
  const b = { ...a, version: '6.1.192-1+b1' };
  t.is(memberName(a, [a, b]), '6.1.0-55-cloud-amd64_6.1.192-1');
  t.is(memberName(b, [a, b]), '6.1.0-55-cloud-amd64_6.1.192-1-b1');
});

test("versions in dpkg's order: ~ sorts before the release, numbers as numbers, revisions after", async (t) => {
  const p = (version: string) => ({ name: 'linux-source-6.12', version });
  const sorted = await sortByVersion(testContext(), [
    p('6.12.118-1~deb12u1'),
    p('6.12.9-1'),
    p('6.12.118-1'),
    p('6.12.100-1~deb12u1'),
    p('6.12.118-1~deb12u1+b1'),
  ]);
  t.deepEqual(
    sorted.map((x) => x.version),
    ['6.12.9-1', '6.12.100-1~deb12u1', '6.12.118-1~deb12u1', '6.12.118-1~deb12u1+b1', '6.12.118-1'],
  );
});
