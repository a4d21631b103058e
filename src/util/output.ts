// Owns writing the files a user asked for or reads afterwards (--json,
// --junit, --report, the run directory, the job summary): checked before any
// guest runs, written atomically when they are regular files (a reader never
// sees half a report; a device such as /dev/stdout is written in place), and
// every refusal of the filesystem (full, read-only, a directory where a file
// is wanted, no permission) turned into one message naming the path and the
// next step, with no partial temp file left behind.
import { open, rename, rm, stat, realpath, writeFile, appendFile } from 'node:fs/promises';
import { write, constants } from 'node:fs';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import { LeaklabError } from './errors.ts';
import { makeDirs } from './dirs.ts';

/** What a hint says to change for a path: e.g. "--json", "--runs-dir (or LEAKLAB_RUNS)". */
export type Where = string;

/** Where a run directory's files (console logs, samples, result.json, report.json) go. */
export const RUNS_DIR_WHERE = '--runs-dir (or LEAKLAB_RUNS)';

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large (a file size limit, ulimit -f?)',
  EROFS: 'read-only filesystem',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOENT: 'no such file or directory',
};

/** Why the filesystem refused, in words: "read-only filesystem (EROFS)". */
export function reasonOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return REASONS[code] ? `${REASONS[code]} (${code})` : (err as Error).message;
}

/** The error for a write the filesystem refused: the path, why, and what to do instead (`where`: the option or variable that names the path). */
export function filesystemError(err: unknown, path: string, where: Where): LeaklabError {
  if (err instanceof LeaklabError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const reason = reasonOf(err);
  const hint =
    code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG'
      ? `free space where ${path} is (df -h ${dirname(path)}), or give ${where} a path on another filesystem`
      : code === 'EISDIR'
        ? `give ${where} a file name, e.g. ${join(path, 'report.json')}`
        : code === 'EROFS'
          ? `give ${where} a path on a writable filesystem`
          : `give ${where} a path you can write to`;
  return new LeaklabError('filesystem', `cannot write ${path}: ${reason}`, { hint, cause: err });
}

/** A filesystem's refusal (an errno code such as ENOSPC) as the one message for `path`; anything else (a bug, a LeaklabError) unchanged. */
export function asFilesystemError(err: unknown, path: string, where: Where): unknown {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof LeaklabError || !/^E[A-Z]+$/.test(e?.code ?? '')) return err;
  return filesystemError(err, path, where);
}

/** Runs `fn`, turning a filesystem error into the one message for `path`. */
export async function writingTo<T>(path: string, where: Where, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asFilesystemError(err, path, where);
  }
}

/**
 * Checks, before anything runs, that `file` can be written: not a directory;
 * a device (/dev/stdout, /dev/full) must take a write (an empty one: /dev/full
 * refuses even that); otherwise its directory is made and takes a small file
 * (a full or read-only filesystem refuses it).
 */
export async function checkOutputFile(file: string, where: Where): Promise<void> {
  await writingTo(file, where, async () => {
    const info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) throw Object.assign(new Error(`${file} is a directory`), { code: 'EISDIR' });
    if (info && info.isCharacterDevice()) return writeNothing(file);
    if (info && !info.isFile()) return; // a pipe: opening it would wait for a reader
    await probeNewDir(dirname(file));
  });
}

/** Checks that a directory can be made and written (a full or read-only filesystem refuses the probe). */
export async function checkOutputDir(dir: string, where: Where): Promise<void> {
  await writingTo(dir, where, () => probeNewDir(dir));
}

/** Writes `text` to `path`: atomically (a temp file renamed into place) for a regular file, in place for a device. */
export async function writeOutput(path: string, text: string, where: Where): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) throw filesystemError(Object.assign(new Error('is a directory'), { code: 'EISDIR' }), path, where);
  if (info && !info.isFile()) return writingTo(path, where, () => writeFile(path, text));
  // A symlink to a file: replace the file it names, not the link.
  const target = info ? await realpath(path) : path;
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw filesystemError(err, path, where);
  }
}

/** Appends `text` to `path` (GitHub's job summary). */
export async function appendOutput(path: string, text: string, where: Where): Promise<void> {
  await writingTo(path, where, () => appendFile(path, text));
}

const writeFd = promisify(write);

async function writeNothing(device: string): Promise<void> {
  // O_NONBLOCK: a device that would block (a terminal on hold) must not stall the check.
  const fh = await open(device, constants.O_WRONLY | constants.O_APPEND | constants.O_NONBLOCK);
  try {
    // FileHandle.write skips an empty write; fs.write makes the system call.
    await writeFd(fh.fd, Buffer.alloc(0), 0, 0, null);
  } finally {
    await fh.close();
  }
}

/** Makes `dir` (and missing parents) and probes it; a refused probe removes what it made. */
async function probeNewDir(dir: string): Promise<void> {
  const made = await makeDirs(dir);
  try {
    await probeDir(dir);
  } catch (err) {
    if (made) await rm(made, { recursive: true, force: true });
    throw err;
  }
}

async function probeDir(dir: string): Promise<void> {
  const probe = join(dir, `.leaklab-write-test-${process.pid}`);
  try {
    // Some bytes, not an empty file: a full filesystem still has room for an empty one.
    await writeFile(probe, 'leaklab\n');
  } finally {
    await rm(probe, { force: true });
  }
}
