import test from 'ava';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { readConfig } from '../../src/util/config.ts';
import { LeaklabError } from '../../src/util/errors.ts';

test('the cache: LEAKLAB_CACHE, else $XDG_CACHE_HOME/leaklab, else ~/.cache/leaklab', (t) => {
  t.is(readConfig({ LEAKLAB_CACHE: '/c', XDG_CACHE_HOME: '/x' }).cacheRoot, '/c');
  t.is(readConfig({ XDG_CACHE_HOME: '/x' }).cacheRoot, '/x/leaklab');
  t.is(readConfig({}).cacheRoot, join(homedir(), '.cache', 'leaklab'));
});

test('defaults and values: boot timeout in seconds, runs dir, debug scopes, accelerator', (t) => {
  const d = readConfig({});
  t.is(d.bootTimeoutMs, 90_000);
  t.is(d.runsDir, 'runs');
  t.deepEqual(d.debugScopes, []);
  t.is(d.accel, undefined);
  const c = readConfig({ LEAKLAB_BOOT_TIMEOUT: '300', LEAKLAB_RUNS: '/r', LEAKLAB_DEBUG: 'guest, kernel', LEAKLAB_ACCEL: 'tcg' });
  t.is(c.bootTimeoutMs, 300_000);
  t.is(c.runsDir, '/r');
  t.deepEqual(c.debugScopes, ['guest', 'kernel']);
  t.is(c.accel, 'tcg');
  // Boot snapshots unless LEAKLAB_FRESH=1; colour unless NO_COLOR (any value, as no-color.org says).
  t.false(d.freshBoot);
  t.true(readConfig({ LEAKLAB_FRESH: '1' }).freshBoot);
  t.false(readConfig({ LEAKLAB_FRESH: '0' }).freshBoot);
  t.false(d.noColor);
  t.true(readConfig({ NO_COLOR: 'yes' }).noColor);
});

test('a bad value is a usage error naming the variable and what it must be', (t) => {
  for (const [env, message] of [
    [{ LEAKLAB_BOOT_TIMEOUT: 'soon' }, /^LEAKLAB_BOOT_TIMEOUT must be a positive number of seconds, not "soon"$/],
    [{ LEAKLAB_FRESH: 'yes' }, /^LEAKLAB_FRESH must be 1 or 0, not "yes"$/],
    [{ LEAKLAB_BOOT_TIMEOUT: '0' }, /^LEAKLAB_BOOT_TIMEOUT must be a positive number of seconds, not "0"$/],
    [{ LEAKLAB_BOOT_TIMEOUT: '-5' }, /^LEAKLAB_BOOT_TIMEOUT must be a positive number of seconds, not "-5"$/],
    // Node's timers hold at most 24.8 days; a longer one fires at once.
    [{ LEAKLAB_BOOT_TIMEOUT: '1e400' }, /^LEAKLAB_BOOT_TIMEOUT must be at most 86400 seconds \(a day\), not "1e400"$/],
    [{ LEAKLAB_BOOT_TIMEOUT: '3000000' }, /^LEAKLAB_BOOT_TIMEOUT must be at most 86400 seconds \(a day\), not "3000000"$/],
    [{ LEAKLAB_ACCEL: 'hvf' }, /LEAKLAB_ACCEL must be kvm or tcg, not "hvf"/],
  ] as const) {
    const err = t.throws(() => readConfig(env), { instanceOf: LeaklabError, message });
    t.is(err!.kind, 'usage');
  }
});
