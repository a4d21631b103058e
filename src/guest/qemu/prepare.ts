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
import { QemuGuest, qemuVersion } from './qemu-guest.ts';
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
  return {
    kernel: kernel.name,
    provenance: { ...kernel.provenance, qemu: await qemuVersion(ctx), accel, imageRecipe: `${recipe.name}-${recipe.key}` },
    packets: s.traffic.packets,
    noun: 'guest',
    start: async (scope) => {
      const consolePath = join(runDir, 'console.log');
      ctx.progress.step(scope, `booting (${accel}: ${why}); console: ${consolePath}`);
      const endBoot = followBoot(ctx, scope, consolePath, bootTimeoutMs);
      return QemuGuest.start(ctx, {
        name: kernel.name,
        bzImage: kernel.bzImage,
        initrd,
        cmdline: s.guest.cmdline,
        memory: s.guest.memory,
        accel,
        runDir,
        bootTimeoutMs,
      }).finally(endBoot);
    },
  };
}
