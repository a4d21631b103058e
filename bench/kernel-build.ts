// Benchmark: cold build of the catalog's minimal kernel, then its
// fix-reverted variant reusing the same object directory, then the same
// source as a git tree of its own (a commit of a user's tree, as bisect
// builds it) with the same config: with ccache installed, its objects come
// from the first build. Uses a fresh cache in a temp dir (the source is
// unpacked there too). Goals: < 8 min cold, < 60 s for the variant, the other
// tree in under half the cold build's time.
//   node --import=tsx bench/kernel-build.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, symlinkSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const cache = mkdtempSync(join(tmpdir(), 'leaklab-bench-cache-'));
const { loadCatalog, findKernel } = await import('../src/kernel/catalog.ts');
const { prepareKernel } = await import('../src/kernel/prepare.ts');
const { createContext } = await import('../src/util/context.ts');
const { readConfig } = await import('../src/util/config.ts');
const { hasTool } = await import('../src/util/exec.ts');
const ctx = createContext({ quiet: true, config: readConfig({ ...process.env, LEAKLAB_CACHE: cache }) });
const catalog = await loadCatalog(ctx.config.catalogFile);

async function timed(name: string, from = catalog): Promise<number> {
  const t = Date.now();
  await prepareKernel(ctx, findKernel(from, name), []);
  return (Date.now() - t) / 1000;
}

/** A git repository of Debian's source as unpacked in the bench's cache, and a catalog building its HEAD with v6.1's config. */
async function otherTree(): Promise<typeof catalog> {
  const repo = join(cache, 'bench-tree');
  cpSync(join(cache, 'sources'), repo, { recursive: true, filter: (src) => !src.includes('.leaklab-objdir-') });
  const [top] = execFileSync('ls', [repo], { encoding: 'utf8' }).split('\n');
  const dir = join(repo, top);
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.name=bench', '-c', 'user.email=bench@leaklab.invalid', ...args], { stdio: 'ignore' });
  git('init', '-q');
  git('add', '-f', '-A');
  git('commit', '-q', '-m', 'source');
  const lab = join(cache, 'bench-lab');
  mkdirSync(lab);
  symlinkSync(resolve('lab/kconfig'), join(lab, 'kconfig'));
  const file = join(lab, 'kernels.yaml');
  writeFileSync(
    file,
    `kernels:\n  other-tree:\n    source: { tree: ${dir}, ref: HEAD }\n    config: { base: tinyconfig, fragments: [leaklab-base, ipv6-netfilter] }\n`,
  );
  return loadCatalog(file);
}

try {
  const cold = await timed('v6.1');
  const variant = await timed('v6.1-fix-reverted');
  const cached = await timed('v6.1');
  const other = await timed('other-tree', await otherTree());
  const ccache = (await hasTool('ccache')) ? 'with ccache' : 'ccache not installed';
  console.log(`v6.1 cold (unpack + config + build): ${cold.toFixed(0)} s (goal < 480 s)`);
  console.log(`v6.1-fix-reverted after v6.1 (one-file patch): ${variant.toFixed(0)} s (goal < 60 s)`);
  console.log(`v6.1 again (cached): ${cached.toFixed(2)} s`);
  console.log(`the same source as another tree, same config (${ccache}): ${other.toFixed(0)} s (goal < ${(cold / 2).toFixed(0)} s, half the cold build)`);
} finally {
  rmSync(cache, { recursive: true, force: true });
}
