import test from 'ava';
import { retryUntil } from '../../src/util/retry.ts';

test("retryUntil: the first value an attempt gives, undefined at the deadline, at once on abort, an attempt's error as it is", async (t) => {
  let n = 0;
  t.is(await retryUntil(() => (++n === 3 ? 'ready' : undefined), { intervalMs: 10, timeoutMs: 5_000 }), 'ready');
  t.is(n, 3);

  let tries = 0;
  const started = Date.now();
  t.is(
    await retryUntil(
      () => {
        tries++;
        return undefined;
      },
      { intervalMs: 20, timeoutMs: 200 },
    ),
    undefined,
  );
  const took = Date.now() - started;
  t.true(took >= 200 && took < 1_000, `${took} ms`);
  t.true(tries >= 5 && tries <= 12, `${tries} tries`);

  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const t0 = Date.now();
  t.is(await retryUntil(() => undefined, { intervalMs: 10_000, timeoutMs: 60_000, signal: ac.signal }), undefined);
  t.true(Date.now() - t0 < 1_000, 'the wait ends with the abort, not the interval');

  await t.throwsAsync(
    retryUntil(
      () => {
        throw new Error('QEMU exited');
      },
      { intervalMs: 10, timeoutMs: 1_000 },
    ),
    { message: 'QEMU exited' },
  );
});
