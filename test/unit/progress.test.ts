import test from 'ava';
import { barText } from '../../src/util/progress.ts';

test('progress bar text: filled in proportion, clamped, and absent when the total is unknown', (t) => {
  t.is(barText(0, 10, 10), '[----------]   0% ');
  t.is(barText(5, 10, 10), '[#####-----]  50% ');
  t.is(barText(15, 10, 10), '[##########] 100% ');
  t.is(barText(3, undefined), '');
});
