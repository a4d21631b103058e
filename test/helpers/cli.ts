// Runs the real `leaklab` command as a user would, with a time limit, and
// tells which QEMU processes a test left behind.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, existsSync, readdirSync, symlinkSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A temp dir removed when the test ends. */
export function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Runs bin/leaklab.js with args. `onStderr` sees stderr as it arrives and may
 * return a signal to send (e.g. SIGINT once the guest is booting).
 */
export function leaklab(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; onStderr?: (all: string) => NodeJS.Signals | undefined } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/leaklab.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      const sig = !signalled && opts.onStderr?.(stderr);
      if (sig) {
        signalled = true;
        child.kill(sig);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20 * 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** Command lines of running qemu-system-x86_64 processes that mention `needle`. */
export function qemuProcesses(needle = ''): string[] {
  try {
    // -f: pgrep -x cannot match names longer than 15 characters.
    return execFileSync('pgrep', ['-a', '-f', '^qemu-system-x86_64 '], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l && l.includes(needle));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** A PATH dir with every command of the system's PATH except those starting with `hidden`. */
export function pathWithout(dir: string, hidden: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const d of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    for (const f of existsSync(d) ? readdirSync(d) : []) {
      if (f.startsWith(hidden) || existsSync(join(bin, f))) continue;
      symlinkSync(join(d, f), join(bin, f));
    }
  }
  return bin;
}
