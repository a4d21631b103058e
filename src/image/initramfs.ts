// Owns the QEMU guest's initramfs: the recipe's rootfs, leaklab's init, the
// kernel modules the scenario needs and the programs compiled for the guest
// (leaklab's tools, a scenario's reproducer), as concatenated cpio archives
// (the kernel unpacks them in order). The rootfs archive is made once per
// recipe; only the small modules, programs and init archives differ.
import { readFile, writeFile, mkdir, copyFile, readdir, stat } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { join, dirname, basename } from 'node:path';
import { rootfsTar, GUEST_INIT, type Recipe } from './recipe.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import { GUEST_PROGRAM_DIR, type GuestProgram } from './guest-programs.ts';
import { cachedDir } from '../util/cache.ts';
import { run, requireTool } from '../util/exec.ts';
import { sha256, short } from '../util/hash.ts';
import { LeaklabError } from '../util/errors.ts';
import type { Context } from '../util/context.ts';

/** Packs a directory as a newc cpio archive (what the kernel unpacks). */
async function cpio(ctx: Context, dir: string, out: string): Promise<void> {
  await run(ctx, 'sh', ['-c', 'find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 > "$1"', 'sh', out], {
    cwd: dir,
    timeoutMs: 10 * 60_000,
    what: 'packing cpio archive',
    kind: 'image',
  });
}

async function baseArchive(ctx: Context, recipe: Recipe): Promise<string> {
  const tar = await rootfsTar(ctx, recipe);
  const dir = await cachedDir(ctx, 'initramfs-base', `${recipe.name}-${recipe.key}`, async (tmp) => {
    await requireTool('cpio', 'cpio');
    ctx.progress.step('image', `packing ${recipe.name} as an initramfs`);
    const root = join(tmp, 'root');
    await mkdir(root);
    const excludes = recipe.prune.flatMap((p) => [`--exclude=./${p}/*`]);
    await run(ctx, 'tar', ['-xf', tar, '-C', root, '--exclude=./dev/*', ...excludes], { timeoutMs: 10 * 60_000, what: 'unpacking the rootfs', kind: 'image' });
    await cpio(ctx, root, join(tmp, 'base.cpio'));
    await run(ctx, 'rm', ['-rf', root], { timeoutMs: 5 * 60_000, what: 'removing the unpacked rootfs' });
  });
  return join(dir, 'base.cpio');
}

/** Parses modules.dep into name -> [path, ...dependency paths]. */
export function parseModulesDep(text: string): Map<string, { path: string; deps: string[] }> {
  const map = new Map<string, { path: string; deps: string[] }>();
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const name = basename(m[1])
      .replace(/\.ko(\.(xz|zst|gz))?$/, '')
      .replace(/-/g, '_');
    map.set(name, { path: m[1], deps: m[2].split(/\s+/).filter(Boolean) });
  }
  return map;
}

/** Paths (relative to the modules dir) of `names` and everything they depend on. */
export function moduleClosure(dep: Map<string, { path: string; deps: string[] }>, names: string[]): string[] {
  const byPath = new Map([...dep.values()].map((v) => [v.path, v]));
  const out = new Set<string>();
  const visit = (path: string) => {
    if (out.has(path)) return;
    out.add(path);
    for (const d of byPath.get(path)?.deps ?? []) visit(d);
  };
  for (const n of names) {
    const entry = dep.get(n.replace(/-/g, '_'));
    if (!entry)
      throw new LeaklabError('kernel-config', `module ${n} is not in ${'modules.dep'} of this kernel`, {
        hint: 'the kernel config says it is a module but it was not shipped; check the modules directory',
      });
    visit(entry.path);
  }
  return [...out].sort();
}

async function modulesArchive(ctx: Context, kernel: KernelArtifact, modules: string[], tmp: string): Promise<string | undefined> {
  if (!kernel.modulesDir || modules.length === 0) return undefined;
  const release = basename(kernel.modulesDir);
  const dep = parseModulesDep(await readFile(join(kernel.modulesDir, 'modules.dep'), 'utf8'));
  const paths = moduleClosure(dep, modules);
  const root = join(tmp, 'modules-root');
  const target = join(root, 'lib/modules', release);
  for (const p of paths) {
    await mkdir(join(target, dirname(p)), { recursive: true });
    await copyFile(join(kernel.modulesDir, p), join(target, p));
  }
  for (const f of await readdir(kernel.modulesDir)) {
    if (/^modules\.(order|builtin|builtin\.modinfo)$/.test(f)) await copyFile(join(kernel.modulesDir, f), join(target, f));
  }
  await run(ctx, 'depmod', ['-b', root, release], { timeoutMs: 60_000, what: 'depmod for the guest modules', kind: 'image' });
  await mkdir(join(root, 'leaklab'), { recursive: true });
  await writeFile(join(root, 'leaklab/modules.load'), modules.join('\n') + '\n');
  const out = join(tmp, 'modules.cpio');
  await cpio(ctx, root, out);
  await run(ctx, 'rm', ['-rf', root], { timeoutMs: 60_000, what: 'removing module staging dir' });
  return out;
}

async function initArchive(ctx: Context, tmp: string): Promise<string> {
  const root = join(tmp, 'init-root');
  await mkdir(root);
  await copyFile(GUEST_INIT, join(root, 'init'));
  await run(ctx, 'chmod', ['0755', join(root, 'init')], { timeoutMs: 10_000, what: 'chmod init' });
  const out = join(tmp, 'init.cpio');
  await cpio(ctx, root, out);
  return out;
}

async function programsArchive(ctx: Context, programs: GuestProgram[], tmp: string): Promise<string | undefined> {
  if (programs.length === 0) return undefined;
  const root = join(tmp, 'programs-root');
  const bin = join(root, GUEST_PROGRAM_DIR);
  await mkdir(bin, { recursive: true });
  for (const p of programs) await copyFile(p.binary, join(bin, p.name));
  await run(ctx, 'chmod', ['-R', 'a+rx', bin], { timeoutMs: 10_000, what: 'chmod the guest programs' });
  const out = join(tmp, 'programs.cpio');
  await cpio(ctx, root, out);
  return out;
}

/** The initrd for this recipe, kernel, module list and programs (cached). */
export async function initramfsFor(ctx: Context, recipe: Recipe, kernel: KernelArtifact, modules: string[], programs: GuestProgram[]): Promise<string> {
  const base = await baseArchive(ctx, recipe);
  const initText = await readFile(GUEST_INIT, 'utf8');
  const baseInfo = await stat(base);
  const key = short(
    sha256(
      'initrd-v2',
      programs.map((p) => `${p.name}=${p.key}`).join(','),
      recipe.key,
      kernel.modulesDir ?? '',
      kernel.provenance.debSha256 ?? kernel.provenance.bzImageSha256 ?? '',
      modules.join(','),
      initText,
      String(baseInfo.size),
    ),
  );
  const dir = await cachedDir(ctx, 'initramfs', key, async (tmp) => {
    const parts = [base, await modulesArchive(ctx, kernel, modules, tmp), await programsArchive(ctx, programs, tmp), await initArchive(ctx, tmp)].filter(
      (p): p is string => !!p,
    );
    const out = createWriteStream(join(tmp, 'initrd.cpio'));
    for (const p of parts) await pipeline(createReadStream(p), out, { end: false });
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  });
  return join(dir, 'initrd.cpio');
}
