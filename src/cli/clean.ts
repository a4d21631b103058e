// Owns `leaklab clean`: remove the QEMU guests and containers that killed
// leaklab runs left behind (those of running leaklab processes are kept),
// and on request leaklab's Docker images.
import { reapOrphanedGuests } from '../guest/qemu/reaper.ts';
import { connectDocker } from '../guest/docker/engine.ts';
import { reapOrphanedContainers, removeImages } from '../guest/docker/reaper.ts';
import { LeaklabError } from '../util/errors.ts';
import type { Context } from '../util/context.ts';

export async function cleanCommand(ctx: Context, opts: { images?: boolean }): Promise<number> {
  const guests = await reapOrphanedGuests();
  process.stdout.write(`QEMU guests stopped: ${guests}\n`);
  let docker;
  try {
    docker = await connectDocker(ctx.config.dockerHost);
  } catch (err) {
    if (!(err instanceof LeaklabError) || opts.images) throw err;
    process.stdout.write(`containers: not checked (${err.message})\n`);
    return 0;
  }
  process.stdout.write(`containers removed: ${await reapOrphanedContainers(docker)}\n`);
  if (opts.images) process.stdout.write(`images removed: ${await removeImages(docker)}\n`);
  return 0;
}
