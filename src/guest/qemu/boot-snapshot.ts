// Owns boot snapshots: a QEMU guest's whole state (RAM, devices, CPU) saved
// once, right after its agent first answers and before any scenario touches
// it, and restored by later cells instead of booting (0.3-0.5 s against
// 2.5-3 s under TCG). Every cell starts from that same state, so nothing one
// scenario did (sysctls, modules, nft tables, leaked objects) reaches the
// next. A snapshot lives in the cache at snapshots/KEY/, the key naming
// everything the state depends on (QEMU's version, the accelerator, the
// kernel's bytes, the initramfs, the command line, the memory); it is made
// in a temp dir and renamed into place, and one that QEMU cannot load is
// discarded and the guest booted.
import { readFile, stat, writeFile, rm, readdir, utimes, statfs } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { sha256, sha256File } from '../../util/hash.ts';
import { cachePath, cachedDir } from '../../util/cache.ts';
import { shQuote } from '../../util/shell.ts';
import { retryUntil } from '../../util/retry.ts';
import type { Qmp } from './qmp.ts';
import type { Context } from '../../util/context.ts';

export const SNAPSHOT_AREA = 'snapshots';
const STATE_FILE = 'state.bin';
const META_FILE = 'meta.json';
/** What the booted guest printed before it was saved: a restored guest's console.log starts with it. */
const CONSOLE_FILE = 'console.log';
/** Bumped when what a snapshot holds or how it is taken changes: older ones are never restored. */
const FORMAT = 1;
/** The most the snapshots may take together: beyond it, the least recently used go (each is ~140 MB). */
const SNAPSHOT_BUDGET_BYTES = 4 * 2 ** 30;
/** Less free space than this after a failed save means the disk filled (a minimal guest's state is ~140 MB). */
const SNAPSHOT_ROOM_BYTES = 256 * 2 ** 20;
/** A save writes ~140 MB to the cache; far longer means a stuck disk, not a slow one. */
const SAVE_TIMEOUT_MS = 120_000;

/** Everything a guest's state right after boot depends on. */
export interface SnapshotInputs {
  qemuVersion: string;
  /** QEMU's arguments that shape the machine (accelerator, CPU model, memory, command line). */
  machine: string[];
  bzImage: string;
  /** A file in leaklab's content-addressed cache (never rewritten in place): its path, size and time name it. */
  initrd: string;
}

/** The cache key: the kernel by its bytes (a user's bzImage may be rebuilt at the same path), the cached initramfs by its entry. */
export async function snapshotKey(inputs: SnapshotInputs): Promise<string> {
  const initrd = await stat(inputs.initrd);
  const parts = { format: FORMAT, qemu: inputs.qemuVersion, machine: inputs.machine, bzImage: await sha256File(inputs.bzImage) };
  return sha256(JSON.stringify({ ...parts, initrd: [inputs.initrd, initrd.size, initrd.mtimeMs] })).slice(0, 24);
}

export interface Snapshot {
  key: string;
  /** The state file QEMU loads with -incoming. */
  state: string;
  /** The boot's console output, to put before the restored guest's own. */
  bootConsole: string;
}

/**
 * The snapshot under `key`, when there is a complete one (its state file as
 * long as its meta says). An entry is renamed into place only once written,
 * so one that is not complete was damaged afterwards: it is removed, and the
 * next save replaces it.
 */
export async function findSnapshot(ctx: Pick<Context, 'config'>, key: string): Promise<Snapshot | undefined> {
  const dir = cachePath(ctx, SNAPSHOT_AREA, key);
  try {
    const meta = JSON.parse(await readFile(join(dir, META_FILE), 'utf8')) as { size: number };
    if ((await stat(join(dir, STATE_FILE))).size !== meta.size) throw new Error('truncated');
    // Marks it used, for pruning: the snapshots used least recently go first.
    const now = new Date();
    await utimes(join(dir, META_FILE), now, now).catch(() => {});
    return { key, state: join(dir, STATE_FILE), bootConsole: await readFile(join(dir, CONSOLE_FILE), 'utf8').catch(() => '') };
  } catch {
    await discardSnapshot(ctx, key).catch(() => {});
    return undefined;
  }
}

