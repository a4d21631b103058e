// Owns `leaklab kernels`: the catalog, one line per kernel, with what it is
// and whether it is ready: in the cache, or (a bzImage of your own) there
// and a bzImage.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalog, labPath, type CatalogKernel } from '../kernel/catalog.ts';
import { isBzImage } from '../kernel/boot-header.ts';
import { cachePath, exists } from '../util/cache.ts';
import type { Context } from '../util/context.ts';

export async function kernelsCommand(ctx: Context, opts: { json?: boolean }): Promise<number> {
  const catalog = await loadCatalog(ctx.config.catalogFile);
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
  process.stdout.write(`(catalog: ${catalog.file}; cache: ${cachePath(ctx)})\n`);
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
    const src = 'debian' in k.source ? k.source.debian : k.source.tree;
    return `source ${src}, ${k.config.base ?? 'tinyconfig'} + ${(k.config.fragments ?? []).join(' + ')}${k.patches?.length ? `, patches: ${k.patches.join(' ')}` : ''}`;
  }
  if (k.kind === 'package') return `Debian package ${k.package}`;
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
