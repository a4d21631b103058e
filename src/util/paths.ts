// Owns where leaklab finds its shipped files (lab/, images/): the current
// directory's copy when it has one (a user's own lab), else the package's;
// and the package's version.
import { existsSync, readFileSync } from 'node:fs';
import { resolve, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** leaklab's version (package.json), printed by --version and kept in every report. */
export const VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;

export function projectPath(rel: string): string {
  const local = resolve(rel);
  return existsSync(local) ? local : join(PACKAGE_ROOT, rel);
}
