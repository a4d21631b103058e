import test from 'ava';
import { mkdtempSync, mkdirSync, utimesSync, rmSync, existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { spawn, execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock } from '../../src/util/lock.ts';
import { retryUntil } from '../../src/util/retry.ts';
import { LeaklabError } from '../../src/util/errors.ts';
import { testContext } from '../helpers/context.ts';

const ctx = testContext();

test('a lock admits one holder at a time, however many ask at once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-lock-'));
  const path = join(dir, 'tree.lockdir');
  let inside = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      const lock = await acquireLock(ctx, path, 'test');
      inside++;
      most = Math.max(most, inside);
      await new Promise((r) => setTimeout(r, 20));
      inside--;
      await lock.release();
    }),
  );
  t.is(most, 1);
  t.false(existsSync(path), 'released');
  rmSync(dir, { recursive: true, force: true });
});

test('a lock whose owner died (not refreshed) is taken over; a live one is waited for', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-lock-'));
  const path = join(dir, 'tree.lockdir');
  mkdirSync(path);
  const old = new Date(Date.now() - 60_000);
  utimesSync(path, old, old);
  const timing = { updateMs: 1_000, staleMs: 2_000 };
  const taken = await acquireLock(ctx, path, 'test', timing);
  let second = false;
  const waiting = acquireLock(ctx, path, 'test', timing).then((l) => {
    second = true;
    return l;
  });
  await new Promise((r) => setTimeout(r, 2_500));
  t.false(second, 'a held lock (refreshed) is not stale');
  await taken.release();
  await (await waiting).release();
  t.true(second);
  rmSync(dir, { recursive: true, force: true });
});

test('between processes too: four runs that lock one tree never overlap', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-lock-'));
  const path = join(dir, 'tree.lockdir');
  const journal = join(dir, 'journal');
  const child = `import { acquireLock } from ${JSON.stringify(join(process.cwd(), 'src/util/lock.ts'))};
import { createContext } from ${JSON.stringify(join(process.cwd(), 'src/util/context.ts'))};
import { appendFileSync } from 'node:fs';
const lock = await acquireLock(createContext({ quiet: true }), ${JSON.stringify(path)}, 'child');
appendFileSync(${JSON.stringify(journal)}, 'in\\n');
await new Promise((r) => setTimeout(r, 150));
appendFileSync(${JSON.stringify(journal)}, 'out\\n');
await lock.release();`;
  await Promise.all(
    Array.from(
      { length: 4 },
      () =>
        new Promise<void>((resolve, reject) => {
          const p = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', child], { stdio: 'inherit', timeout: 60_000 });
          p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child exit ${code}`))));
        }),
    ),
  );
  t.is(readFileSync(journal, 'utf8'), 'in\nout\n'.repeat(4));
  rmSync(dir, { recursive: true, force: true });
});

test('a lock lost while held (taken over, or removed) is said, and its holder refuses to keep what it made', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-lock-'));
  const path = join(dir, 'tree.lockdir');
  const lock = await acquireLock(ctx, path, 'v6.1', { updateMs: 200, staleMs: 2_000 });
  t.notThrows(() => lock.assertHeld());
  rmSync(path, { recursive: true, force: true });
  // The next refresh (every 200 ms; later when the machine is busy) finds it gone.
  const lost = await retryUntil(
    () => {
      try {
        lock.assertHeld();
        return undefined;
      } catch {
        return true;
      }
    },
    { intervalMs: 100, timeoutMs: 10_000 },
  );
  t.true(lost);
  t.throws(() => lock.assertHeld(), { message: /v6\.1: another run took over the lock on this kernel source while building/ });
  await lock.release();
  rmSync(dir, { recursive: true, force: true });
});

test('a lock that cannot be made (a cache that cannot be written, a file where the locks dir should be) is one message naming the kernel, the path and the next step', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // As root, permissions stop no mkdir: a file where a directory must be does (ENOTDIR) ...
  writeFileSync(join(dir, 'file'), '');
  const notDir = await t.throwsAsync(acquireLock(ctx, join(dir, 'file', 'locks', 'tree.lockdir'), 'v6.1'), { instanceOf: LeaklabError });
  t.is(notDir!.kind, 'filesystem');
  t.is(notDir!.message, `v6.1: cannot take the lock ${join(dir, 'file', 'locks', 'tree.lockdir')}: a part of the path is not a directory (ENOTDIR)`);
  t.regex(notDir!.hint!, /building it needs a cache you can write to[^]*set LEAKLAB_CACHE/);
  // ... and so does an immutable directory (EPERM), as a read-only mount does (EROFS): the locks dir cannot be made in it.
  const cache = join(dir, 'cache');
  mkdirSync(cache);
  try {
    execFileSync('chattr', ['+i', cache], { stdio: 'pipe' });
    t.teardown(() => execFileSync('chattr', ['-i', cache]));
  } catch {
    chmodSync(cache, 0o555); // not root (no chattr): permissions do stop mkdir
  }
  const readOnly = await t.throwsAsync(acquireLock(ctx, join(cache, 'locks', 'tree.lockdir'), 'v6.1'), { instanceOf: LeaklabError });
  t.regex(readOnly!.message, /^v6\.1: cannot take the lock .*\/cache\/locks\/tree\.lockdir: (operation not permitted \(EPERM\)|permission denied \(EACCES\))$/);
  t.false(existsSync(join(cache, 'locks')));
});
