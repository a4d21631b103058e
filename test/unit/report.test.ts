import test from 'ava';
import { fmt } from '../../src/report/text.ts';

test('rates that round to zero print as 0.00, never -0.00', (t) => {
  t.is(fmt(-0.001), '0.00');
  t.is(fmt(0.004), '0.00');
  t.is(fmt(-0.5), '-0.50');
  t.is(fmt(1), '1.00');
});
