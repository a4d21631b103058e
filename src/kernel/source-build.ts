// Owns building kernels from source: unpacking Debian's linux-source-X (or
// using a user's tree), making the config from a base plus fragments and
// checking it kept every fragment option, applying patches, and building
// bzImage out of tree. Finished kernels are cached by content (source +
// config + patches); the object directory is shared by every variant of the
// same source and config, so a one-file patch rebuilds in seconds.
import { readFile, writeFile, copyFile, rm, mkdir, utimes } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, basename, resolve, dirname, isAbsolute } from 'node:path';
import type { CatalogKernel, SourceKernel } from './catalog.ts';
import { labPath } from './catalog.ts';
import type { KernelArtifact } from './artifact.ts';
import { parseKernelConfig, assertConfigMeets, type Requirement } from './requirements.ts';
import { cachedDir, cachePath, exists } from '../util/cache.ts';
import { run, runAllowFail, requireTool, tail } from '../util/exec.ts';
import { sha256, sha256File, short } from '../util/hash.ts';
import { LeaklabError } from '../util/errors.ts';
import { progress, startTask } from '../util/progress.ts';
import { gitTopLevel, resolveCommit, describeCommit, refuseUncommitted, privateClone, privateClonePath, checkoutCommit, git } from './git-tree.ts';
import { acquireLock } from '../util/lock.ts';

const BUILD_TIMEOUT_MS = 90 * 60_000;

// Fixed build stamps: the same source and config give the same bzImage, so
// "the patch (or commit) changes nothing in this kernel" can be seen.
const REPRODUCIBLE_BUILD = {
  KBUILD_BUILD_TIMESTAMP: '1970-01-01 00:00:00 UTC',
  KBUILD_BUILD_VERSION: '1',
  KBUILD_BUILD_USER: 'leaklab',
  KBUILD_BUILD_HOST: 'leaklab',
};

interface SourceTree {
  kind: 'debian' | 'git' | 'worktree';
  /** The source directory make runs in. */
  dir: string;
  /** Identity of the source content (part of the kernel's cache key). */
  key: string;
  /** Identity of the object dir: shared by every content of the same directory. */
  objdirKey: string;
  identity: string;
  /** Puts the tree in the state this build needs (called holding the lock). */
  prepare: () => Promise<void>;
  /** Brings back the pristine source when patches will not revert; absent for the user's own tree. */
  reset?: () => Promise<void>;
}

export async function buildFromSource(k: SourceKernel & CatalogKernel, reqs: Requirement[]): Promise<KernelArtifact> {
  for (const [tool, pkg] of [
    ['make', 'make'],
    ['gcc', 'gcc'],
    ['flex', 'flex'],
    ['bison', 'bison'],
    ['bc', 'bc'],
    ['patch', 'patch'],
  ])
    await requireTool(tool, pkg);
  const tree = await sourceTree(k);
  const patches = await readPatches(k);
  const fragments = await readFragments(k);
  const base = k.config.base ?? 'tinyconfig';
  const configInputs = [base, ...fragments.map((f) => f.name + '\n' + f.text)];
  // The object dir outlives the content of its source dir (bisect steps,
  // patched variants) so builds are incremental; the config is remade
  // whenever the content changes, since Kconfig files may have changed.
  const objdir = cachePath('objdirs', `${short(tree.objdirKey)}-${short(sha256(tree.objdirKey, ...configInputs))}`);
  const configKey = sha256(tree.key, ...configInputs);
  // One lock per source tree: patches change the tree every objdir builds from.
  const lock = await acquireLock(cachePath('locks', `${short(sha256(tree.dir))}.lockdir`), k.name);
  try {
    await tree.prepare();
    await makeConfig(k, tree, objdir, base, fragments, configKey);
    const configPath = join(objdir, '.config');
    const configText = await readFile(configPath, 'utf8');
    // Fail before a long build when the scenario cannot run on this config.
    assertConfigMeets(k.name, configPath, parseKernelConfig(configText), reqs, false);
    const artifactKey = 'src-' + short(sha256(tree.key, configText, ...patches.map((p) => p.text)));
    const dir = await cachedDir('kernels', artifactKey, async (tmp) => {
      await applyPatches(k, tree, patches);
      try {
        await make(k, tree.dir, objdir, sha256(...configInputs));
        await copyFile(join(objdir, 'arch/x86/boot/bzImage'), join(tmp, 'bzImage'));
        await copyFile(configPath, join(tmp, 'config'));
        const release = (await readFile(join(objdir, 'include/config/kernel.release'), 'utf8')).trim();
        await writeFile(
          join(tmp, 'meta.json'),
          JSON.stringify(
            {
              source: tree.identity,
              sourceKey: tree.key,
              configBase: base,
              fragments: fragments.map((f) => f.name),
              patches: patches.map((p) => ({ name: p.name, sha256: sha256(p.text) })),
              release,
              compiler: (await runAllowFail('gcc', ['--version'], { timeoutMs: 10_000, what: 'gcc --version' })).stdout.split('\n')[0],
              bzImageSha256: await sha256File(join(tmp, 'bzImage')),
              configSha256: sha256(configText),
            },
            null,
            2,
          ),
        );
      } finally {
        await revertPatches(k, tree, patches);
      }
    });
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8'));
    return {
      name: k.name,
      bzImage: join(dir, 'bzImage'),
      configPath: join(dir, 'config'),
      objdir,
      release: meta.release,
      provenance: {
        origin: 'source',
        source: meta.source,
        bzImageSha256: meta.bzImageSha256,
        configSha256: meta.configSha256,
        compiler: meta.compiler,
        patches: meta.patches.map((p: { name: string; sha256: string }) => `${p.name}@${short(p.sha256)}`).join(' '),
      },
    };
  } finally {
    await lock.release();
  }
}

