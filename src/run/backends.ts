// Owns the guest backends leaklab knows, one entry each: the cells a
// scenario makes on it, how a run checks it can work before its first cell
// (engine up, accelerator usable), how it sweeps what a killed leaklab left
// (`leaklab clean` too), how one cell's guest is prepared (behind the port,
// guest/guest.ts), and how its results are named and run again. Everything
// above run/ asks this registry instead of testing a backend's name; a new
// backend is a folder under guest/ and one entry here.
import type { Scenario, Backend } from '../scenario/scenario.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import type { PreparedGuest } from '../guest/guest.ts';
import { prepareQemuGuest } from '../guest/qemu/prepare.ts';
import { reapOrphanedGuests } from '../guest/qemu/reaper.ts';
import { chooseAccel } from '../guest/qemu/accel.ts';
import { prepareContainer } from '../guest/docker/prepare.ts';
import { connectDocker } from '../guest/docker/engine.ts';
import { reapOrphanedContainers, removeImages } from '../guest/docker/reaper.ts';
import { LeaklabError } from '../util/errors.ts';
import type { Context } from '../util/context.ts';
import type { Cell } from './cell.ts';

export interface PrepareInput {
  /** The cell's kernel, prepared beforehand, when the backend boots one. */
  kernel?: KernelArtifact;
  runDir: string;
  /** The run's id (its directory's name): labels what the backend makes for it. */
  runId: string;
}

export interface Swept {
  /** What was removed, as `leaklab clean` lists it: "QEMU guests stopped". */
  what: string;
  count: number;
}

export interface BackendAdapter {
  /** Its guests are processes of this host: sweeping them needs no engine and costs nothing, so every command does it first. */
  local: boolean;
  /** The cells of one scenario on this backend, given the kernels it is to run on. */
  cells(s: Scenario, kernels: string[]): Cell[];
  /** Checks this backend can run here, before anything is made; throws LeaklabError naming the fix. */
  check(ctx: Context): Promise<void>;
  /** Removes what leaklab processes that were killed left behind (never what a live one runs); says what and how many. */
  sweep(ctx: Context): Promise<Swept>;
  /** Removes leaklab's images this backend keeps outside the cache (`leaklab clean --images`); how many. */
  removeImages?(ctx: Context): Promise<number>;
  /** The guest of one cell, ready to start. Throws LeaklabError only. */
  prepare(ctx: Context, s: Scenario, input: PrepareInput): Promise<PreparedGuest>;
  /** A result's kernel until its guest names it: the catalog kernel, or a placeholder for the host's. */
  kernelBeforeStart(cell: Cell): string;
  /** How a result's kernel is shown wherever results are printed. */
  displayName(kernel: string): string;
  /** The `leaklab run` options that select this result's cell again. */
  rerunOptions(kernel: string): string[];
}

const qemu: BackendAdapter = {
  local: true,
  cells: (s, kernels) => kernels.map((k) => ({ s, k, backend: 'qemu', group: k, where: k, dir: k, nameWidth: k.length + 2, bootsKernel: true, alone: false })),
  // Refuses LEAKLAB_ACCEL=kvm where KVM cannot work, before anything is built.
  check: async (ctx) => void (await chooseAccel(ctx.config.accel)),
  sweep: async () => ({ what: 'QEMU guests stopped', count: await reapOrphanedGuests() }),
  prepare(ctx, s, { kernel, runDir }) {
    if (!kernel) throw new LeaklabError('guest', `${s.name}: no kernel was prepared for its QEMU guest`);
    return prepareQemuGuest(ctx, s, kernel, runDir);
  },
  kernelBeforeStart: (cell) => cell.k,
  displayName: (kernel) => kernel,
  rerunOptions: (kernel) => ['-k', kernel],
};

const docker: BackendAdapter = {
  local: false,
  // One cell per scenario, whatever the kernels: a container runs on the host's kernel.
  // Its directory has a character no catalog name has, so a kernel named "docker" cannot share it.
  cells: (s) => [
    { s, k: 'docker', backend: 'docker', group: 'docker:host', where: 'host (docker)', dir: 'host@docker', nameWidth: 30, bootsKernel: false, alone: true },
  ],
  check: async (ctx) => void (await connectDocker(ctx.config.dockerHost)),
  sweep: async (ctx) => ({ what: 'containers removed', count: await reapOrphanedContainers(await connectDocker(ctx.config.dockerHost)) }),
  removeImages: async (ctx) => removeImages(await connectDocker(ctx.config.dockerHost)),
  prepare: (ctx, s, { runId }) => prepareContainer(ctx, s, runId),
  kernelBeforeStart: () => 'host',
  displayName: (kernel) => `${kernel} (docker)`,
  rerunOptions: () => ['--backend', 'docker'],
};

/** Every backend, in the order a scenario's cells are planned. */
export const BACKENDS: Readonly<Record<Backend, BackendAdapter>> = { qemu, docker };

export const BACKEND_NAMES = Object.keys(BACKENDS) as Backend[];

/** The adapter of a backend named in a result (results read back from JSON may name one this version lacks). */
export function backendOf(name: string): BackendAdapter | undefined {
  return Object.hasOwn(BACKENDS, name) ? BACKENDS[name as Backend] : undefined;
}

/**
 * At a command's start, before its input is read (so also when the input
 * then turns out bad): sweeps every local backend, whose leftovers are
 * processes of this host.
 */
export async function sweepLocal(ctx: Context): Promise<void> {
  for (const name of BACKEND_NAMES.filter((b) => BACKENDS[b].local)) report(await BACKENDS[name].sweep(ctx));
}

/** Once a run knows its backends: each checks it can run, and one behind an engine is swept (the local ones were already). */
export async function beforeRun(ctx: Context, used: Iterable<Backend>): Promise<void> {
  const wanted = new Set(used);
  for (const name of BACKEND_NAMES.filter((b) => wanted.has(b))) {
    await BACKENDS[name].check(ctx);
    if (!BACKENDS[name].local) report(await BACKENDS[name].sweep(ctx));
  }
}

function report(swept: Swept): void {
  if (swept.count > 0) process.stderr.write(`leaklab: ${swept.what}: ${swept.count}, left by a leaklab process that was killed\n`);
}
