// Owns the --jobs option shared by the commands that run guests.
import { cpus } from 'node:os';
import { wholeNumber } from './options.ts';

/** Default: one guest per core (a TCG guest keeps one core busy). */
export const DEFAULT_JOBS = String(Math.max(1, cpus().length));

export function parseJobs(value: string): number {
  return wholeNumber('--jobs', value, 1, 64, `leave it out for ${DEFAULT_JOBS} (one guest per core)`);
}
