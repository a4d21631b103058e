// Owns which suite scenarios validate-patch runs on the kernel it validates:
// all of them, except, for a kernel built from a Debian source package,
// those written for another kernel line (every kernel their kernels: list
// builds from source comes from another linux-source package), whose
// watched caches may not exist there (IPv4's dst cache is ip_dst_cache on
// 6.1, rtable on 6.12). With a tree as the source, every one runs.
import type { Scenario } from '../scenario/scenario.ts';
import type { Catalog, CatalogKernel } from '../kernel/catalog.ts';

/** The Debian source package a catalog kernel is built from ("linux-source-6.1"); none for other kinds. */
function sourceOf(k: CatalogKernel | undefined): string | undefined {
  return k?.kind === 'source' && 'debian' in k.source ? k.source.debian : undefined;
}

export function suiteForKernel(catalog: Catalog, base: CatalogKernel, suite: Scenario[]): { run: Scenario[]; skipped: Scenario[] } {
  const line = sourceOf(base);
  const otherLine = (s: Scenario) => {
    const sources = s.kernels.map((name) => sourceOf(catalog.kernels.get(name))).filter((x) => x !== undefined);
    return line !== undefined && sources.length > 0 && !sources.includes(line);
  };
  return { run: suite.filter((s) => !otherLine(s)), skipped: suite.filter(otherLine) };
}
