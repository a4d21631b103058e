// Owns the container image of a guest recipe: the recipe's rootfs (the same
// tar the QEMU initramfs is made from) minus its pruned paths, plus
// leaklab's init (images/guest-init.sh) and its guest tools (compiled by
// image/guest-programs.ts), imported into Docker (no registry
// needed, none is reachable) and tagged by the content of both, so it is
// made once and reused while present.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { type Recipe, rootfsTar, GUEST_INIT } from '../../image/recipe.ts';
import { guestTools, GUEST_PROGRAM_DIR, type GuestProgram } from '../../image/guest-programs.ts';
import { GUEST_PATH } from '../guest.ts';
import { sha256, short } from '../../util/hash.ts';
import { dockerError } from './engine.ts';
import type { Context } from '../../util/context.ts';

export const IMAGE_REPO = 'leaklab-guest';
/** Label on every image and container leaklab makes. */
export const LABEL = 'leaklab';

export async function containerImage(ctx: Context, docker: Docker, recipe: Recipe): Promise<string> {
  const init = await readFile(GUEST_INIT);
  const tools = await guestTools(ctx);
  // A changed tool is a new image.
  const tag = `${recipe.name}-${short(sha256('container-v2', recipe.key, init.toString(), ...tools.map((t) => t.key)))}`;
  const ref = `${IMAGE_REPO}:${tag}`;
  if (await imageExists(docker, ref)) return ref;
  const rootfs = await rootfsTar(ctx, recipe);
  // Read before the rootfs stream starts: once it flows (its progress listener), nothing may await until it is piped.
  const toolFiles = await Promise.all(tools.map(async (t) => ({ ...t, bytes: await readFile(t.binary) })));
  ctx.progress.step('image', `importing ${recipe.name} into Docker as ${ref}`);
  // The bar follows the rootfs tar being read; Docker takes it as fast as it can store it.
  const task = ctx.progress.task('image', (await stat(rootfs)).size);
  const source = createReadStream(rootfs);
  source.on('data', () => task.update(source.bytesRead, `importing into Docker: ${(source.bytesRead / 1e6).toFixed(0)} MB read`));
  const stream = withLeaklabInit(source, recipe.prune, init, toolFiles);
  try {
    const out = await docker.importImage(stream, {
      repo: IMAGE_REPO,
      tag,
      changes: ['CMD ["/leaklab/init"]', 'ENV LEAKLAB_GUEST=container', `ENV PATH=${GUEST_PATH}`, `LABEL ${LABEL}.recipe=${recipe.key}`],
    });
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(out, (err: Error | null) => (err ? reject(err) : resolve())));
  } catch (err) {
    throw dockerError(`importing the ${recipe.name} image`, err, `the rootfs is ${rootfs}; check dockerd's log and free disk space`);
  } finally {
    task.end();
  }
  return ref;
}

async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw dockerError(`looking up image ${ref}`, err);
  }
}

/** The rootfs tar re-packed on the fly: pruned paths left out, /leaklab/init and the tools added. */
function withLeaklabInit(rootfs: NodeJS.ReadableStream, prune: string[], init: Buffer, tools: (GuestProgram & { bytes: Buffer })[]): NodeJS.ReadableStream {
  const pack = tar.pack();
  const extract = tar.extract();
  const pruned = (name: string) => {
    const path = name.replace(/^\.\//, '').replace(/\/$/, '');
    return prune.some((p) => path === p || path.startsWith(`${p}/`));
  };
  extract.on('entry', (header, body, next) => {
    if (pruned(header.name)) {
      body.on('end', next);
      body.resume();
      return;
    }
    body.pipe(pack.entry(header, next));
  });
  extract.on('finish', () => {
    pack.entry({ name: 'leaklab/', type: 'directory', mode: 0o755 });
    pack.entry({ name: 'leaklab/init', mode: 0o755 }, init);
    // usr/local/bin is in Debian's rootfs already: only the files are added.
    for (const t of tools) pack.entry({ name: `${GUEST_PROGRAM_DIR.slice(1)}/${t.name}`, mode: 0o755 }, t.bytes);
    pack.finalize();
  });
  extract.on('error', (err) => pack.destroy(err));
  rootfs.on('error', (err) => pack.destroy(err)).pipe(extract);
  // tar-stream's Pack is a streamx Readable, which Node's stream types do not describe.
  return pack as unknown as NodeJS.ReadableStream;
}
