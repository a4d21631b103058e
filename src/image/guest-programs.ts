// Owns the C programs that run inside guests: leaklab's own tools
// (images/tools/*.c, e.g. leaklab-tcp for TCP traffic) and a scenario's
// reproducer. Each is compiled on the host as a static binary with Debian's
// gcc (a guest has no compiler and its libc need not match), cached by the
// source's content, the flags and the compiler's version, and placed in the
// guest at /usr/local/bin/NAME. Nothing compiled here runs on the host.
import { readFile, copyFile } from 'node:fs/promises';
import { join, basename } from 'node:path';
import { PACKAGE_ROOT } from '../util/paths.ts';
import { cachedDir } from '../util/cache.ts';
import { run, runAllowFail, requireTool, tail } from '../util/exec.ts';
import { sha256, short } from '../util/hash.ts';
import { LeaklabError } from '../util/errors.ts';
import type { Context } from '../util/context.ts';

/** A compiled program and where the guest finds it. */
export interface GuestProgram {
  /** The name it has in the guest: /usr/local/bin/NAME. */
  name: string;
  /** The static binary on the host. */
  binary: string;
  /** What it was made from (source, flags, compiler), for the keys of what packs it: never its path, which follows LEAKLAB_CACHE. */
  key: string;
}

/** Where programs live in a guest (on every guest's PATH: guest-init.sh and GUEST_PATH). */
export const GUEST_PROGRAM_DIR = '/usr/local/bin';

/** leaklab's own guest tools, compiled into every guest. */
export const TOOL_SOURCES = ['leaklab-tcp.c', 'leaklab-run.c'].map((f) => join(PACKAGE_ROOT, 'images/tools', f));

const CFLAGS = ['-static', '-O2', '-Wall', '-pthread'];

/** The compiler's version line: part of every cache key, so a new gcc rebuilds. */
async function compilerVersion(ctx: Context): Promise<string> {
  await requireTool('gcc', 'gcc (and libc6-dev, for the static libc)');
  const { stdout } = await run(ctx, 'gcc', ['--version'], { timeoutMs: 30_000, what: 'asking gcc its version' });
  return stdout.split('\n')[0];
}

/**
 * Compiles `source` as a static binary named `name` (cached). A compile
 * error is the scenario's: the message names the file and carries gcc's
 * own words. `libs` are extra -l libraries a reproducer needs.
 */
export async function compileProgram(ctx: Context, source: string, name: string, libs: string[] = []): Promise<GuestProgram> {
  const text = await readFile(source).catch((err: NodeJS.ErrnoException) => {
    throw new LeaklabError('scenario', `cannot read the program ${source}: ${err.code ?? err.message}`, {
      hint: 'workload.program is a path to a C file, relative to the scenario file',
    });
  });
  const flags = [...CFLAGS, ...libs.map((l) => `-l${l}`)];
  const key = short(sha256('guest-program-v1', text, flags.join(' '), await compilerVersion(ctx)));
  const dir = await cachedDir(ctx, 'programs', `${name}-${key}`, async (tmp) => {
    ctx.progress.step('image', `compiling ${basename(source)} for the guest (gcc -static)`);
    await copyFile(source, join(tmp, 'program.c'));
    const r = await runAllowFail(ctx, 'gcc', [...CFLAGS, '-o', join(tmp, name), join(tmp, 'program.c'), ...libs.map((l) => `-l${l}`)], {
      timeoutMs: 5 * 60_000,
      // Messages in plain ASCII, whatever the user's locale: they are shown and matched as they are.
      env: { LC_ALL: 'C' },
      what: `compiling ${source}`,
    });
    if (r.exitCode !== 0)
      throw new LeaklabError('scenario', `${source} does not compile (gcc exit ${r.exitCode})`, {
        hint: 'fix the program (it is compiled with gcc -static -O2 -Wall -pthread for the guest); what gcc said is below',
        details: tail(r.stderr.replaceAll(join(tmp, 'program.c'), source), 25),
      });
  });
  return { name, binary: join(dir, name), key };
}

/** The name a scenario's program has in the guest: /usr/local/bin/leaklab-program. */
export const PROGRAM_NAME = 'leaklab-program';

/** Compiles every scenario's program (cached): a program that does not compile is bad input, refused before anything is built or booted. */
export async function compileWorkloads(ctx: Context, scenarios: { workload?: { program: string } }[]): Promise<void> {
  for (const s of new Set(scenarios)) if (s.workload) await compileProgram(ctx, s.workload.program, PROGRAM_NAME);
}

/** leaklab's own guest tools, compiled (cached). */
export async function guestTools(ctx: Context): Promise<GuestProgram[]> {
  const out: GuestProgram[] = [];
  for (const source of TOOL_SOURCES) out.push(await compileProgram(ctx, source, basename(source, '.c')));
  return out;
}

/** What a guest of this scenario runs besides its userspace: leaklab's tools, and the scenario's program if it has one. */
export async function guestProgramsFor(ctx: Context, workload: { program: string } | undefined): Promise<GuestProgram[]> {
  const tools = await guestTools(ctx);
  return workload ? [...tools, await compileProgram(ctx, workload.program, PROGRAM_NAME)] : tools;
}
