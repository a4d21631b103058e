import test from 'ava';
import { findTroubles, isPanic, lastLine } from '../../src/guest/qemu/console.ts';
import { fixture } from '../helpers/fixtures.ts';

test('a real panic at boot is found on the console', (t) => {
  const text = fixture('console/panic-no-root-debian-6.1-cloud.log');
  t.true(isPanic(text));
  t.deepEqual(findTroubles(text), ['Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)']);
});

test('a clean boot has no troubles', (t) => {
  const text = fixture('console/clean-boot-v6.1.log');
  t.false(isPanic(text));
  t.deepEqual(findTroubles(text), []);
});

test("a boot's progress shows the console's last line, without colour codes or control characters", (t) => {
  t.is(
    lastLine('[    0.000000] Linux version 6.1.192\r\n[    1.234567] \x1b[0;32mFreeing unused kernel image\x1b[0m memory: 1234K\r\n\r\n'),
    '[    1.234567] Freeing unused kernel image memory: 1234K',
  );
  t.is(lastLine(''), '');
});
