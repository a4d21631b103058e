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
        {
          debian: Type.String({ pattern: '^linux-source-[0-9.]+$', description: 'a Debian linux-source-X package' }),
          version: Type.Optional(
            Type.String({
              pattern: '^[0-9][A-Za-z0-9.+~:-]*$',
              description: 'one version of it from the archive (fetched into the cache, never installed); without it the installed one',
            }),
          ),
        },
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
    version: Type.Optional(Type.String({ pattern: '^[0-9][A-Za-z0-9.+~:-]*$', description: 'this exact version of it (default: the newest the archive has)' })),
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

const RpmEntry = Type.Object(
  {
    description: Type.Optional(Type.String()),
    rpm: Type.String({
      pattern: '\\.rpm$',
      description: 'a kernel RPM file (openSUSE kernel-default, Fedora kernel-core), relative to this file; vmlinuz, config and modules are taken from it',
    }),
  },
  { additionalProperties: false },
);

const CatalogSchema = Type.Object(
  {
    kernels: Type.Record(
      // A kernel's name names directories (run directories, cache records).
      Type.String({ pattern: NAME_PATTERN }),
      Type.Union([SourceEntry, PackageEntry, ImageEntry, RpmEntry], {
        description:
          'an entry is exactly one kind: source (built from source, with config and patches), package (a Debian package), bzImage (a kernel you built, with modules and config) or rpm (a kernel RPM)',
      }),
      { additionalProperties: false },
    ),
    series: Type.Optional(
      Type.Record(
        Type.String({ pattern: NAME_PATTERN }),
        Type.Union([
          Type.Array(Type.String(), { minItems: 2, description: 'catalog kernels, oldest first' }),
          Type.Object(
            {
              debian: Type.String({
                pattern: '^linux-image-[A-Za-z0-9.+*?-]+$',
                description:
                  "every Debian linux-image package whose name matches (* and ?), each version the archive has, oldest first: e.g. 'linux-image-6.1.0-*-cloud-amd64'",
              }),
              description: Type.Optional(Type.String()),
            },
            { additionalProperties: false },
          ),
        ]),
        { description: 'named groups of kernels, oldest first, for -k NAME (run, matrix, bisect versions)' },
      ),
    ),
  },
  { additionalProperties: false },
);

export type SourceKernel = Static<typeof SourceEntry> & { kind: 'source' };
export type PackageKernel = Static<typeof PackageEntry> & { kind: 'package' };
export type ImageKernel = Static<typeof ImageEntry> & { kind: 'image' };
export type RpmKernel = Static<typeof RpmEntry> & { kind: 'rpm' };
/** An entry with its name and where it was read: labDir (its file's directory) holds kconfig/ and patches/. */
export type CatalogKernel = (SourceKernel | PackageKernel | ImageKernel | RpmKernel) & { name: string; file: string; labDir: string };

/** A series: catalog kernels listed by name, or every Debian package matching a pattern (asked of the archive when used). */
export type SeriesSpec = { kernels: string[] } | { debian: string };

export interface Catalog {
  file: string;
  kernels: Map<string, CatalogKernel>;
  /** Named groups of kernels, oldest first. */
  series: Map<string, SeriesSpec>;
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
    const kind = 'source' in entry ? 'source' : 'package' in entry ? 'package' : 'rpm' in entry ? 'rpm' : 'image';
    kernels.set(name, { ...entry, kind, name, file: resolve(file), labDir } as CatalogKernel);
  }
  const series = new Map<string, SeriesSpec>(
    Object.entries(data.series ?? {}).map(([name, s]) => [name, Array.isArray(s) ? { kernels: s } : { debian: s.debian }]),
  );
  return { file, kernels, series };
}

/** A series names kernels of this catalog, each once (bisect versions runs them in order). */
const seriesProblems: ExtraCheck<Static<typeof CatalogSchema>> = (c, at) =>
  Object.entries(c.series ?? {}).flatMap(([name, list]) => {
    if (Object.hasOwn(c.kernels, name)) return [at(`/series/${name}`, `has the name of a kernel: -k ${name} must mean one of them`)];
    if (!Array.isArray(list)) return [];
    return list.flatMap((k, i) => {
      const pointer = `/series/${name}/${i}`;
      if (!Object.hasOwn(c.kernels, k))
        return [at(pointer, `names an unknown kernel "${k}"; use kernels defined under kernels: (${Object.keys(c.kernels).join(', ')})`)];
      if (list.indexOf(k) !== i) return [at(pointer, `lists "${k}" twice: a bisect judges each kernel once`)];
      return [];
    });
  });

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
