// Owns turning kernel names as users give them (-k, a scenario's kernels:)
// into catalog kernels: a kernel stands for itself, a series for its
// members, oldest first. A Debian series is asked of the archive each time
// it is used: every package matching its pattern, each version pinned, as
// generated package entries (named by the package, e.g. 6.1.0-47-cloud-amd64).
import { dirname, resolve } from 'node:path';
import { matchingPackages, type ArchivePackage } from './debian-archive.ts';
import type { Catalog, CatalogKernel, SeriesSpec } from './catalog.ts';
import { LeaklabError } from '../util/errors.ts';
import type { Context } from '../util/context.ts';

/**
 * The kernels of a Debian series: one package entry per package and version, oldest first.
 * `series` names it in messages (undefined: a pattern given on the command line).
 */
export async function debianSeriesKernels(ctx: Context, catalog: Catalog, series: string | undefined, glob: string): Promise<CatalogKernel[]> {
  const pkgs = await matchingPackages(ctx, glob);
  if (pkgs.length === 0) {
    throw new LeaklabError(series ? 'catalog' : 'usage', `${series ? `series ${series}: ` : ''}no kernel package in the archive matches ${glob}`, {
      hint: `list what there is with apt-cache pkgnames linux-image- (run apt-get update if the lists are old), and fix the pattern${series ? ` in ${catalog.file}` : ''}`,
    });
  }
  return pkgs.map((p) => ({
    kind: 'package',
    name: memberName(p, pkgs),
    package: p.name,
    version: p.version,
    description: `${p.name} ${p.version}${series ? `, from series ${series}` : ''}`,
    file: catalog.file,
    labDir: dirname(resolve(catalog.file)),
  }));
}

/**
 * linux-image-6.1.0-47-cloud-amd64 -> 6.1.0-47-cloud-amd64, with _VERSION when the archive has several
 * versions of it; characters a kernel name cannot have (it names directories) become "-" (6.12.118-deb12-cloud-amd64).
 */
export function memberName(p: ArchivePackage, all: ArchivePackage[]): string {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]/g, '-');
  const base = safe(p.name.replace(/^linux-image-/, ''));
  const several = all.filter((q) => q.name === p.name).length > 1;
  return several ? `${base}_${safe(p.version)}` : base;
}

/** A series' kernel names, oldest first, with the catalog holding every one of them. */
async function seriesMembers(ctx: Context, catalog: Catalog, name: string, spec: SeriesSpec): Promise<{ catalog: Catalog; names: string[] }> {
  if ('kernels' in spec) return { catalog, names: spec.kernels };
  const members = await debianSeriesKernels(ctx, catalog, name, spec.debian);
  const kernels = new Map(catalog.kernels);
  for (const k of members) kernels.set(k.name, k);
  return { catalog: { ...catalog, kernels }, names: members.map((k) => k.name) };
}

/**
 * Names as given, series replaced by their members (each kernel once, first
 * place kept), and the catalog extended by the members of Debian series.
 */
export async function expandKernelNames(ctx: Context, catalog: Catalog, names: string[]): Promise<{ catalog: Catalog; names: string[] }> {
  let current = catalog;
  const out: string[] = [];
  for (const name of names) {
    const spec = catalog.series.get(name);
    const expanded = spec ? await seriesMembers(ctx, current, name, spec) : { catalog: current, names: [name] };
    current = expanded.catalog;
    for (const n of expanded.names) if (!out.includes(n)) out.push(n);
  }
  return { catalog: current, names: out };
}

/** expandKernelNames for an optional -k: none given, nothing to expand (each scenario's own kernels). */
export async function expandGiven(ctx: Context, catalog: Catalog, given: string[] | undefined): Promise<{ catalog: Catalog; names: string[] | undefined }> {
  return given === undefined ? { catalog, names: undefined } : expandKernelNames(ctx, catalog, given);
}
