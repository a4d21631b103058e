// Owns kernels that come as RPM files (a vendor kernel such as openSUSE's
// kernel-default, or Fedora's kernel-core): unpacked with rpm2cpio and cpio
// into the cache (keyed by the file's sha256), vmlinuz, config and modules
// found where those distributions put them (/boot/vmlinuz-REL, or
// /usr/lib/modules/REL/vmlinuz), modules packed into the guest as for
// Debian packages (depmod run on them here).
import { readdir, rename, mkdir, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogKernel, RpmKernel } from './catalog.ts';
import { labPath, entryOf } from './catalog.ts';
import type { KernelArtifact } from './artifact.ts';
import { cachedDir, exists } from '../util/cache.ts';
import { run, requireTool } from '../util/exec.ts';
import { sha256File, short } from '../util/hash.ts';
import { isBzImage } from './boot-header.ts';
import { assertConfigMeets, readKernelConfig, type Requirement } from './requirements.ts';
import { shQuote } from '../util/shell.ts';
import { LeaklabError } from '../util/errors.ts';
import type { Context } from '../util/context.ts';

interface KernelFiles {
  release: string;
  vmlinuz: string;
  config?: string;
  /** lib/modules/REL, when it holds modules. */
  modules?: string;
}

const MODULE_FILE = /\.ko(\.(xz|zst|gz))?$/;

/** Where a kernel RPM keeps its files: /boot/vmlinuz-REL, else a usr-merged /usr/lib/modules/REL/vmlinuz. */
async function kernelFiles(root: string): Promise<KernelFiles | undefined> {
  const list = (dir: string) => readdir(join(root, dir)).catch(() => [] as string[]);
  for (const f of await list('boot')) {
    if (!f.startsWith('vmlinuz-')) continue;
    const release = f.slice('vmlinuz-'.length);
    return {
      release,
      vmlinuz: join(root, 'boot', f),
      config: await existing(join(root, 'boot', `config-${release}`)),
      modules: await modulesOf(root, release),
    };
  }
  for (const dir of ['usr/lib/modules', 'lib/modules']) {
    for (const release of await list(dir)) {
      const vmlinuz = join(root, dir, release, 'vmlinuz');
      if (await exists(vmlinuz))
        return { release, vmlinuz, config: await existing(join(root, dir, release, 'config')), modules: await modulesOf(root, release) };
    }
  }
  return undefined;
}

async function existing(path: string): Promise<string | undefined> {
  return (await exists(path)) ? path : undefined;
}

/** lib/modules/REL if it holds a module (a kernel RPM may ship the directory with only vmlinuz and config). */
async function modulesOf(root: string, release: string): Promise<string | undefined> {
  for (const dir of ['usr/lib/modules', 'lib/modules']) {
    const path = join(root, dir, release);
    const files = await readdir(path, { recursive: true }).catch(() => [] as string[]);
    if (files.some((f) => MODULE_FILE.test(f))) return path;
  }
  return undefined;
}

export async function prepareRpm(ctx: Context, k: RpmKernel & CatalogKernel, reqs: Requirement[]): Promise<KernelArtifact> {
  await requireTool('rpm2cpio', 'rpm2cpio');
  await requireTool('cpio', 'cpio');
  await requireTool('depmod', 'kmod');
  const rpm = labPath(k, k.rpm);
  if (!(await exists(rpm))) {
    throw new LeaklabError('catalog', `kernel ${k.name}: RPM not found: ${rpm}`, {
      hint: `fix the rpm path of ${entryOf(k)} (relative paths are from ${k.labDir})`,
    });
  }
  const rpmSha = await sha256File(rpm);
  const dir = await cachedDir(ctx, 'kernels', `rpm-${short(rpmSha)}`, async (tmp) => {
    ctx.progress.step(k.name, `unpacking ${rpm} (rpm2cpio | cpio)`);
    const root = join(tmp, 'root');
    await mkdir(root);
    // rpm2cpio writes the payload, cpio unpacks it: a pipe, so through sh; the path is quoted.
    await run(ctx, 'sh', ['-c', `rpm2cpio ${shQuote(rpm)} | cpio -idm --quiet --no-absolute-filenames`], {
      cwd: root,
      timeoutMs: 10 * 60_000,
      what: `unpacking ${rpm}`,
      kind: 'catalog',
      hint: `check that ${rpm} is an RPM file (rpm -qip ${rpm})`,
    });
    const files = await kernelFiles(root);
    if (!files || !(await isBzImage(files.vmlinuz))) {
      throw new LeaklabError(
        'catalog',
        `kernel ${k.name}: ${rpm} is not a kernel package: it has no /boot/vmlinuz-RELEASE or /usr/lib/modules/RELEASE/vmlinuz${files ? ' that is an x86 boot image' : ''}`,
        {
          hint: "give the distribution's kernel package (openSUSE kernel-default, Fedora kernel-core), not a -devel, -source or tools package",
        },
      );
    }
    // A kernel whose needed options are modules the RPM does not ship cannot run the scenario: refused before it is cached.
    if (files.config && !files.modules) assertConfigMeets(k, rpm, await readKernelConfig(files.config), reqs, false);
    await rename(files.vmlinuz, join(tmp, 'bzImage'));
    if (files.config) await rename(files.config, join(tmp, 'config'));
    if (files.modules) {
      await mkdir(join(tmp, 'lib', 'modules'), { recursive: true });
      await rename(files.modules, join(tmp, 'lib', 'modules', files.release));
      ctx.progress.step(k.name, `running depmod for ${files.release}`);
      await run(ctx, 'depmod', ['-b', tmp, files.release], { timeoutMs: 5 * 60_000, what: `depmod ${files.release}` });
    }
    await run(ctx, 'rm', ['-rf', root], { timeoutMs: 5 * 60_000, what: 'removing the unpacked RPM' });
    await writeFile(join(tmp, 'meta.json'), JSON.stringify({ rpm, rpmSha256: rpmSha, release: files.release, modules: files.modules !== undefined }, null, 2));
  });
  const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8'));
  return {
    name: k.name,
    bzImage: join(dir, 'bzImage'),
    configPath: (await exists(join(dir, 'config'))) ? join(dir, 'config') : undefined,
    modulesDir: meta.modules ? join(dir, 'lib', 'modules', meta.release) : undefined,
    release: meta.release,
    provenance: { origin: 'rpm', rpm: meta.rpm, rpmSha256: meta.rpmSha256 },
  };
}
