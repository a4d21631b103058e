// Owns a source kernel's .config: the base config plus the catalog's
// fragments merged with the kernel's own merge_config.sh, then checked that
// every fragment option survived olddefconfig.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogKernel, SourceKernel } from './catalog.ts';
import { labPath } from './catalog.ts';
import { parseKernelConfig, type KernelConfig } from './requirements.ts';
import { explainOptions, explanationSentence, explanationDetails, type WantedOption } from './kconfig-explain.ts';
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
  const dropped = droppedOptions(fragments, config);
  if (dropped.length > 0) throw await droppedError(ctx, { k, treeDir: tree.dir, objdir, base, fragments }, dropped);
  await writeFile(stamp, configKey);
}

/** Fragment lines olddefconfig did not keep: `CONFIG_X=v` that ended up otherwise, `# CONFIG_X is not set` that ended up set. */
export function droppedOptions(fragments: NamedText[], config: KernelConfig): WantedOption[] {
  const out: WantedOption[] = [];
  const actual = (option: string) => (config.has(option) ? `=${config.get(option)}` : 'not set');
  for (const f of fragments) {
    for (const m of f.text.matchAll(/^CONFIG_([A-Za-z0-9_]+)=(.*)$/gm))
      if (config.get(m[1]) !== m[2]) out.push({ option: m[1], value: m[2], source: f.name, actual: actual(m[1]) });
    for (const m of f.text.matchAll(/^# CONFIG_([A-Za-z0-9_]+) is not set$/gm))
      if (config.has(m[1])) out.push({ option: m[1], value: 'n', source: f.name, actual: actual(m[1]) });
  }
  return out;
}

/** One error for every dropped line: why, from the tree's own Kconfig, and the lines that would keep it. */
async function droppedError(
  ctx: Context,
  made: { k: CatalogKernel; treeDir: string; objdir: string; base: string; fragments: NamedText[] },
  dropped: WantedOption[],
): Promise<LeaklabError> {
  const { k } = made;
  const explained = await explainOptions(ctx, made.treeDir, made.objdir, made.base, made.fragments, dropped);
  const where = `a fragment of ${k.name} (${labPath(k, 'kconfig')}/, listed under config.fragments in ${k.file})`;
  const count = `${dropped.length} fragment option${dropped.length === 1 ? ' was' : 's were'} dropped by make olddefconfig`;
  if ('unexplained' in explained) {
    return new LeaklabError('kernel-config', `kernel ${k.name}: ${count}`, {
      hint: `an option is dropped when its dependencies are off: add them to ${where}`,
      details: [
        ...dropped.map((d) => `CONFIG_${d.option}=${d.value} (${d.source}) ended up ${d.actual}`),
        `(no Kconfig explanation: ${explained.unexplained})`,
      ].join('\n'),
    });
  }
  const es = explained.explanations;
  const fix = [...new Set(es.flatMap((e) => e.fix))];
  return new LeaklabError('kernel-config', `kernel ${k.name}: ${es.length === 1 ? explanationSentence(es[0]) : `${count}; ${explanationSentence(es[0])}`}`, {
    hint: fix.length > 0 ? `add ${fix.map((l) => JSON.stringify(l)).join(', ')} to ${where}` : `see each option's dependencies above, and set them in ${where}`,
    details: es.map((e) => explanationDetails(e)).join('\n'),
  });
}
