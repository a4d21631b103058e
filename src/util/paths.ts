// Owns where leaklab finds its shipped files (lab/, images/): the current
// directory's copy when it has one (a user's own lab), else the package's;
// and the package's version.
import { existsSync, readFileSync } from 'node:fs';
import { resolve, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's directory: the first one up from this module with leaklab's
 * package.json. This module runs from src/util/ (through tsx) or from the
 * bundle bin/leaklab.js caches in node_modules/.cache/leaklab/.
 */
export const PACKAGE_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'leaklab') return dir;
    if (dirname(dir) === dir) throw new Error(`leaklab's package.json is not in any directory above ${from}`);
  }
}

/** leaklab's version (package.json), printed by --version and kept in every report. */
export const VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;

export function projectPath(rel: string): string {
  const local = resolve(rel);
  return existsSync(local) ? local : join(PACKAGE_ROOT, rel);
}
