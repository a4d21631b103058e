// Makes the kernel history the bisect and tree tests need (no public kernel
// history is reachable here): a git repository of Debian's linux-source-6.1
// with ordinary commits on top. Tags c0..c24 name the commits:
//   c0        linux-source-6.1 as shipped (has the fib6_rule_suppress fix: no leak)
//   c8        breaks the build (#error in net/ipv6/route.c); c9 mends it
//   c11       reverts the fix: the leak comes in
//   c20       applies the upstream fix again: the leak goes away
// every other commit changes only a text file. Made once per cache (it is
// test data, built atomically like every cache entry) and only read after.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, appendFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './cli.ts';

export const LEAK_IN = 'c11';
export const LEAK_OUT = 'c20';
export const BROKEN = 'c8';

const VERSION = 'kernel-history-v2';

export function cacheRoot(): string {
  return process.env.LEAKLAB_CACHE ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'leaklab');
}

export function kernelHistory(): string {
  const final = join(cacheRoot(), 'test-fixtures', VERSION);
  if (existsSync(final)) return final;
  mkdirSync(join(cacheRoot(), 'test-fixtures'), { recursive: true });
  const tmp = mkdtempSync(`${final}.tmp-`);
  try {
    makeHistory(tmp);
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    // Test files run side by side (scripts/e2e-lanes.ts): another one may have made it meanwhile.
    if (existsSync(final)) return final;
    throw err;
  }
  return final;
}

function makeHistory(dir: string): void {
  let n = 0;
  // Fixed names and dates: the same commit ids on every machine, so git bisect takes the same path everywhere.
  const date = () => `2024-01-01T00:${String(n).padStart(2, '0')}:00Z`;
  const env = () => ({
    ...process.env,
    GIT_AUTHOR_NAME: 'leaklab test',
    GIT_AUTHOR_EMAIL: 'test@leaklab.invalid',
    GIT_COMMITTER_NAME: 'leaklab test',
    GIT_COMMITTER_EMAIL: 'test@leaklab.invalid',
    GIT_AUTHOR_DATE: date(),
    GIT_COMMITTER_DATE: date(),
  });
  const sh = (cmd: string, args: string[]) =>
    execFileSync(cmd, args, { cwd: dir, env: env(), stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 26, timeout: 10 * 60_000 });
  sh('tar', ['-xf', '/usr/src/linux-source-6.1.tar.xz', '--strip-components=1']);
  sh('git', ['init', '-q']);
  // No automatic gc: it would repack 75000 objects in the background for minutes.
  sh('git', ['config', 'gc.auto', '0']);
  // Debian's tarball ignores everything at the top level (.gitignore): -f.
  sh('git', ['-c', 'core.looseCompression=0', 'add', '-f', '-A']);
  const commit = (subject: string) => {
    sh('git', ['-c', 'core.looseCompression=0', 'commit', '-q', '-a', '--allow-empty', '-m', subject]);
    sh('git', ['tag', `c${n++}`]);
  };
  commit('linux-source-6.1 as shipped by Debian');
  const note = (i: number) => {
    appendFileSync(join(dir, 'Documentation/leaklab-history.txt'), `change ${i}\n`);
    sh('git', ['add', '-f', 'Documentation/leaklab-history.txt']);
  };
  const patch = (file: string) => sh('git', ['apply', join(ROOT, file)]);
  while (n <= 24) {
    if (n === 8) {
      appendFileSync(join(dir, 'net/ipv6/route.c'), '\n#error "leaklab test: this commit does not build"\n');
      commit('ipv6: a commit that does not build');
    } else if (n === 9) {
      sh('git', ['revert', '--no-edit', 'c8']);
      sh('git', ['tag', `c${n++}`]);
    } else if (n === 11) {
      patch('lab/patches/fib6-suppress-revert-fix.patch');
      commit('ipv6: fib6_rule_suppress: take the dst reference back out (the leak comes in)');
    } else if (n === 20) {
      patch('lab/patches/fib6-suppress-fix.patch');
      commit('ipv6: fix memory leak in fib6_rule_suppress (the leak goes away)');
    } else {
      note(n);
      commit(`docs: ordinary change ${n}`);
    }
  }
}
