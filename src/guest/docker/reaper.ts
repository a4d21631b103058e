// Owns sweeping containers that outlived the leaklab process that made them
// (it was SIGKILLed, or crashed): each carries its owner's pid as a label,
// and one whose owner is gone is removed at the next run or by
// `leaklab clean`, which can also remove leaklab's images.
import type Docker from 'dockerode';
import { readFile, readlink } from 'node:fs/promises';
import { processAlive } from '../../util/exec.ts';
import { LABEL } from './container-image.ts';
import { dockerError } from './engine.ts';

/**
 * Where an owner pid means something: this boot and this pid namespace. A
 * leaklab in another container (or on another host) sharing the daemon has
 * other pids; its containers are never judged by ours.
 */
export async function ownerScope(): Promise<string> {
  const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '?')).trim();
  const pidns = await readlink('/proc/self/ns/pid').catch(() => '?');
  return `${boot}/${pidns}`;
}

/** Removes leaklab containers whose owner (in our boot and pid namespace) is dead; returns how many. */
export async function reapOrphanedContainers(docker: Docker): Promise<number> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL}.owner`] } }).catch((err) => {
    throw dockerError('listing containers', err);
  });
  const scope = await ownerScope();
  let reaped = 0;
  for (const c of list) {
    if (c.Labels[`${LABEL}.scope`] !== scope) continue;
    if (processAlive(Number(c.Labels[`${LABEL}.owner`]))) continue;
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => {});
    reaped++;
  }
  return reaped;
}

/** Removes every leaklab image (they are remade from the recipe when needed); returns how many. */
export async function removeImages(docker: Docker): Promise<number> {
  const images = await docker.listImages({ filters: { label: [`${LABEL}.recipe`] } }).catch((err) => {
    throw dockerError('listing images', err);
  });
  for (const img of images)
    await docker
      .getImage(img.Id)
      .remove({ force: true })
      .catch((err) => {
        throw dockerError(`removing image ${img.Id}`, err);
      });
  return images.length;
}
