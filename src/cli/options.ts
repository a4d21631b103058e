// Owns reading option values shared by commands: whole numbers (--jobs,
// --runs, --retries, --max-jobs) with one message naming the flag, its range
// and the default, and --backend.
import { LeaklabError } from '../util/errors.ts';
import type { Backend } from '../scenario/scenario.ts';
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