/**
 * Where and what a build compiles. Three kinds: Debian's linux-source
 * unpacked in the cache; a commit of a user's git tree, checked out in a
 * private clone (with `ref:`, or when patches must be applied); the user's
 * working tree itself, built in place with O= (with uncommitted changes).
 */
async function sourceTree(k: SourceKernel & CatalogKernel): Promise<SourceTree> {
  if ('tree' in k.source) {
    const top = await gitTopLevel(resolve(k.labDir, k.source.tree));
    if (k.source.ref !== undefined || (k.patches ?? []).length > 0) return commitTree(k, top, k.source.ref);
    const head = await resolveCommit(top, 'HEAD');
    const diff = await git(top, ['diff', 'HEAD'], 'git diff');
    const identity = `tree ${top} at ${await describeCommit(top, head)}${diff ? ' (with uncommitted changes)' : ''}`;
    return { kind: 'worktree', dir: top, key: sha256('tree', head, diff), objdirKey: sha256('worktree', top), identity, prepare: async () => {} };
  }
  const pkg = k.source.debian;
  const version = (await runAllowFail('dpkg-query', ['-W', '-f=${Version}', pkg], { timeoutMs: 30_000, what: 'dpkg-query' })).stdout.trim();
  const tarball = `/usr/src/${pkg}.tar.xz`;
  if (!version || !(await exists(tarball))) {
    throw new LeaklabError('tool', `the Debian package ${pkg} is not installed (kernel ${k.name} is built from it)`, {
      hint: `apt-get install ${pkg} (or run scripts/setup.sh)`,
    });
  }
  const key = sha256('debian', pkg, version);
  const unpack = () =>
    cachedDir('sources', `${pkg}_${version}`, async (tmp) => {
      progress(k.name, `unpacking ${tarball}`);
      await run('tar', ['-xf', tarball, '-C', tmp, '--strip-components=1'], { timeoutMs: 20 * 60_000, what: `unpacking ${tarball}` });
    });
  const tree: SourceTree = {
    kind: 'debian',
    dir: await unpack(),
    key,
    objdirKey: key,
    identity: `Debian ${pkg} ${version}`,
    prepare: () => restoreTree(k, tree),
    reset: async () => {
      await rm(tree.dir, { recursive: true, force: true });
      await unpack();
    },
  };
  return tree;
}

/** A commit of the user's tree, built in leaklab's private clone of it. */
async function commitTree(k: SourceKernel & CatalogKernel, top: string, ref: string | undefined): Promise<SourceTree> {
  if (ref === undefined) {
    await refuseUncommitted(top, 'a patched build would leave them out', 'commit (or stash) them, or name the commit to build with ref:');
  }
  const commit = await resolveCommit(top, ref ?? 'HEAD');
  const dir = privateClonePath(top);
  return {
    kind: 'git',
    dir,
    key: sha256('git', commit),
    objdirKey: sha256('git-clone', top),
    identity: `tree ${top} at ${await describeCommit(top, commit)}`,
    prepare: async () => {
      await privateClone(top);
      await checkoutCommit(dir, commit);
    },
    reset: () => checkoutCommit(dir, commit),
  };
}