/** Removes a snapshot QEMU could not load, so the next cell boots and saves a good one. */
export async function discardSnapshot(ctx: Pick<Context, 'config'>, key: string): Promise<void> {
  await rm(cachePath(ctx, SNAPSHOT_AREA, key), { recursive: true, force: true });
}

/** QEMU's -incoming argument that loads `state` (QEMU 7.2 has no file: URI; exec: runs the command with /bin/sh). */
export function incomingArg(state: string): string {
  return `exec:cat ${shQuote(state)}`;
}

/**
 * Saves the running guest under `key`: pauses it, streams its state into a
 * temp entry, and lets it run again whatever happened (the cell goes on with
 * this guest either way). Throws when the state could not be written (a full
 * disk, a timeout); the temp entry is then gone.
 */
export async function saveSnapshot(ctx: Context, qmp: Qmp, key: string, bootConsole: string): Promise<void> {
  await cachedDir(ctx, SNAPSHOT_AREA, key, async (dir) => {
    const state = join(dir, STATE_FILE);
    await qmp.command('stop', 5000);
    try {
      await qmp.command('migrate', 5000, { uri: `exec:cat > ${shQuote(state)}` });
      await waitForMigration(ctx, qmp);
    } catch (err) {
      // QEMU only sees a broken pipe when the disk fills: say what the filesystem says.
      throw (await fullDisk(dir)) ?? err;
    } finally {
      await qmp.command('cont', 5000);
    }
    await writeFile(join(dir, CONSOLE_FILE), bootConsole);
    await writeFile(join(dir, META_FILE), JSON.stringify({ format: FORMAT, size: (await stat(state)).size, savedAt: new Date().toISOString() }) + '\n');
  });
  await pruneSnapshots(ctx, key);
}

/** Removes the least recently used snapshots (never `keep`) until all of them fit SNAPSHOT_BUDGET_BYTES. */
async function pruneSnapshots(ctx: Pick<Context, 'config'>, keep: string): Promise<void> {
  const area = cachePath(ctx, SNAPSHOT_AREA);
  const entries = [];
  for (const key of await readdir(area).catch(() => [] as string[])) {
    if (key.startsWith('.')) continue; // a temp entry of a save under way
    const size = await stat(join(area, key, STATE_FILE)).then(
      (st) => st.size,
      () => 0,
    );
    const used = await stat(join(area, key, META_FILE)).then(
      (st) => st.mtimeMs,
      () => 0,
    );
    entries.push({ key, size, used });
  }
  let total = entries.reduce((sum, e) => sum + e.size, 0);
  for (const e of entries.sort((a, b) => a.used - b.used)) {
    if (total <= SNAPSHOT_BUDGET_BYTES) break;
    if (e.key === keep) continue;
    await discardSnapshot(ctx, e.key);
    total -= e.size;
  }
}

/** A save needs room for a whole state file: an error naming the room there was, when it was less than that. */
async function fullDisk(dir: string): Promise<Error | undefined> {
  const fs = await statfs(dir).catch(() => undefined);
  if (!fs) return undefined;
  // The part written so far is removed with the temp entry: it counts as room.
  const room =
    fs.bavail * fs.bsize +
    (await stat(join(dir, STATE_FILE)).then(
      (st) => st.size,
      () => 0,
    ));
  if (room >= SNAPSHOT_ROOM_BYTES) return undefined;
  return new Error(`the cache's filesystem is full: ${Math.round(room / 2 ** 20)} MB of room in ${dirname(dir)}, a snapshot takes ~140 MB`);
}

async function waitForMigration(ctx: Context, qmp: Qmp): Promise<void> {
  const ended = await retryUntil(
    async () => {
      const s = (await qmp.command('query-migrate', 5000)) as { status?: string; 'error-desc'?: string };
      return s.status === 'completed' || s.status === 'failed' || s.status === 'cancelled' ? s : undefined;
    },
    { intervalMs: 25, timeoutMs: SAVE_TIMEOUT_MS, signal: ctx.signal },
  );
  if (!ended) {
    await qmp.command('migrate_cancel', 5000).catch(() => {});
    throw new Error(ctx.signal.aborted ? 'interrupted' : `not written within ${SAVE_TIMEOUT_MS / 1000} s`);
  }
  if (ended.status !== 'completed') throw new Error(ended['error-desc'] ?? `migration ${ended.status}`);
}
