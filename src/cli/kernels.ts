// Owns `leaklab kernels`: the catalog, one line per kernel, with what it is
// and whether it is ready: in the cache, or (a bzImage of your own) there
// and a bzImage.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalog, labPath, type Catalog, type CatalogKernel } from '../kernel/catalog.ts';
import { debianSeriesKernels } from '../kernel/series.ts';
import { debianPackageKey } from '../kernel/debian-package.ts';
import { LeaklabError } from '../util/errors.ts';
import { isBzImage } from '../kernel/boot-header.ts';
import { cachePath, exists } from '../util/cache.ts';
import type { Context } from '../util/context.ts';

export async function kernelsCommand(ctx: Context, opts: { json?: boolean; debian?: string; yaml?: boolean }): Promise<number> {
  const catalog = await loadCatalog(ctx.config.catalogFile);
  if (opts.debian !== undefined) return debianCommand(ctx, catalog, opts.debian, opts);
  const cached = await cachedNames(ctx);
  const rows = await Promise.all(
    [...catalog.kernels.values()].map(async (k) => {
      const status = await statusOf(k, cached);
      return { name: k.name, kind: k.kind, from: origin(k), status, cached: status === 'cached' || status === 'prebuilt', description: k.description ?? '' };
    }),
  );
  if (opts.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  const w = Math.max(...rows.map((r) => r.name.length)) + 2;
  const sw = Math.max(...rows.map((r) => r.status.length)) + 2;
  for (const r of rows) {
    process.stdout.write(`${r.name.padEnd(w)}${r.status.padEnd(sw)}${r.from}\n${r.description ? `${' '.repeat(w)}${r.description}\n` : ''}`);
  }
  for (const [name, spec] of catalog.series) {
    const what =
      'kernels' in spec ? spec.kernels.join(', ') : `every Debian ${spec.debian} in the archive (leaklab kernels --debian '${spec.debian}' lists them)`;
    process.stdout.write(`series ${name}: ${what}\n`);
  }
  process.stdout.write(`(catalog: ${catalog.file}; cache: ${cachePath(ctx)})\n`);
  return 0;
}

/**
 * `--debian PATTERN`: the archive's kernel packages matching it, oldest
 * first, each pinned to its version, named as a series of that pattern
 * names them; `--yaml` prints them as catalog entries to paste.
 */
async function debianCommand(ctx: Context, catalog: Catalog, pattern: string, opts: { json?: boolean; yaml?: boolean }): Promise<number> {
  if (!/^linux-image-[A-Za-z0-9.+*?-]+$/.test(pattern)) {
    throw new LeaklabError('usage', `--debian ${JSON.stringify(pattern)}: not a pattern over linux-image package names`, {
      hint: "quote it and start it with linux-image-, e.g. --debian 'linux-image-6.1.0-*-cloud-amd64'",
    });
  }
  const members = await debianSeriesKernels(ctx, catalog, undefined, pattern);
  const rows = await Promise.all(
    members.map(async (k) => {
      const [pkg, version] = k.kind === 'package' ? [k.package, k.version ?? ''] : ['', ''];
      return { name: k.name, package: pkg, version, cached: await exists(cachePath(ctx, 'kernels', debianPackageKey(pkg, version))) };
    }),
  );
  if (opts.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else if (opts.yaml) {
    process.stdout.write(`kernels:\n${rows.map((r) => `  ${r.name}:\n    package: ${r.package}\n    version: ${JSON.stringify(r.version)}\n`).join('')}`);
  } else {
    const w = Math.max(...rows.map((r) => r.name.length)) + 2;
    const pw = Math.max(...rows.map((r) => r.package.length)) + 2;
    for (const r of rows) process.stdout.write(`${r.name.padEnd(w)}${r.package.padEnd(pw)}${r.version.padEnd(22)}${r.cached ? 'cached' : 'not fetched'}\n`);
    process.stdout.write(
      `${rows.length} package${rows.length === 1 ? '' : 's'} in the archive, oldest first; run them all with a catalog series: { debian: '${pattern}' } and -k SERIES\n`,
    );
  }
  return 0;
}

/** Built or fetched kernels are ready once cached; a bzImage of your own once it is there and is one. */
async function statusOf(k: CatalogKernel, cached: Set<string>): Promise<'cached' | 'not built' | 'prebuilt' | 'missing' | 'not a bzImage'> {
  if (k.kind !== 'image') return cached.has(k.name) ? 'cached' : 'not built';
  const path = labPath(k, k.bzImage);
  if (!(await exists(path))) return 'missing';
  return (await isBzImage(path)) ? 'prebuilt' : 'not a bzImage';
}

function origin(k: CatalogKernel): string {
  if (k.kind === 'source') {
    const src = 'debian' in k.source ? `${k.source.debian}${k.source.version ? ` ${k.source.version}` : ''}` : k.source.tree;
    return `source ${src}, ${k.config.base ?? 'tinyconfig'} + ${(k.config.fragments ?? []).join(' + ')}${k.patches?.length ? `, patches: ${k.patches.join(' ')}` : ''}`;
  }
  if (k.kind === 'package') return `Debian package ${k.package}${k.version ? ` ${k.version}` : ''}`;
  if (k.kind === 'rpm') return `RPM ${k.rpm}`;
  return `bzImage ${k.bzImage}`;
}

/** Catalog names recorded beside cached kernels. */
async function cachedNames(ctx: Context): Promise<Set<string>> {
  const names = new Set<string>();
  const dir = cachePath(ctx, 'kernels');
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (entry.startsWith('.')) continue;
    for (const n of await readdir(join(dir, entry, 'names')).catch(() => [] as string[])) names.add(n);
  }
  return names;
}
