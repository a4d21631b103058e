// Owns making directories on paths a user gives (runs, reports, the cache):
// a `mkdir -p` that cannot hang and fails with the path and the next step.
// Node's recursive mkdir retries forever where the kernel answers ENOENT
// for a child of an existing directory (under /proc, say).
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LeaklabError } from './errors.ts';

/** Creates `path` and its missing parents one level at a time; returns the topmost directory it made (undefined: all existed). */
export async function makeDirs(path: string): Promise<string | undefined> {
  const missing: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    const found = await stat(p).then(
      (s) => s,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      },
    );
    if (found) {
      if (!found.isDirectory()) throw Object.assign(new Error(`${p} is not a directory`), { code: 'ENOTDIR' });
      break;
    }
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const d of missing) {
    await mkdir(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  return missing[0];
}

/** makeDirs for a directory the user named (what: "the runs directory"), failing with a usage error. */
export async function makeUserDir(path: string, what: string, hint: string): Promise<void> {
  try {
    await makeDirs(path);
  } catch (err) {
    throw new LeaklabError('filesystem', `cannot make ${what} ${path}: ${(err as Error).message}`, { hint });
  }
}
