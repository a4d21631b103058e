// Owns the kernel catalog (lab/kernels.yaml): its format, loading it with
// positioned errors, and looking kernels up by name.
import { dirname, resolve, join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { parseYamlOrThrow, readYamlFile, NAME_PATTERN, type ExtraCheck } from '../util/yaml-schema.ts';
import { LeaklabError } from '../util/errors.ts';

const SourceEntry = Type.Object(
  {
    description: Type.Optional(Type.String()),
    source: Type.Union([
      Type.Object(
        { debian: Type.String({ pattern: '^linux-source-[0-9.]+$', description: 'a Debian linux-source-X package' }) },
        { additionalProperties: false },
      ),
      Type.Object(
        {
          tree: Type.String({ description: 'path to a kernel git tree (relative to this file)' }),
          ref: Type.Optional(
            Type.String({
              minLength: 1,
              description:
                'a commit, tag or branch of the tree: built in a private clone, the tree is never changed; without it the working tree is built as it is',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ]),
    config: Type.Object(
      {
        base: Type.Optional(Type.Union([Type.Literal('tinyconfig'), Type.Literal('defconfig')], { default: 'tinyconfig' })),
        fragments: Type.Optional(Type.Array(Type.String(), { description: 'names of kconfig/NAME.config files beside the catalog' })),
      },
      { additionalProperties: false },
    ),
    patches: Type.Optional(Type.Array(Type.String(), { description: 'files in patches/ beside the catalog, applied in order with patch -p1' })),
  },
  { additionalProperties: false },
);

const PackageEntry = Type.Object(
  {
    description: Type.Optional(Type.String()),
    package: Type.String({ pattern: '^linux-image-', description: 'a Debian linux-image-* package' }),
  },
  { additionalProperties: false },
);

const ImageEntry = Type.Object(
  {
    description: Type.Optional(Type.String()),
    bzImage: Type.String(),
    modules: Type.Optional(Type.String({ description: 'a lib/modules/<release> directory' })),
    config: Type.Optional(Type.String({ description: "the kernel's .config" })),
  },
  { additionalProperties: false },
);

const CatalogSchema = Type.Object(
  {
    kernels: Type.Record(
      // A kernel's name names directories (run directories, cache records).
      Type.String({ pattern: NAME_PATTERN }),
      Type.Union([SourceEntry, PackageEntry, ImageEntry], {
        description:
          'an entry is exactly one kind: source (built from source, with config and patches), package (a Debian package) or bzImage (a kernel you built, with modules and config)',
      }),
      { additionalProperties: false },
    ),
    series: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9._-]+$' }), Type.Array(Type.String(), { minItems: 2 }), {
        description: 'named lists of catalog kernels, oldest first (for bisect versions --kernels NAME)',
      }),
    ),
  },
  { additionalProperties: false },
);

export type SourceKernel = Static<typeof SourceEntry> & { kind: 'source' };
export type PackageKernel = Static<typeof PackageEntry> & { kind: 'package' };
export type ImageKernel = Static<typeof ImageEntry> & { kind: 'image' };
/** An entry with its name and where it was read: labDir (its file's directory) holds kconfig/ and patches/. */
export type CatalogKernel = (SourceKernel | PackageKernel | ImageKernel) & { name: string; file: string; labDir: string };

export interface Catalog {
  file: string;
  kernels: Map<string, CatalogKernel>;
  /** Named kernel lists, oldest first. */
  series: Map<string, string[]>;
}

/** Reads the catalog (the configuration's catalogFile: LEAKLAB_CATALOG or lab/kernels.yaml). */
export async function loadCatalog(file: string): Promise<Catalog> {
  const text = await readYamlFile(file, {
    kind: 'catalog',
    what: 'kernel catalog',
    unreadable: () =>
      new LeaklabError('catalog', `kernel catalog not found: ${file}`, {
        hint: 'run leaklab from the project directory, or set LEAKLAB_CATALOG to your lab/kernels.yaml',
      }),
  });
  const data = parseYamlOrThrow(
    text,
    file,
    CatalogSchema,
    'catalog',
    'fix the lines named below; the catalog format is described in README.md, "The kernel catalog"',
    seriesProblems,
  );
  const labDir = dirname(resolve(file));
  const kernels = new Map<string, CatalogKernel>();
  for (const [name, entry] of Object.entries(data.kernels)) {
    const kind = 'source' in entry ? 'source' : 'package' in entry ? 'package' : 'image';
    kernels.set(name, { ...entry, kind, name, file: resolve(file), labDir } as CatalogKernel);
  }
  return { file, kernels, series: new Map(Object.entries(data.series ?? {})) };
}

/** A series names kernels of this catalog, each once (bisect versions runs them in order). */
const seriesProblems: ExtraCheck<Static<typeof CatalogSchema>> = (c, at) =>
  Object.entries(c.series ?? {}).flatMap(([name, list]) =>
    list.flatMap((k, i) => {
      const pointer = `/series/${name}/${i}`;
      if (!Object.hasOwn(c.kernels, k))
        return [at(pointer, `names an unknown kernel "${k}"; use kernels defined under kernels: (${Object.keys(c.kernels).join(', ')})`)];
      if (list.indexOf(k) !== i) return [at(pointer, `lists "${k}" twice: a bisect judges each kernel once`)];
      return [];
    }),
  );

export function findKernel(catalog: Catalog, name: string): CatalogKernel {
  const k = catalog.kernels.get(name);
  if (!k) {
    throw new LeaklabError('catalog', `unknown kernel "${name}"`, {
      hint: `use one of: ${[...catalog.kernels.keys()].join(', ')} (from ${catalog.file}), or add an entry there`,
    });
  }
  return k;
}

/** A kernel's entry as next steps name it: "kernel v6.1 in /path/lab/kernels.yaml" (the catalog actually read). */
export function entryOf(k: CatalogKernel): string {
  return `kernel ${k.name} in ${k.file}`;
}

/** Resolves a path written in the catalog (relative to lab/). */
export function labPath(k: CatalogKernel, ...parts: string[]): string {
  return resolve(k.labDir, join(...parts));
}

/** The catalog kernels leaklab builds from source (those a patch or a commit can change). */
export function sourceKernels(catalog: Catalog): (SourceKernel & CatalogKernel)[] {
  return [...catalog.kernels.values()].filter((k): k is SourceKernel & CatalogKernel => k.kind === 'source');
}

/**
 * A kernel built from one commit of a user's tree, with the config (base and
 * fragments, not the patches) of a catalog kernel built from source: by
 * default the catalog's first one.
 */
export function treeKernel(catalog: Catalog, opts: { tree: string; commit: string; name: string; configFrom?: string }): SourceKernel & CatalogKernel {
  const donors = sourceKernels(catalog);
  const donor = opts.configFrom === undefined ? donors[0] : donors.find((k) => k.name === opts.configFrom);
  if (!donor) {
    throw new LeaklabError(
      'catalog',
      opts.configFrom === undefined
        ? `${catalog.file} has no kernel built from source to take a config from`
        : `--config-from ${opts.configFrom}: not a catalog kernel built from source`,
      {
        hint: `use one of: ${donors.map((k) => k.name).join(', ') || '(none: add a source: entry with a config: to the catalog)'}`,
      },
    );
  }
  return {
    kind: 'source',
    name: opts.name,
    file: donor.file,
    labDir: donor.labDir,
    source: { tree: resolve(opts.tree), ref: opts.commit },
    config: donor.config,
    description: `${opts.tree} at ${opts.commit} with the config of ${donor.name}`,
  };
}
