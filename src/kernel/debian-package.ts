// Owns kernels that come as Debian packages (linux-image-*): resolving a
// metapackage to the real image package, fetching it with apt, unpacking
// vmlinuz, config and modules into the cache, and running depmod there.
import { readdir, rename, mkdir, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { entryOf, type PackageKernel, type CatalogKernel } from './catalog.ts';
import type { KernelArtifact } from './artifact.ts';
import { cachedDir, exists } from '../util/cache.ts';
import { run, runAllowFail, requireTool } from '../util/exec.ts';
import { sha256File } from '../util/hash.ts';
import { LeaklabError } from '../util/errors.ts';
import { archiveVersions } from './debian-archive.ts';
import type { Context } from '../util/context.ts';

interface PackageInfo {
  name: string;
  version: string;
  depends: string[];
}

/** One package as the archive has it: the newest version, or `version` exactly (refused, with the versions there are, when it has not). */
async function showPackage(ctx: Context, k: CatalogKernel, name: string, version?: string): Promise<PackageInfo> {
  const spec = version === undefined ? name : `${name}=${version}`;
  const r = await runAllowFail(ctx, 'apt-cache', ['show', '--no-all-versions', spec], { timeoutMs: 60_000, what: `apt-cache show ${spec}` });
  if (r.exitCode !== 0 || !/^Version:/m.test(r.stdout)) {
    const versions = version === undefined ? [] : (await archiveVersions(ctx, [name])).map((p) => p.version);
    if (versions.length > 0) {
      throw new LeaklabError('catalog', `Debian package ${name} has no version ${version} in the archive`, {
        hint: `use one it has: ${versions.join(', ')} (version: of ${entryOf(k)})`,
      });
    }
    throw new LeaklabError('catalog', `Debian package ${name} is not known to apt`, {
      hint: `check the package of ${entryOf(k)} (apt-cache search linux-image), and run apt-get update if the package lists are empty`,
    });
  }
  const field = (f: string) => new RegExp(`^${f}: (.*)$`, 'm').exec(r.stdout)?.[1] ?? '';
  return {
    name,
    version: field('Version'),
    depends: field('Depends')
      .split(',')
      .map((d) => d.trim().split(/[\s|]/)[0]),
  };
}

/** Follows a metapackage (linux-image-cloud-amd64) to the image package it pulls in. */
async function resolveImagePackage(ctx: Context, k: CatalogKernel, name: string, version?: string): Promise<PackageInfo> {
  let info = await showPackage(ctx, k, name, version);
  for (let hops = 0; hops < 3; hops++) {
    const next = info.depends.find((d) => /^linux-image-\d/.test(d));
    if (!next) return info;
    info = await showPackage(ctx, k, next);
  }
  return info;
}

/** The percentage in one of apt's status lines ("dlstatus:N:PERCENT:text", with APT::Status-Fd). */
export function aptDownloadPercent(line: string): number | undefined {
  const m = /^dlstatus:\d+:([\d.]+):/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/** apt-get download, its percentage shown as a task. */
export async function aptDownload(ctx: Context, scope: string, name: string, version: string, dir: string): Promise<void> {
  const task = ctx.progress.task(scope, 100);
  await run(ctx, 'apt-get', ['-o', 'APT::Status-Fd=1', 'download', `${name}=${version}`], {
    // apt formats the percentage in the locale's way (0,04 in de_DE): ask for C.
    cwd: dir,
    env: { LC_ALL: 'C.UTF-8' },
    timeoutMs: 10 * 60_000,
    what: `apt-get download ${name}`,
    kind: 'catalog',
    hint: 'check network access to the Debian mirror and run apt-get update',
    onLine: (line) => {
      const percent = aptDownloadPercent(line);
      if (percent !== undefined) task.update(percent, `downloading ${name}`);
    },
  }).finally(() => task.end());
}

/** Where a fetched package's kernel is cached: by package and exact version. */
export function debianPackageKey(name: string, version: string): string {
  return `deb-${name}_${version}`.replace(/[^A-Za-z0-9._+-]/g, '_');
}

export async function prepareDebianPackage(ctx: Context, k: PackageKernel & CatalogKernel): Promise<KernelArtifact> {
  await requireTool('apt-get', 'apt');
  await requireTool('dpkg-deb', 'dpkg');
  await requireTool('depmod', 'kmod');
  const pkg = await resolveImagePackage(ctx, k, k.package, k.version);
  const key = debianPackageKey(pkg.name, pkg.version);
  const dir = await cachedDir(ctx, 'kernels', key, async (tmp) => {
    ctx.progress.step(k.name, `fetching ${pkg.name} ${pkg.version} with apt`);
    const dl = join(tmp, 'download');
    await mkdir(dl);
    await aptDownload(ctx, k.name, pkg.name, pkg.version, dl);
    const deb = join(
      dl,
      (await readdir(dl)).find((f) => f.endsWith('.deb'))!,
    );
    const debSha = await sha256File(deb);
    const root = join(tmp, 'root');
    await run(ctx, 'dpkg-deb', ['-x', deb, root], { timeoutMs: 5 * 60_000, what: `unpacking ${pkg.name}` });
    const boot = await readdir(join(root, 'boot'));
    const vmlinuz = boot.find((f) => f.startsWith('vmlinuz-'));
    const config = boot.find((f) => f.startsWith('config-'));
    if (!vmlinuz) throw new LeaklabError('catalog', `${pkg.name} contains no /boot/vmlinuz-*`, { hint: 'name a linux-image-* package that ships a kernel' });
    const release = vmlinuz.slice('vmlinuz-'.length);
    await rename(join(root, 'boot', vmlinuz), join(tmp, 'bzImage'));
    if (config) await rename(join(root, 'boot', config), join(tmp, 'config'));
    await mkdir(join(tmp, 'lib', 'modules'), { recursive: true });
    await rename(join(root, 'lib', 'modules', release), join(tmp, 'lib', 'modules', release));
    ctx.progress.step(k.name, `running depmod for ${release}`);
    await run(ctx, 'depmod', ['-b', tmp, release], { timeoutMs: 5 * 60_000, what: `depmod ${release}` });
    await run(ctx, 'rm', ['-rf', root, dl], { timeoutMs: 60_000, what: 'removing unpacked package' });
    await writeFile(join(tmp, 'meta.json'), JSON.stringify({ package: pkg.name, version: pkg.version, debSha256: debSha, release }, null, 2));
  });
  const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8'));
  return {
    name: k.name,
    bzImage: join(dir, 'bzImage'),
    configPath: (await exists(join(dir, 'config'))) ? join(dir, 'config') : undefined,
    modulesDir: join(dir, 'lib', 'modules', meta.release),
    release: meta.release,
    provenance: { origin: 'debian-package', package: meta.package, version: meta.version, debSha256: meta.debSha256 },
  };
}
