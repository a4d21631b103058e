import test from 'ava';
import { findTroubles, isPanic } from '../../src/guest/qemu/console.ts';
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
