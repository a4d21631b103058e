// Owns guest image recipes (images/NAME.yaml): loading them, and making the
// Debian root filesystem they describe with mmdebstrap, cached by the
// recipe's content. Both guest backends start from this rootfs.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { parseYamlOrThrow, readYamlFile, NAME_PATTERN } from '../util/yaml-schema.ts';
import { cachedDir } from '../util/cache.ts';
import { run, requireTool } from '../util/exec.ts';
import { sha256, short } from '../util/hash.ts';
import { LeaklabError } from '../util/errors.ts';
import { PACKAGE_ROOT } from '../util/paths.ts';
import { type Task } from '../util/progress.ts';
import type { Context } from '../util/context.ts';
import type { Known } from '../scenario/load.ts';

const RecipeSchema = Type.Object(
  {
    suite: Type.String({ description: 'Debian suite, e.g. bookworm' }),
    packages: Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9+.-]*$' }), { minItems: 1 }),
    prune: Type.Optional(Type.Array(Type.String({ pattern: '^[^/.][^\\s]*$' }), { description: 'paths (relative to /) left out of the guest' })),
  },
  { additionalProperties: false },
);

/** leaklab's init in every guest (QEMU initramfs and container image alike). */
export const GUEST_INIT = join(PACKAGE_ROOT, 'images/guest-init.sh');

export interface Recipe {
  name: string;
  file: string;
  text: string;
  suite: string;
  packages: string[];
  prune: string[];
  key: string;
}

/** The recipes of `imagesDir`: the NAME of every NAME.yaml there, sorted (none when the directory cannot be read). */
export async function recipeNames(imagesDir: string): Promise<string[]> {
  const files = await readdir(imagesDir).catch(() => [] as string[]);
  return files
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .filter((n) => new RegExp(NAME_PATTERN).test(n))
    .sort();
}

/** What the scenario loader checks guest.image against. */
export async function knownRecipes(imagesDir: string): Promise<Known> {
  return { recipes: { dir: imagesDir, names: await recipeNames(imagesDir) } };
}

/** Reads images/NAME.yaml from `imagesDir` (the configuration's: LEAKLAB_IMAGES or images/). */
export async function loadRecipe(imagesDir: string, name: string): Promise<Recipe> {
  // The name becomes a path: never one that leaves imagesDir (the scenario loader says so first, at the line).
  if (!new RegExp(NAME_PATTERN).test(name)) throw new LeaklabError('image', `"${name}" is not an image recipe name`, { hint: await recipesHint(imagesDir) });
  const file = join(imagesDir, `${name}.yaml`);
  const hint = await recipesHint(imagesDir);
  const text = await readYamlFile(file, {
    kind: 'image',
    what: 'image recipe',
    unreadable: () => new LeaklabError('image', `image recipe not found: ${file}`, { hint }),
  });
  const r = parseYamlOrThrow(text, file, RecipeSchema, 'image', 'fix the lines named below (see images/debian-bookworm.yaml for an example)');
  return { name, file, text, suite: r.suite, packages: r.packages, prune: r.prune ?? [], key: short(sha256('recipe-v1', text)) };
}

async function recipesHint(imagesDir: string): Promise<string> {
  const names = await recipeNames(imagesDir);
  return `guest.image names a recipe ${imagesDir}/NAME.yaml (default debian-bookworm); there: ${names.join(', ') || 'none'}`;
}

/** Loads every recipe the scenarios name: a missing or bad one is refused before anything is built or booted. */
export async function checkRecipes(imagesDir: string, scenarios: { guest: { image: string } }[]): Promise<void> {
  for (const image of new Set(scenarios.map((s) => s.guest.image))) await loadRecipe(imagesDir, image);
}

/** The recipe's rootfs as a tar file (made once per recipe content). */
export async function rootfsTar(ctx: Context, recipe: Recipe): Promise<string> {
  const dir = await cachedDir(ctx, 'images', `${recipe.name}-${recipe.key}`, async (tmp) => {
    await requireTool('mmdebstrap', 'mmdebstrap');
    ctx.progress.step('image', `making ${recipe.name} with mmdebstrap (${recipe.packages.length} packages)`);
    const task = ctx.progress.task('image');
    await run(ctx, 'mmdebstrap', ['--variant=extract', '--verbose', `--include=${recipe.packages.join(',')}`, recipe.suite, join(tmp, 'rootfs.tar')], {
      timeoutMs: 20 * 60_000,
      what: `mmdebstrap for ${recipe.name}`,
      kind: 'image',
      hint: `check the package names in ${recipe.file} and that Debian's mirror is reachable (apt-get update)`,
      logFile: join(tmp, 'mmdebstrap.log'),
      onLine: mmdebstrapProgress(task),
    }).finally(() => task.end());
    await writeFile(join(tmp, 'recipe.yaml'), recipe.text);
  });
  return join(dir, 'rootfs.tar');
}

const UNITS: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 };
const bytes = (n: string, unit: string) => Number(n.replace(/,/g, '')) * UNITS[unit];

/**
 * Reads mmdebstrap's --verbose output: its "I: stage..." lines name the
 * stage, and apt's "Need to get N MB of archives" then one "Get:... [size]"
 * line per package make the download a bar.
 */
export function mmdebstrapProgress(task: Task): (line: string) => void {
  let stage = 'starting';
  let total: number | undefined;
  let fetched = 0;
  return (line) => {
    const m = /^I: (.*?)(\.\.\.)?$/.exec(line);
    // "Need to get 8453 kB of archives", or "3027 kB/8453 kB" when some are cached: the first is what is fetched.
    const need = /^Need to get ([\d.,]+) (B|kB|MB|GB)(\/[\d.,]+ (B|kB|MB|GB))? of archives/.exec(line);
    const get = total !== undefined ? /^Get:\d+ .* \[([\d.,]+) (B|kB|MB|GB)\]$/.exec(line) : null;
    if (m) stage = m[1];
    else if (need) total = bytes(need[1], need[2]);
    else if (get) fetched += bytes(get[1], get[2]);
    else return;
    if (total !== undefined && /download/.test(stage)) {
      task.update(fetched, `making image: ${stage}: ${(fetched / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`, total);
    } else {
      task.update(0, `making image: ${stage}`, 0);
    }
  };
}
