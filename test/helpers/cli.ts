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
 * Runs bin/leaklab.js with args. `onStderr` sees stderr as it arrives, and
 * `poll` is asked every 100 ms with leaklab's pid; either may return a signal
 * to send (e.g. SIGINT once the guest is booting), once.
 */
export function leaklab(
  args: string[],
  opts: {
    env?: Record<string, string>;
    timeoutMs?: number;
    onStderr?: (all: string) => NodeJS.Signals | undefined;
    poll?: (pid: number) => NodeJS.Signals | undefined;
  } = {},
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
    const send = (sig: NodeJS.Signals | undefined | false) => {
      if (!sig || signalled) return;
      signalled = true;
      child.kill(sig);
    };
    child.stderr.on('data', (d) => {
      stderr += d;
      send(!signalled && opts.onStderr?.(stderr));
    });
    const poller = opts.poll && setInterval(() => send(!signalled && opts.poll!(child.pid!)), 100);
    // Generous: in npm test the other lane may hold the machine's one kernel build slot for a while.
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 50 * 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (poller) clearInterval(poller);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** Pids of the QEMU guests a leaklab process started (their -name says its pid). */
export function guestsOf(owner: number): number[] {
  try {
    return execFileSync('pgrep', ['-f', `^qemu-system-x86_64 .*leaklab-owner-${owner}( |$)`], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
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
