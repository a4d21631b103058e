// Owns preparing a container cell: the Engine connection, the host kernel's
// release (the kernel a container runs on), the recipe's image, and the
// measurement policy of host-wide counts (the port: guest/guest.ts).
import type { Scenario } from '../../scenario/scenario.ts';
import { loadRecipe } from '../../image/recipe.ts';
import type { PreparedGuest } from '../guest.ts';
import { DockerGuest } from './docker-guest.ts';
import { connectDocker, hostKernelRelease } from './engine.ts';
import { containerImage } from './container-image.ts';
import type { Context } from '../../util/context.ts';
import { LeaklabError } from '../../util/errors.ts';

export async function prepareContainer(ctx: Context, s: Scenario, runId: string): Promise<PreparedGuest> {
  if (s.workload)
    throw new LeaklabError('scenario', `${s.name} runs a program (workload:), which the docker backend cannot run yet`, {
      hint: 'run it with --backend qemu (or backends: [qemu] in the scenario)',
    });
  const docker = await connectDocker(ctx.config.dockerHost);
  const release = await hostKernelRelease(docker);
  const recipe = await loadRecipe(ctx.config.imagesDir, s.guest.image);
  const image = await containerImage(ctx, docker, recipe);
  return {
    kernel: release,
    release,
    provenance: { origin: 'host kernel (docker)', image, imageRecipe: `${recipe.name}-${recipe.key}` },
    // Slab counts are host-wide in a container: more packets dilute the host's own churn.
    packets: s.traffic.packetsInContainer,
    noun: 'container',
    start: () => DockerGuest.start(ctx, { docker, image, runId, name: s.name }),
  };
}
