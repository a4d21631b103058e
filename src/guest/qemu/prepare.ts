// Owns preparing a QEMU cell: the kernel's modules the scenario needs, the
// initramfs for the recipe and kernel, the accelerator, the provenance, and
// a start that follows the boot on the console (the port: guest/guest.ts).
import { join } from 'node:path';
import type { Scenario } from '../../scenario/scenario.ts';
import type { KernelArtifact } from '../../kernel/artifact.ts';
import { readKernelConfig, modulesToLoad, scenarioRequirements } from '../../kernel/requirements.ts';
import { loadRecipe } from '../../image/recipe.ts';
import { initramfsFor } from '../../image/initramfs.ts';
import { guestProgramsFor } from '../../image/guest-programs.ts';
import type { PreparedGuest } from '../guest.ts';
import { QemuGuest, qemuVersion, machineArgs, restoreTimeoutMs, type QemuGuestOptions } from './qemu-guest.ts';
import { snapshotKey, findSnapshot, discardSnapshot } from './boot-snapshot.ts';
import { LeaklabError } from '../../util/errors.ts';
import { chooseAccel } from './accel.ts';
import { followBoot } from './console.ts';
import type { Context } from '../../util/context.ts';

export async function prepareQemuGuest(ctx: Context, s: Scenario, kernel: KernelArtifact, runDir: string): Promise<PreparedGuest> {
  const { bootTimeoutMs } = ctx.config;
  const config = kernel.configPath ? await readKernelConfig(kernel.configPath) : new Map<string, string>();
  const modules = kernel.modulesDir ? modulesToLoad(config, scenarioRequirements(s)) : [];
  const recipe = await loadRecipe(ctx.config.imagesDir, s.guest.image);
  const initrd = await initramfsFor(ctx, recipe, kernel, modules, await guestProgramsFor(ctx, s.workload));
  const { accel, why } = await chooseAccel(ctx.config.accel);
  const version = await qemuVersion(ctx);
  return {
    kernel: kernel.name,
    provenance: { ...kernel.provenance, qemu: version, accel, imageRecipe: `${recipe.name}-${recipe.key}` },
    packets: s.traffic.packets,
    noun: 'guest',
    start: async (scope) => {
      const opts: QemuGuestOptions = {
        name: kernel.name,
        bzImage: kernel.bzImage,
        initrd,
        cmdline: s.guest.cmdline,
        memory: s.guest.memory,
        accel,
        runDir,
        bootTimeoutMs,
      };
      const consolePath = join(runDir, 'console.log');
      const key = ctx.config.freshBoot ? undefined : await snapshotKey({ qemuVersion: version, machine: machineArgs(opts), bzImage: kernel.bzImage, initrd });
      const restored = key ? await restoreSnapshot(ctx, scope, opts, key) : undefined;
      if (restored) return restored;
      ctx.progress.detail(scope, `booting (${accel}: ${why}); console: ${consolePath}`);
      const endBoot = followBoot(ctx, scope, consolePath, bootTimeoutMs);
      const guest = await QemuGuest.start(ctx, opts).finally(endBoot);
      if (key) await saveBootSnapshot(ctx, scope, guest, key);
      return guest;
    },
  };
}

/** The guest restored from the boot snapshot `key`, or undefined (none yet, or one QEMU could not load: discarded). */
async function restoreSnapshot(ctx: Context, scope: string, opts: QemuGuestOptions, key: string): Promise<QemuGuest | undefined> {
  const snapshot = await findSnapshot(ctx, key);
  if (!snapshot) return undefined;
  ctx.progress.detail(scope, `restoring the boot snapshot ${key.slice(0, 12)} (${opts.accel}); console: ${join(opts.runDir, 'console.log')}`);
  // A live line meanwhile: ~0.4 s from the page cache, seconds when the ~140 MB file is read from disk.
  const limitMs = restoreTimeoutMs(opts.bootTimeoutMs);
  const endRestore = ctx.progress.timedTask(scope, limitMs, (ms) => `restoring the boot snapshot: ${(ms / 1000).toFixed(1)} s of ${limitMs / 1000} s allowed`);
  try {
    return await QemuGuest.start(ctx, { ...opts, restore: snapshot });
  } catch (err) {
    if (err instanceof LeaklabError && err.kind === 'interrupted') throw err;
    ctx.progress.step(scope, `the boot snapshot could not be restored (${(err as Error).message}); discarded, booting instead`);
    await discardSnapshot(ctx, key);
    return undefined;
  } finally {
    endRestore();
  }
}

/** Saves a freshly booted guest for later cells; a save that fails (a full disk) costs this cell nothing but the time. */
async function saveBootSnapshot(ctx: Context, scope: string, guest: QemuGuest, key: string): Promise<void> {
  const started = Date.now();
  try {
    await guest.saveBootSnapshot(key);
    ctx.progress.debug('guest', `${scope}: boot snapshot ${key.slice(0, 12)} saved in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    if (ctx.signal.aborted) throw new LeaklabError('interrupted', 'interrupted');
    ctx.progress.step(scope, `no boot snapshot saved (${(err as Error).message}); later cells boot too`);
  }
}
