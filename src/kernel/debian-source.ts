// Owns where a Debian linux-source package's tarball comes from: the
// installed package (/usr/src), or, for `version:`, that version fetched
// with apt into the cache (never installed system-wide), so several
// versions sit side by side.
import { readdir, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogKernel } from './catalog.ts';
import { archiveVersions } from './debian-archive.ts';
import { aptDownload } from './debian-package.ts';
import { cachedDir, exists } from '../util/cache.ts';
import { run, runAllowFail, requireTool } from '../util/exec.ts';
import { LeaklabError } from '../util/errors.ts';
import type { Context } from '../util/context.ts';

export interface SourceTarball {
  package: string;
  version: string;
  tarball: string;
}

export async function debianSourceTarball(ctx: Context, k: CatalogKernel, source: { debian: string; version?: string }): Promise<SourceTarball> {
  const pkg = source.debian;
  const wanted = source.version;
  if (wanted === undefined) return installedTarball(ctx, k, pkg);
  return { package: pkg, version: wanted, tarball: await fetchedTarball(ctx, k, pkg, wanted) };
}

async function installedTarball(ctx: Context, k: CatalogKernel, pkg: string): Promise<SourceTarball> {
  const version = (await runAllowFail(ctx, 'dpkg-query', ['-W', '-f=${Version}', pkg], { timeoutMs: 30_000, what: 'dpkg-query' })).stdout.trim();
  const tarball = `/usr/src/${pkg}.tar.xz`;
  if (!version || !(await exists(tarball))) {
    throw new LeaklabError('tool', `the Debian package ${pkg} is not installed (kernel ${k.name} is built from it)`, {
      hint: `apt-get install ${pkg} (or run scripts/setup.sh), or give the kernel a version: to fetch into leaklab's cache`,
    });
  }
  return { package: pkg, version, tarball };
}

/** The version's tarball, fetched once into the cache; a version the archive lacks is refused before anything is written. */
async function fetchedTarball(ctx: Context, k: CatalogKernel, pkg: string, version: string): Promise<string> {
  const name = `${pkg}.tar.xz`;
  const dir = await cachedDir(ctx, 'source-packages', `${pkg}_${version}`.replace(/[^A-Za-z0-9._+-]/g, '_'), async (tmp) => {
    const versions = (await archiveVersions(ctx, [pkg])).map((p) => p.version);
    if (!versions.includes(version)) {
      throw new LeaklabError('catalog', `the archive has no ${pkg} version ${version} (kernel ${k.name})`, {
        hint: versions.length > 0 ? `use one it has: ${versions.join(', ')} (source.version in ${k.file})` : `check the package name, and run apt-get update`,
      });
    }
    await requireTool('dpkg-deb', 'dpkg');
    ctx.progress.step(k.name, `fetching ${pkg} ${version} with apt (into the cache, not installed)`);
    const dl = join(tmp, 'download');
    await mkdir(dl);
    await aptDownload(ctx, k.name, pkg, version, dl);
    const deb = (await readdir(dl)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new LeaklabError('catalog', `apt-get download ${pkg}=${version} wrote no .deb`, { hint: 'check the Debian mirror and run apt-get update' });
    const root = join(tmp, 'root');
    await run(ctx, 'dpkg-deb', ['-x', join(dl, deb), root], { timeoutMs: 10 * 60_000, what: `unpacking ${deb}` });
    const inside = join(root, 'usr', 'src', name);
    if (!(await exists(inside)))
      throw new LeaklabError('catalog', `${pkg} ${version} has no /usr/src/${name}`, { hint: 'name a Debian linux-source-X package' });
    await rename(inside, join(tmp, name));
    await run(ctx, 'rm', ['-rf', root, dl], { timeoutMs: 60_000, what: 'removing the unpacked package' });
  });
  return join(dir, name);
}
