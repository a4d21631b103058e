// Builds kernel RPMs for the tests with Debian's rpmbuild, laid out as a
// vendor's kernel package is (openSUSE kernel-default: /boot/vmlinuz-REL,
// /boot/config-REL, /lib/modules/REL), from the files given.
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

export interface RpmFiles {
  release: string;
  bzImage?: string;
  config?: string;
  /** A lib/modules/RELEASE directory. */
  modules?: string;
  /** Other files: path in the package -> content. */
  other?: Record<string, string>;
}

/** The RPM's path; everything is made under `dir`. */
export function buildRpm(dir: string, name: string, files: RpmFiles): string {
  const payload = join(dir, `${name}-payload`);
  mkdirSync(payload, { recursive: true });
  const put = (path: string, from: string) => {
    mkdirSync(join(payload, path, '..'), { recursive: true });
    cpSync(from, join(payload, path), { recursive: true });
  };
  if (files.bzImage) put(`boot/vmlinuz-${files.release}`, files.bzImage);
  if (files.config) put(`boot/config-${files.release}`, files.config);
  if (files.modules) put(`lib/modules/${files.release}`, files.modules);
  for (const [path, text] of Object.entries(files.other ?? {})) {
    mkdirSync(join(payload, path, '..'), { recursive: true });
    writeFileSync(join(payload, path), text);
  }
  const spec = join(dir, `${name}.spec`);
  writeFileSync(
    spec,
    [
      `Name: ${name}`,
      'Version: 1.0',
      'Release: 1',
      'Summary: a kernel package for leaklab tests',
      'License: GPL-2.0-only',
      'BuildArch: x86_64',
      // Fast to make, and the files as they are: no compression level 9, no stripping, no debug package.
      '%define _binary_payload w1.gzdio',
      '%define __os_install_post %{nil}',
      '%define debug_package %{nil}',
      '%define _build_id_links none',
      '%description',
      'A kernel package laid out as a vendor kernel RPM.',
      '%install',
      `cp -a ${payload}/. %{buildroot}/`,
      '%files',
      ...readdirSync(payload).map((top) => `/${top}`),
      '',
    ].join('\n'),
  );
  const top = join(dir, `${name}-rpmbuild`);
  execFileSync('rpmbuild', ['--define', `_topdir ${top}`, '--nodeps', '--quiet', '-bb', spec], { stdio: 'pipe', timeout: 5 * 60_000 });
  const out = join(top, 'RPMS', 'x86_64');
  return join(
    out,
    readdirSync(out).find((f) => f.endsWith('.rpm'))!,
  );
}
