// Which objects a build compiles afresh (kernel/stale-objects.ts),
// on an object directory laid out as Kbuild lays it out, with a dependency
// record (.route.o.cmd) taken from a real build of v6.1's minimal config.
import test from 'ava';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, copyFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { forgetStaleObjects, recordObjdirState, assertSourcesUnchanged, dependencyRecords, namesAny } from '../../src/kernel/stale-objects.ts';
import type { CatalogKernel } from '../../src/kernel/catalog.ts';
import type { SourceTree } from '../../src/kernel/source-types.ts';

const kernel = { name: 'k' } as CatalogKernel;

function patchOf(file: string) {
  return { name: `${file}.patch`, path: '', text: `--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n-old\n+new\n` };
}

function touch(root: string, file: string, text = '') {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), text);
}

function layout(t: { teardown: (f: () => void) => void }) {
  const root = mkdtempSync(join(tmpdir(), 'leaklab-patched-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const tree = join(root, 'tree');
  const objdir = join(tree, '.leaklab-objdir-x');
  touch(tree, 'net/ipv6/fib6_rules.c', 'patched\n');
  touch(tree, 'include/net/ip6_fib.h', 'patched\n');
  touch(tree, 'net/ipv4/route.c');
  touch(tree, 'arch/x86/boot/compressed/misc.c');
  touch(objdir, 'arch/x86/boot/compressed/misc.o');
  for (const o of ['net/ipv6/fib6_rules.o', 'net/ipv6/route.o', 'net/ipv4/route.o', 'net/core/dev.o']) touch(objdir, o);
  // route.o's real record names include/net/ip6_fib.h among its dependencies; dev.o's does not.
  copyFileSync('test/fixtures/kbuild/route.o.cmd', join(objdir, 'net/ipv6/.route.o.cmd'));
  touch(objdir, 'net/core/.dev.o.cmd', 'cmd_net/core/dev.o := gcc -c -o net/core/dev.o ../net/core/dev.c\n');
  // Kbuild links the object directory's `source` to the tree it sits in.
  symlinkSync('..', join(objdir, 'source'));
  // The previous build in this directory patched net/ipv4/route.c.
  writeFileSync(join(objdir, '.leaklab-last-build'), JSON.stringify({ files: ['net/ipv4/route.c'] }));
  const source: SourceTree = { kind: 'debian', dir: tree, key: 'k', objdirKey: 'o', identity: 'test tree', prepare: async () => {} };
  return { tree, objdir, source };
}

test('objects of patched files, of files including a patched header, and of the previous build’s patched files are removed', async (t) => {
  const { objdir, source } = layout(t);
  const patches = [patchOf('net/ipv6/fib6_rules.c'), patchOf('include/net/ip6_fib.h'), patchOf('arch/x86/boot/compressed/misc.c')];
  const patched = await forgetStaleObjects(source, objdir, patches, () => {});
  // Boot code is built through its directory's own rules, never as a goal of its own: removed, left to make.
  t.deepEqual(patched.uncached.sort(), ['net/ipv4/route.o', 'net/ipv6/fib6_rules.o']);
  for (const gone of ['net/ipv6/fib6_rules.o', 'net/ipv6/route.o', 'net/ipv4/route.o', 'arch/x86/boot/compressed/misc.o'])
    t.false(existsSync(join(objdir, gone)), gone);
  t.true(existsSync(join(objdir, 'net/core/dev.o')), 'an object no patch reaches stays');
  // Until the build ends well, the next one redoes both builds' files; after, only this one's.
  t.deepEqual(JSON.parse(readFileSync(join(objdir, '.leaklab-last-build'), 'utf8')).files.sort(), [
    'arch/x86/boot/compressed/misc.c',
    'include/net/ip6_fib.h',
    'net/ipv4/route.c',
    'net/ipv6/fib6_rules.c',
  ]);
  await recordObjdirState(source, objdir, patches);
  t.deepEqual(JSON.parse(readFileSync(join(objdir, '.leaklab-last-build'), 'utf8')).files, [
    'net/ipv6/fib6_rules.c',
    'include/net/ip6_fib.h',
    'arch/x86/boot/compressed/misc.c',
  ]);
});

test('a patched file that changes during the build fails the build', async (t) => {
  const { tree, objdir, source } = layout(t);
  const patched = await forgetStaleObjects(source, objdir, [patchOf('net/ipv6/fib6_rules.c')], () => {});
  await t.notThrowsAsync(assertSourcesUnchanged(kernel, tree, patched));
  writeFileSync(join(tree, 'net/ipv6/fib6_rules.c'), 'reverted by someone else\n');
  await t.throwsAsync(assertSourcesUnchanged(kernel, tree, patched), { message: /net\/ipv6\/fib6_rules\.c changed while it was being built/ });
});

test('in a git tree, the files that differ from the commit built last lose their objects (make compiles them anew, the cache may serve them)', async (t) => {
  const { tree, objdir, source } = layout(t);
  const git = (...args: string[]) => execFileSync('git', ['-C', tree, ...args], { encoding: 'utf8' }).trim();
  touch(tree, 'net/ipv6/route.c', 'one\n');
  touch(objdir, 'net/ipv6/route.o');
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'first');
  const first = git('rev-parse', 'HEAD');
  writeFileSync(join(tree, 'net/ipv6/route.c'), 'two\n');
  git('rm', '-q', 'net/ipv6/fib6_rules.c');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', 'second');
  const second = git('rev-parse', 'HEAD');
  writeFileSync(join(objdir, '.leaklab-last-build'), JSON.stringify({ revision: first, files: [] }));
  const atSecond: SourceTree = { ...source, kind: 'git', revision: second, changedSince: async (r) => git('diff', '--name-only', r, second).split('\n') };
  const patched = await forgetStaleObjects(atSecond, objdir, [], () => {});
  t.deepEqual(patched.uncached, [], 'only patched files are compiled without the cache');
  t.false(existsSync(join(objdir, 'net/ipv6/route.o')));
  t.false(existsSync(join(objdir, 'net/ipv6/fib6_rules.o')), "a deleted source's object goes too");
  await recordObjdirState(atSecond, objdir, []);
  t.deepEqual(JSON.parse(readFileSync(join(objdir, '.leaklab-last-build'), 'utf8')), { revision: second, files: [] });
});

test('the dependency records are found once each: the walk does not follow the source link round the tree', async (t) => {
  const { objdir } = layout(t);
  t.deepEqual((await dependencyRecords(objdir, '')).sort(), ['net/core/.dev.o.cmd', 'net/ipv6/.route.o.cmd']);
});

test('a patched file whose object a failed build removed is still compiled without the cache: its dependency record says the config builds it', async (t) => {
  const { objdir, source } = layout(t);
  rmSync(join(objdir, 'net/ipv6/route.o'));
  touch(source.dir, 'net/ipv6/route.c');
  const patched = await forgetStaleObjects(source, objdir, [patchOf('net/ipv6/route.c')], () => {});
  t.true(patched.uncached.includes('net/ipv6/route.o'));
});

test('a file a patch deletes or renames loses its objects under its old name too', async (t) => {
  const { objdir, source } = layout(t);
  const deleting = { name: 'd.patch', path: '', text: '--- a/net/core/dev.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-old\n' };
  const renaming = { name: 'r.patch', path: '', text: '--- a/net/ipv6/route.c\n+++ b/net/ipv6/route6.c\n@@ -1 +1 @@\n-old\n+new\n' };
  await forgetStaleObjects(source, objdir, [deleting, renaming], () => {});
  t.false(existsSync(join(objdir, 'net/core/dev.o')), "the deleted file's object");
  t.false(existsSync(join(objdir, 'net/ipv6/route.o')), "the renamed file's old object");
});

test('a dependency path that goes up and down again (compressed/../string.h) still names its file', (t) => {
  const objdir = '/src/linux/.leaklab-objdir-x';
  const record =
    'deps_arch/x86/boot/compressed/string.o := \\\n  ../arch/x86/boot/compressed/../string.h \\\n  /usr/lib/gcc/x86_64-linux-gnu/12/include/stdarg.h \\\n';
  t.true(namesAny(record, ['arch/x86/boot/string.h'], objdir, '/src/linux'));
  t.false(namesAny(record, ['string.h'], objdir, '/src/linux'), 'a path is the whole path in the tree, not its last part');
  t.false(namesAny(record, ['include/stdarg.h'], objdir, '/src/linux'), "the compiler's own headers are not the tree's");
  t.true(namesAny('source_net/ipv6/route.o := ../net/ipv6/route.c\n', ['net/ipv6/route.c'], objdir, '/src/linux'));
});

test('when git cannot tell what changed since the last build, no object is trusted, and the build says so', async (t) => {
  const { objdir, source } = layout(t);
  writeFileSync(join(objdir, '.leaklab-last-build'), JSON.stringify({ revision: 'gone', files: [] }));
  const broken: SourceTree = {
    ...source,
    kind: 'git',
    revision: 'now',
    changedSince: async () => {
      throw new Error('git diff --name-only failed: fatal: bad object gone\nmore');
    },
  };
  const said: string[] = [];
  await forgetStaleObjects(broken, objdir, [], (line) => said.push(line));
  t.deepEqual(said, [
    'could not tell which files changed since the last build here (git diff --name-only failed: fatal: bad object gone): every object is compiled again',
  ]);
  for (const o of ['net/ipv6/route.o', 'net/core/dev.o']) t.false(existsSync(join(objdir, o)), o);
});
