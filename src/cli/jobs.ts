// Owns the --jobs option shared by the commands that run guests.
import { cpus } from 'node:os';
import { LeaklabError } from '../util/errors.ts';

/** Default: one guest per core (a TCG guest keeps one core busy). */
export const DEFAULT_JOBS = String(Math.max(1, cpus().length));

export function parseJobs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new LeaklabError('usage', `--jobs must be a whole number from 1 to 64, not "${value}"`, { hint: `leave it out for ${DEFAULT_JOBS} (one guest per core)` });
  }
  return n;
}