interface NamedText {
  name: string;
  path: string;
  text: string;
}

async function readPatches(k: SourceKernel & CatalogKernel): Promise<NamedText[]> {
  const patches = k.patches ?? [];
  return Promise.all(
    patches.map(async (p) => {
      // Catalog patches live in lab/patches/; validate-patch passes absolute paths.
      const path = isAbsolute(p) ? p : labPath(k, 'patches', p);
      const text = await readFile(path, 'utf8').catch(() => {
        throw new LeaklabError('catalog', `kernel ${k.name}: patch not found: ${path}`, { hint: 'patches are files in lab/patches/' });
      });
      if (!/^(---|\+\+\+|@@)/m.test(text))
        throw new LeaklabError('catalog', `kernel ${k.name}: ${path} is not a patch (no diff hunks)`, {
          hint: 'give a unified diff, e.g. from git format-patch',
        });
      return { name: basename(p), path, text };
    }),
  );
}

async function readFragments(k: SourceKernel & CatalogKernel): Promise<NamedText[]> {
  return Promise.all(
    (k.config.fragments ?? []).map(async (f) => {
      const path = labPath(k, 'kconfig', f.endsWith('.config') ? f : `${f}.config`);
      const text = await readFile(path, 'utf8').catch(() => {
        throw new LeaklabError('catalog', `kernel ${k.name}: config fragment not found: ${path}`, {
          hint: 'fragments are files in lab/kconfig/, named without .config',
        });
      });
      return { name: f, path, text };
    }),
  );
}

