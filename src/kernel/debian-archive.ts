// Owns asking Debian's archive (through apt's package lists) what it has:
// the packages whose names match a pattern, every version of a package,
// and the order of Debian versions (dpkg's own comparison). Nothing is
// installed or fetched here.
import { runAllowFail } from '../util/exec.ts';
import { LeaklabError } from '../util/errors.ts';
import type { Context } from '../util/context.ts';

export interface ArchivePackage {
  name: string;
  version: string;
}

/** A shell-style pattern (`*`, `?`) over package names, as a regex matching whole names. */
export function namePattern(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^\\s]*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Every version of each named package the package lists hold (apt-cache madison), in one call. */
export async function archiveVersions(ctx: Context, names: string[]): Promise<ArchivePackage[]> {
  if (names.length === 0) return [];
  const r = await runAllowFail(ctx, 'apt-cache', ['madison', ...names], { timeoutMs: 60_000, what: 'apt-cache madison', env: { LC_ALL: 'C.UTF-8' } });
  const seen = new Set<string>();
  const out: ArchivePackage[] = [];
  // "linux-image-6.1.0-47-cloud-amd64 |  6.1.170-3 | http://deb.debian.org/debian bookworm/main amd64 Packages" (Sources lines too)
  for (const line of r.stdout.split('\n')) {
    const [name, version, from] = line.split('|').map((f) => f.trim());
    if (!name || !version || !from || from.endsWith('Sources')) continue;
    const key = `${name}=${version}`;
    if (!seen.has(key) && seen.add(key)) out.push({ name, version });
  }
  return out;
}

/** The kernel packages (every version) whose names match `glob`, oldest first; metapackages left out (they repeat a kernel listed). */
export async function matchingPackages(ctx: Context, glob: string): Promise<ArchivePackage[]> {
  const prefix = glob.split(/[*?]/)[0];
  const r = await runAllowFail(ctx, 'apt-cache', ['pkgnames', prefix], { timeoutMs: 60_000, what: 'apt-cache pkgnames' });
  const re = namePattern(glob);
  const names = r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((n) => re.test(n));
  const metas = await metapackages(ctx, names);
  return sortByVersion(
    ctx,
    await archiveVersions(
      ctx,
      names.filter((n) => !metas.has(n)),
    ),
  );
}

/** Which of these packages only pull in a versioned linux-image package (linux-image-6.12-cloud-amd64), read from apt-cache show. */
async function metapackages(ctx: Context, names: string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const r = await runAllowFail(ctx, 'apt-cache', ['show', '--no-all-versions', ...names], {
    timeoutMs: 60_000,
    what: 'apt-cache show',
    env: { LC_ALL: 'C.UTF-8' },
  });
  const out = new Set<string>();
  for (const record of r.stdout.split(/\n\n+/)) {
    const name = /^Package: (\S+)/m.exec(record)?.[1];
    const depends = /^Depends: (.*)$/m.exec(record)?.[1] ?? '';
    if (name && /(^|,\s*)linux-image-\d/.test(depends)) out.add(name);
  }
  return out;
}

/** `a` is older than `b` by dpkg's rules (epochs, ~, revisions). */
async function olderThan(ctx: Context, a: string, b: string): Promise<boolean> {
  const r = await runAllowFail(ctx, 'dpkg', ['--compare-versions', a, 'lt', b], { timeoutMs: 10_000, what: 'dpkg --compare-versions' });
  if (r.exitCode > 1) throw new LeaklabError('tool', `dpkg --compare-versions failed on "${a}" and "${b}"`, { hint: 'check that dpkg works on this machine' });
  return r.exitCode === 0;
}

/** Oldest first, by version, then name; an insertion sort, since each comparison asks dpkg. */
export async function sortByVersion(ctx: Context, pkgs: ArchivePackage[]): Promise<ArchivePackage[]> {
  const out: ArchivePackage[] = [];
  for (const p of pkgs) {
    let i = out.length;
    while (i > 0 && (await before(p, out[i - 1]))) i--;
    out.splice(i, 0, p);
  }
  return out;

  async function before(a: ArchivePackage, b: ArchivePackage): Promise<boolean> {
    if (a.version === b.version) return a.name < b.name;
    return olderThan(ctx, a.version, b.version);
  }
}
