// Owns turning a catalog entry into a bootable KernelArtifact (build, fetch
// or take as given) and checking its config against the scenario's needs.
import { join, dirname } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import type { CatalogKernel } from './catalog.ts';
import { labPath, entryOf } from './catalog.ts';
import type { KernelArtifact } from './artifact.ts';
import { buildFromSource } from './source-build.ts';
import { prepareDebianPackage } from './debian-package.ts';
import { prepareRpm } from './rpm-package.ts';
import { readKernelConfig, assertConfigMeets, type Requirement } from './requirements.ts';
import { exists } from '../util/cache.ts';
import { isBzImage } from './boot-header.ts';
import { sha256File } from '../util/hash.ts';
import { LeaklabError } from '../util/errors.ts';
import type { Context } from '../util/context.ts';

export async function prepareKernel(ctx: Context, k: CatalogKernel, reqs: Requirement[]): Promise<KernelArtifact> {
  const artifact = await artifactOf(ctx, k, reqs);
  if (artifact.configPath) {
    assertConfigMeets(k, artifact.configPath, await readKernelConfig(artifact.configPath), reqs, artifact.modulesDir !== undefined);
  } else {
    ctx.progress.step(k.name, 'no .config given: cannot check the kernel has what the scenario needs');
  }
  if (k.kind !== 'image') await recordName(artifact);
  return artifact;
}

async function artifactOf(ctx: Context, k: CatalogKernel, reqs: Requirement[]): Promise<KernelArtifact> {
  if (k.kind === 'source') return buildFromSource(ctx, k, reqs);
  if (k.kind === 'package') return prepareDebianPackage(ctx, k);
  if (k.kind === 'rpm') return prepareRpm(ctx, k, reqs);
  return userImage(k);
}

async function userImage(k: CatalogKernel & { kind: 'image' }): Promise<KernelArtifact> {
  const bzImage = labPath(k, k.bzImage);
  if (!(await exists(bzImage)))
    throw new LeaklabError('catalog', `kernel ${k.name}: bzImage not found: ${bzImage}`, {
      hint: `fix the bzImage path of ${entryOf(k)} (relative paths are from ${k.labDir})`,
    });
  if (!(await isBzImage(bzImage)))
    throw new LeaklabError('catalog', `kernel ${k.name}: ${bzImage} is not a bzImage (no x86 boot header "HdrS" at offset 0x202)`, {
      hint: `give ${entryOf(k)} an x86 kernel image: arch/x86/boot/bzImage of a build, or a /boot/vmlinuz-* (not vmlinux)`,
    });
  const modulesDir = k.modules ? labPath(k, k.modules) : undefined;
  if (modulesDir && !(await exists(join(modulesDir, 'modules.dep')))) {
    throw new LeaklabError('catalog', `kernel ${k.name}: ${modulesDir} has no modules.dep`, {
      hint: `give the lib/modules/<release> directory of this kernel, after running depmod`,
    });
  }
  const configPath = k.config ? labPath(k, k.config) : undefined;
  if (configPath && !(await exists(configPath)))
    throw new LeaklabError('catalog', `kernel ${k.name}: config not found: ${configPath}`, { hint: `fix the config path of ${entryOf(k)}, or remove it` });
  return {
    name: k.name,
    bzImage,
    configPath,
    modulesDir,
    release: modulesDir?.split('/').filter(Boolean).pop(),
    provenance: { origin: 'bzImage', bzImageSha256: await sha256File(bzImage) },
  };
}

/**
 * Notes which catalog names a cached kernel serves (for `leaklab kernels`).
 * Only a listing depends on it: a cache that cannot be written (read-only)
 * still runs the kernel.
 */
async function recordName(artifact: KernelArtifact): Promise<void> {
  const dir = join(dirname(artifact.bzImage), 'names');
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, artifact.name), '');
  } catch {
    // The listing then says "not built" for this name; nothing else is affected.
  }
}
