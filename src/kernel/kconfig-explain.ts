// Owns saying why config options a kernel needs are not set as asked, from
// the source tree's own Kconfig (kconfig-why.py, with Debian's
// python3-kconfiglib): the dependency, the options blocking it and who set
// them, and the lines that would fix it (checked in the same Kconfig model).
// Without kconfiglib, or on a tree it cannot read, there is no explanation
// and the caller says only what was dropped.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runAllowFail } from '../util/exec.ts';
import { exists } from '../util/cache.ts';
import { PACKAGE_ROOT } from '../util/paths.ts';
import type { NamedText } from './source-types.ts';
import type { Context } from '../util/context.ts';

/** Debian's python3-kconfiglib lives in the system Python's dist-packages, not in another python3 on PATH. */
const SYSTEM_PYTHON = '/usr/bin/python3';
// From the package's directory: this module may run from a bundle (bin/leaklab.js).
const SCRIPT = join(PACKAGE_ROOT, 'src', 'kernel', 'kconfig-why.py');

export interface WantedOption {
  option: string;
  value: string;
  /** Who asks for it: a fragment's name, "the scenario (for ...)". */
  source: string;
  /** What the config has instead: "=m", "not set". */
  actual?: string;
}

export interface OptionExplanation {
  option: string;
  wanted: string;
  source: string;
  /** "SLUB_DEBUG is not set", "SLUB_DEBUG=m", "not in this kernel". */
  actual: string;
  /** "SYSFS && !SLUB_TINY" (each term once). */
  dependsOn: string;
  /** One line per blocker, nested by two spaces per level: "SLUB_TINY=y (set by tinyconfig)". */
  why: string[];
  /** Lines for a fragment that would make it come out as wanted. */
  fix: string[];
  /** The fix lines, set in the tree's Kconfig model, make the option come out as wanted. */
  fixVerified?: boolean;
}

/** The config files a base target merges, to name "set by tinyconfig". */
async function baseSources(treeDir: string, base: string): Promise<NamedText[]> {
  const files =
    base === 'tinyconfig'
      ? ['kernel/configs/tiny-base.config', 'kernel/configs/tiny.config', 'arch/x86/configs/tiny.config']
      : ['arch/x86/configs/x86_64_defconfig'];
  const out: NamedText[] = [];
  for (const f of files) {
    const path = join(treeDir, f);
    if (await exists(path)) out.push({ name: base, path, text: await readFile(path, 'utf8') });
  }
  return out;
}

/** The kernel's version as its top Makefile says it (Kconfig's $(KERNELVERSION)). */
async function kernelVersion(treeDir: string): Promise<string> {
  const text = await readFile(join(treeDir, 'Makefile'), 'utf8');
  const field = (name: string) => new RegExp(`^${name}\\s*=\\s*(\\S*)`, 'm').exec(text)?.[1] ?? '';
  return [field('VERSION'), field('PATCHLEVEL'), field('SUBLEVEL')].filter(Boolean).join('.') + field('EXTRAVERSION');
}

/** The explanations, or why there are none (no kconfiglib, a tree it cannot read): never fatal, the caller's error stands without them. */
export type Explained = { explanations: OptionExplanation[] } | { unexplained: string };

/** Why each wanted option is not as asked in objdir/.config. */
export async function explainOptions(
  ctx: Context,
  treeDir: string,
  objdir: string,
  base: string,
  fragments: NamedText[],
  wanted: WantedOption[],
): Promise<Explained> {
  if (!(await exists(SYSTEM_PYTHON))) return { unexplained: `${SYSTEM_PYTHON} is missing (apt-get install python3-kconfiglib)` };
  const request = {
    config: join(objdir, '.config'),
    wanted,
    sources: [...fragments, ...(await baseSources(treeDir, base))].map((s) => ({ name: s.name, text: s.text })),
  };
  const r = await runAllowFail(ctx, SYSTEM_PYTHON, [SCRIPT, '-'], {
    cwd: objdir,
    // What the kernel's Makefile hands Kconfig: the tree, the architecture, the toolchain its macros probe.
    env: { srctree: treeDir, ARCH: 'x86', SRCARCH: 'x86', KERNELVERSION: await kernelVersion(treeDir), CC: 'gcc', LD: 'ld', HOSTCC: 'gcc', HOSTCXX: 'g++' },
    input: JSON.stringify(request),
    timeoutMs: 3 * 60_000,
    what: 'explaining the config with kconfiglib',
  });
  if (r.exitCode !== 0) {
    const last = r.stderr.trim().split('\n').at(-1) ?? '';
    const hint = /No module named 'kconfiglib'/.test(r.stderr) ? ' (apt-get install python3-kconfiglib)' : '';
    return { unexplained: `kconfig-why.py exit ${r.exitCode}: ${last}${hint}` };
  }
  return { explanations: JSON.parse(r.stdout) as OptionExplanation[] };
}

/** "CONFIG_SLUB_DEBUG=y (leaklab-base) was dropped: it depends on SYSFS && !SLUB_TINY, and SLUB_TINY=y (set by tinyconfig)". */
export function explanationSentence(e: OptionExplanation, verb = 'was dropped'): string {
  const asked = `CONFIG_${e.option}=${e.wanted}${e.source ? ` (${e.source})` : ''}`;
  if (e.actual === 'not in this kernel') return `${asked} ${verb}: this kernel's Kconfig has no ${e.option}`;
  const top = e.why.filter((w) => !w.startsWith(' '));
  const depends = e.dependsOn ? `it depends on ${e.dependsOn}` : 'it cannot be set';
  return `${asked} ${verb}: ${depends}${top.length > 0 ? `, and ${top.join(', ')}` : ''}`;
}

/** The whole explanation of one option, for an error's details. */
export function explanationDetails(e: OptionExplanation, verb = 'was dropped'): string {
  const lines = [explanationSentence(e, verb), ...e.why.filter((w) => w.startsWith(' ')).map((w) => `  ${w}`)];
  if (e.fix.length > 0) lines.push(`  fix${e.fixVerified ? ' (checked with the kernel’s Kconfig)' : ''}: ${e.fix.map((l) => JSON.stringify(l)).join(', ')}`);
  return lines.join('\n');
}
