// Owns `leaklab kernels`: the catalog, one line per kernel, with what it is
// and whether it is already in the cache.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalog, type CatalogKernel } from '../kernel/catalog.ts';
import { cachePath } from '../util/cache.ts';
import type { Context } from '../util/context.ts';

export async function kernelsCommand(ctx: Context, opts: { json?: boolean }): Promise<number> {
  const catalog = await loadCatalog(ctx.config.catalogFile);
  const cached = await cachedNames(ctx);
  const rows = [...catalog.kernels.values()].map((k) => ({
    name: k.name,
    kind: k.kind,
    from: origin(k),
    cached: k.kind === 'image' || cached.has(k.name),
    description: k.description ?? '',
  }));
  if (opts.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  const w = Math.max(...rows.map((r) => r.name.length)) + 2;
  for (const r of rows) {
    process.stdout.write(
      `${r.name.padEnd(w)}${(r.kind === 'image' ? 'prebuilt' : r.cached ? 'cached' : 'not built').padEnd(11)}${r.from}\n${' '.repeat(w)}${r.description}\n`,
    );
  }
  process.stdout.write(`(catalog: ${catalog.file}; cache: ${cachePath(ctx)})\n`);
  return 0;
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
