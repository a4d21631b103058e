// Owns reading option values shared by commands: whole numbers (--jobs,
// --runs, --retries, --max-jobs) with one message naming the flag, its range
// and the default, kernel lists (-k), --backend, and what projections assume
// (--packets-per-second, --memory).
import { LeaklabError } from '../util/errors.ts';
import { parseSize, type Backend, type Scenario } from '../scenario/scenario.ts';
import { BACKEND_NAMES } from '../run/backends.ts';

export function wholeNumber(flag: string, value: string, min: number, max: number, hint?: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new LeaklabError('usage', `${flag} must be a whole number from ${min} to ${max}, not "${value}"`, { hint });
  }
  return n;
}

export function parseBackend(value: string | undefined): Backend[] | undefined {
  if (value === undefined) return undefined;
  if (value === 'all') return [...BACKEND_NAMES];
  const named = BACKEND_NAMES.find((b) => b === value);
  if (named) return [named];
  throw new LeaklabError('usage', `--backend must be ${BACKEND_NAMES.join(', ')} or all, not "${value}"`, {
    hint: "leave it out to use each scenario's backends: (default qemu)",
  });
}

/**
 * The kernels of a -k list (each use of the flag may name several,
 * comma-separated), or undefined when none was given. An empty name is
 * refused, since `-k ''` would otherwise mean every default kernel; so is a
 * kernel given twice, which would run twice into the same run directory.
 */
export function kernelNames(flag: string, values: string[]): string[] | undefined {
  if (values.length === 0) return undefined;
  const names: string[] = [];
  for (const value of values) {
    const parts = value.split(',').map((k) => k.trim());
    if (parts.includes(''))
      throw new LeaklabError('usage', `${flag} "${value}" has an empty kernel name`, {
        hint: `give catalog kernels separated by single commas, e.g. ${flag} v6.1,v6.1-fix-reverted (leaklab kernels lists them)`,
      });
    for (const k of parts) {
      if (names.includes(k))
        throw new LeaklabError('usage', `${flag} names ${k} twice`, {
          hint: 'give each kernel once: a kernel runs once per scenario, in a run directory of its own',
        });
      names.push(k);
    }
  }
  return names;
}

/** --packets-per-second and --memory: what a time-to-out-of-memory projection assumes, over each scenario's project:. */
export function projectOverrides(opts: { packetsPerSecond?: string; memory?: string }): Scenario['project'] {
  const out: Scenario['project'] = {};
  if (opts.packetsPerSecond !== undefined) {
    const n = Number(opts.packetsPerSecond);
    if (opts.packetsPerSecond.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new LeaklabError('usage', `--packets-per-second must be a number above 0, not "${opts.packetsPerSecond}"`, {
        hint: 'the traffic rate the projection assumes, e.g. --packets-per-second 2000 (default: the rate the run reached)',
      });
    out.packetsPerSecond = n;
  }
  if (opts.memory !== undefined) {
    if (!/^\d+(\.\d+)?[KMGT]$/.test(opts.memory))
      throw new LeaklabError('usage', `--memory must be a size such as 512M or 1G, not "${opts.memory}"`, {
        hint: "the memory the projection lets the leak exhaust (K, M, G, T: binary units; default: the guest's memory)",
      });
    out.memoryBytes = parseSize(opts.memory);
  }
  return out;
}