/** Makes objdir/.config unless it was already made from the same inputs. */
async function makeConfig(k: CatalogKernel, tree: SourceTree, objdir: string, base: string, fragments: NamedText[], configKey: string): Promise<void> {
  const stamp = join(objdir, '.leaklab-config-key');
  if ((await readFile(stamp, 'utf8').catch(() => '')) === configKey) return;
  progress(k.name, `making config: ${base} + ${fragments.map((f) => f.name).join(' + ') || 'no fragments'}`);
  await mkdir(objdir, { recursive: true });
  const log = join(objdir, 'config.log');
  await run('make', ['-C', tree.dir, `O=${objdir}`, base], { timeoutMs: 10 * 60_000, what: `make ${base}`, kind: 'kernel-build', logFile: log });
  if (fragments.length > 0) {
    await run(join(tree.dir, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', objdir, join(objdir, '.config'), ...fragments.map((f) => f.path)], {
      cwd: tree.dir,
      timeoutMs: 10 * 60_000,
      what: 'merge_config.sh',
      kind: 'kernel-build',
      logFile: log,
    });
  }
  await run('make', ['-C', tree.dir, `O=${objdir}`, 'olddefconfig'], { timeoutMs: 10 * 60_000, what: 'make olddefconfig', kind: 'kernel-build', logFile: log });
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

// A marker in the source tree keeps the text of every patch applied to it,
// so a build interrupted with patches applied is undone before the next one.
const MARKER = '.leaklab-applied-patches';

const patchArgs = ['-p1', '--batch', '--forward', '--no-backup-if-mismatch', '-r', '-'];

async function patchCmd(tree: SourceTree, text: string, extra: string[]): Promise<{ exitCode: number; output: string }> {
  const r = await runAllowFail('patch', [...patchArgs, ...extra, '-d', tree.dir], { timeoutMs: 60_000, what: 'patch', input: text });
  return { exitCode: r.exitCode, output: r.stdout + r.stderr };
}

async function applyPatches(k: CatalogKernel, tree: SourceTree, patches: NamedText[]): Promise<void> {
  if (patches.length === 0) return;
  const applied: NamedText[] = [];
  for (const p of patches) {
    progress(k.name, `applying ${p.name}`);
    // A dry run first: a patch that fails half-way would leave hunks behind.
    const dry = await patchCmd(tree, p.text, ['--dry-run']);
    if (dry.exitCode !== 0) {
      await revertPatches(k, tree, applied);
      throw new LeaklabError('kernel-build', `patch ${p.name} does not apply to ${tree.identity}`, {
        hint: `rebase the patch onto this source, or drop it from kernel ${k.name} in lab/kernels.yaml`,
        details: tail(dry.output, 20),
      });
    }
    applied.push(p);
    await writeFile(join(tree.dir, MARKER), JSON.stringify(applied));
    const r = await patchCmd(tree, p.text, []);
    if (r.exitCode !== 0) {
      await repairTree(k, tree, applied);
      throw new LeaklabError('kernel-build', `patch ${p.name} failed after a clean dry run`, { details: tail(r.output, 20) });
    }
  }
}

/** Reverts patches newest first; if one will not revert cleanly, re-unpacks the source. */
async function revertPatches(k: CatalogKernel, tree: SourceTree, patches: NamedText[]): Promise<void> {
  for (const p of [...patches].reverse()) {
    const dry = await patchCmd(tree, p.text, ['-R', '--dry-run']);
    if (dry.exitCode !== 0 || (await patchCmd(tree, p.text, ['-R'])).exitCode !== 0) {
      await repairTree(k, tree, patches);
      return;
    }
  }
  await rm(join(tree.dir, MARKER), { force: true });
}

/** Undoes patches left applied by an interrupted build. */
async function restoreTree(k: CatalogKernel, tree: SourceTree): Promise<void> {
  const marker = await readFile(join(tree.dir, MARKER), 'utf8').catch(() => '');
  if (!marker) return;
  progress(k.name, 'undoing patches left applied by an interrupted build');
  await revertPatches(k, tree, JSON.parse(marker) as NamedText[]);
}

/**
 * Brings back a source tree whose state is unknown. A re-unpacked tree
 * carries the tarball's old mtimes, so files the patches touched are
 * touched anew: make must rebuild objects that were built from patched code.
 */
async function repairTree(k: CatalogKernel, tree: SourceTree, patches: NamedText[]): Promise<void> {
  if (!tree.reset) throw new LeaklabError('kernel-build', `the tree ${tree.dir} could not be restored`, { hint: 'check it with git status' });
  progress(k.name, `source tree in an unknown state: bringing back ${tree.identity}`);
  await tree.reset();
  const now = new Date();
  for (const p of patches) {
    for (const m of p.text.matchAll(/^\+\+\+ [^/\s]+\/(\S+)/gm)) await utimes(join(tree.dir, m[1]), now, now).catch(() => {});
  }
}

async function make(k: CatalogKernel, srcdir: string, objdir: string, configInputsKey: string): Promise<void> {
  const jobs = String(cpus().length);
  const log = join(objdir, 'build.log');
  await writeFile(log, '');
  progress(k.name, `building bzImage (make -j${jobs}; log: ${log})`);
  let compiled = 0;
  const started = Date.now();
  // A full build's file count, remembered per config, sizes the bar of the next one.
  const stats = cachePath('stats', `build-files-${short(configInputsKey)}`);
  const expected = Number(await readFile(stats, 'utf8').catch(() => '0')) || undefined;
  const task = startTask(k.name, expected);
  const r = await runAllowFail('make', ['-C', srcdir, `O=${objdir}`, `-j${jobs}`, 'bzImage'], {
    env: REPRODUCIBLE_BUILD,
    timeoutMs: BUILD_TIMEOUT_MS,
    what: `building ${k.name}`,
    kind: 'kernel-build',
    logFile: log,
    onLine: (line) => {
      if (!/^\s+CC\s/.test(line)) return;
      compiled++;
      task.update(compiled, `building: ${compiled} files compiled, ${Math.round((Date.now() - started) / 1000)} s`);
    },
  }).finally(() => task.end());
  if (r.exitCode === 0 && compiled > (expected ?? 0) / 2 && compiled > 200) {
    await mkdir(dirname(stats), { recursive: true });
    await writeFile(stats, String(compiled));
  }
  if (r.exitCode !== 0) {
    // The compiler's own error lines say more than make's closing lines.
    const errors = (r.stdout + '\n' + r.stderr)
      .split('\n')
      .filter((l) => /\berror\b:/i.test(l))
      .slice(0, 6);
    throw new LeaklabError('kernel-build', `kernel ${k.name} failed to build`, {
      hint: `read the full log in ${log}; fix the source, patch or config fragment`,
      details: errors.length > 0 ? errors.join('\n') : tail(r.stdout + '\n' + r.stderr, 10),
    });
  }
  progress(k.name, `built in ${Math.round((Date.now() - started) / 1000)} s`);
}
