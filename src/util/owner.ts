// Owns naming what a leaklab process leaves on disk while it works (cache
// temp entries, guests' socket dirs) after that process, so that a later run
// removes what a killed leaklab left and never touches what a live one is
// still writing. A name carries the owner's pid and a tag of where that pid
// means something (host name and pid namespace): in a cache shared with a
// leaklab in another container, that leaklab's entries are never judged by
// our pids.
import { hostname } from 'node:os';
import { readlinkSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from './hash.ts';
import { processAlive } from './exec.ts';

/** `<pid>.<scope>-`: goes into a name right after its marker (e.g. `.tmp-`), before the random part. */
export function ownerTag(): string {
  return `${process.pid}.${scopeTag()}-`;
}

function scopeTag(): string {
  let pidns = '?';
  try {
    pidns = readlinkSync('/proc/self/ns/pid');
  } catch {
    // No /proc: the host name alone says where.
  }
  return sha256(hostname(), pidns).slice(0, 6);
}

/** Whether `name` (made with `marker` + ownerTag()) belongs to a leaklab process of our scope that is gone. */
export function ownerGone(name: string, marker: string): boolean {
  const at = name.indexOf(marker);
  if (at < 0) return false;
  const m = /^(\d+)\.([0-9a-f]{6})-/.exec(name.slice(at + marker.length));
  return m !== null && m[2] === scopeTag() && !processAlive(Number(m[1]));
}

/**
 * Removes the entries of `dir` whose names say their owner is gone; returns
 * how many. Entries without an owner in their name (made by an older
 * leaklab) are left alone: nobody can tell whether their owner still runs.
 * An entry that cannot be removed (a read-only cache) is left too.
 */
export async function removeOrphans(dir: string, marker: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!ownerGone(name, marker)) continue;
    try {
      await rm(join(dir, name), { recursive: true, force: true });
      removed++;
    } catch {
      // Not ours to fix here: a read-only filesystem keeps it, and nothing else breaks.
    }
  }
  return removed;
}
