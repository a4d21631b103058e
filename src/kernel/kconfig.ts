// Owns a source kernel's .config: the base config plus the catalog's
// fragments merged with the kernel's own merge_config.sh, then checked that
// every fragment option survived olddefconfig.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogKernel, SourceKernel } from './catalog.ts';
import { labPath } from './catalog.ts';
import { parseKernelConfig } from './requirements.ts';
import { run } from '../util/exec.ts';
import { LeaklabError } from '../util/errors.ts';
import type { SourceTree, NamedText } from './source-types.ts';
import type { Context } from '../util/context.ts';

export async function readFragments(k: SourceKernel & CatalogKernel): Promise<NamedText[]> {
  return Promise.all(
    (k.config.fragments ?? []).map(async (f) => {
      const path = labPath(k, 'kconfig', f.endsWith('.config') ? f : `${f}.config`);
      const text = await readFile(path, 'utf8').catch(() => {
        throw new LeaklabError('catalog', `kernel ${k.name}: config fragment not found: ${path}`, {
          hint: `fragments are files in ${labPath(k, 'kconfig')}/ (beside ${k.file}), named without .config`,
        });
      });
      return { name: f, path, text };
    }),
  );
}

/** Makes objdir/.config unless it was already made from the same inputs. */
export async function makeConfig(
  ctx: Context,
  k: CatalogKernel,
  tree: SourceTree,
  objdir: string,
  base: string,
  fragments: NamedText[],
  configKey: string,
): Promise<void> {
  const stamp = join(objdir, '.leaklab-config-key');
  if ((await readFile(stamp, 'utf8').catch(() => '')) === configKey) return;
  ctx.progress.step(k.name, `making config: ${base} + ${fragments.map((f) => f.name).join(' + ') || 'no fragments'}`);
  await mkdir(objdir, { recursive: true });
  const log = join(objdir, 'config.log');
  await run(ctx, 'make', ['-C', tree.dir, `O=${objdir}`, base], { timeoutMs: 10 * 60_000, what: `make ${base}`, kind: 'kernel-build', logFile: log });
  if (fragments.length > 0) {
    await run(ctx, join(tree.dir, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', objdir, join(objdir, '.config'), ...fragments.map((f) => f.path)], {
      cwd: tree.dir,
      timeoutMs: 10 * 60_000,
      what: 'merge_config.sh',
      kind: 'kernel-build',
      logFile: log,
    });
  }
  await run(ctx, 'make', ['-C', tree.dir, `O=${objdir}`, 'olddefconfig'], {
    timeoutMs: 10 * 60_000,
    what: 'make olddefconfig',
    kind: 'kernel-build',
    logFile: log,
  });
  const config = parseKernelConfig(await readFile(join(objdir, '.config'), 'utf8'));
  const dropped: string[] = [];
  for (const f of fragments) {
    for (const m of f.text.matchAll(/^CONFIG_([A-Za-z0-9_]+)=(.*)$/gm)) {
      if (config.get(m[1]) !== m[2]) dropped.push(`CONFIG_${m[1]}=${m[2]} (${f.name}) ended up ${config.has(m[1]) ? '=' + config.get(m[1]) : 'not set'}`);
    }
  }
  if (dropped.length > 0) {
    throw new LeaklabError(
      'kernel-config',
      `kernel ${k.name}: ${dropped.length} fragment option${dropped.length === 1 ? ' was' : 's were'} dropped by make olddefconfig`,
      {
        hint: 'an option is dropped when its dependencies are off: add them to the fragment (see `make menuconfig` help for each option)',
        details: dropped.join('\n'),
      },
    );
  }
  await writeFile(stamp, configKey);
}
