import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isBzImage } from '../../src/kernel/boot-header.ts';
import { FIXTURES } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/cli.ts';

test("real kernels have the x86 boot header: leaklab's minimal build and Debian's vmlinuz (their first KB, recorded)", async (t) => {
  t.true(await isBzImage(join(FIXTURES, 'kernel/bzImage-v6.1-leaklab-tiny.head')));
  t.true(await isBzImage(join(FIXTURES, 'kernel/vmlinuz-6.1.0-57-cloud-amd64.head')));
});

test('an executable, a kernel config and a file too short to hold the header are not bzImages', async (t) => {
  t.false(await isBzImage('/bin/ls'));
  t.false(await isBzImage(join(FIXTURES, 'kernel/config-v6.1-leaklab-tiny')));
  const short = join(tempDir(t), 'short');
  writeFileSync(short, 'HdrS');
  t.false(await isBzImage(short));
});
