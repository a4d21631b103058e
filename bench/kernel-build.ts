// Benchmark: cold build of the catalog's minimal kernel, then its
// fix-reverted variant reusing the same object directory. Uses a fresh cache
// in a temp dir (the source is unpacked there too). Goals: < 8 min cold,
// < 60 s for the variant. Run: node --import=tsx bench/kernel-build.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cache = mkdtempSync(join(tmpdir(), 'leaklab-bench-cache-'));
const { loadCatalog, findKernel } = await import('../src/kernel/catalog.ts');
const { prepareKernel } = await import('../src/kernel/prepare.ts');
const { createContext } = await import('../src/util/context.ts');
const { readConfig } = await import('../src/util/config.ts');
const ctx = createContext({ quiet: true, config: readConfig({ ...process.env, LEAKLAB_CACHE: cache }) });
const catalog = await loadCatalog(ctx.config.catalogFile);

async function timed(name: string): Promise<number> {
  const t = Date.now();
  await prepareKernel(ctx, findKernel(catalog, name), []);
  return (Date.now() - t) / 1000;
}

try {
  const cold = await timed('v6.1');
  const variant = await timed('v6.1-fix-reverted');
  const cached = await timed('v6.1');
  console.log(`v6.1 cold (unpack + config + build): ${cold.toFixed(0)} s (goal < 480 s)`);
  console.log(`v6.1-fix-reverted after v6.1 (one-file patch): ${variant.toFixed(0)} s (goal < 60 s)`);
  console.log(`v6.1 again (cached): ${cached.toFixed(2)} s`);
} finally {
  rmSync(cache, { recursive: true, force: true });
}
