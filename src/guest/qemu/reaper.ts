// Owns sweeping QEMU guests that outlived the leaklab process that started
// them (leaklab was SIGKILLed, or crashed): every guest carries its owner's
// pid in `-name leaklab-owner-PID`, and a guest whose owner is gone is killed
// at the next `leaklab run`; socket dirs (named after their owner too) whose
// owner is gone are removed then.
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { processAlive } from '../../util/exec.ts';
import { ownerTag, removeOrphans } from '../../util/owner.ts';

export const OWNER_PREFIX = 'leaklab-owner-';

/** Marks a guest's socket dir in the temp dir: `leaklab-PID.SCOPE-XXXXXX`. */
const SOCK_DIR_MARKER = 'leaklab-';

/** Where a guest's sockets go (mkdtemp adds the random part). */
export function sockDirPrefix(): string {
  return join(tmpdir(), `${SOCK_DIR_MARKER}${ownerTag()}`);
}

export function ownerName(): string {
  return `${OWNER_PREFIX}${process.pid}`;
}

/** Kills orphaned leaklab guests and removes orphaned socket dirs; returns how many guests there were. */
export async function reapOrphanedGuests(): Promise<number> {
  let reaped = 0;
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!args[0]?.endsWith('qemu-system-x86_64')) continue;
    const name = args[args.indexOf('-name') + 1] ?? '';
    if (!name.startsWith(OWNER_PREFIX)) continue;
    if (processAlive(Number(name.slice(OWNER_PREFIX.length)))) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
    } catch {
      continue;
    }
    reaped++;
    const sock = args.find((a) => a.includes('path=') && a.includes('/leaklab-'));
    const path = /path=([^,]+)/.exec(sock ?? '')?.[1];
    if (path && /\/leaklab-[^/]+\/qga\.sock$/.test(path)) await rm(dirname(path), { recursive: true, force: true });
  }
  await removeOrphans(tmpdir(), SOCK_DIR_MARKER);
  return reaped;
}
