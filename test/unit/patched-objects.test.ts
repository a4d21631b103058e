// Which objects a patched build compiles afresh (kernel/patched-objects.ts),
// on an object directory laid out as Kbuild lays it out, with a dependency
// record (.route.o.cmd) taken from a real build of v6.1's minimal config.
import test from 'ava';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { forgetPatchedObjects, recordPatchedFiles, assertPatchedSources } from '../../src/kernel/patched-objects.ts';
import type { CatalogKernel } from '../../src/kernel/catalog.ts';

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
  for (const o of ['net/ipv6/fib6_rules.o', 'net/ipv6/route.o', 'net/ipv4/route.o', 'net/core/dev.o']) touch(objdir, o);
  // route.o's real record names include/net/ip6_fib.h among its dependencies; dev.o's does not.
  copyFileSync('test/fixtures/kbuild/route.o.cmd', join(objdir, 'net/ipv6/.route.o.cmd'));
  touch(objdir, 'net/core/.dev.o.cmd', 'cmd_net/core/dev.o := gcc -c -o net/core/dev.o ../net/core/dev.c\n');
  // The previous build in this directory patched net/ipv4/route.c.
  writeFileSync(join(objdir, '.leaklab-patched-files'), JSON.stringify(['net/ipv4/route.c']));
  return { tree, objdir };
}

test('objects of patched files, of files including a patched header, and of the previous build’s patched files are removed', async (t) => {
  const { tree, objdir } = layout(t);
  const patched = await forgetPatchedObjects(tree, objdir, [patchOf('net/ipv6/fib6_rules.c'), patchOf('include/net/ip6_fib.h')]);
  t.deepEqual(patched.uncached.sort(), ['net/ipv4/route.o', 'net/ipv6/fib6_rules.o']);
  for (const gone of ['net/ipv6/fib6_rules.o', 'net/ipv6/route.o', 'net/ipv4/route.o']) t.false(existsSync(join(objdir, gone)), gone);
  t.true(existsSync(join(objdir, 'net/core/dev.o')), 'an object no patch reaches stays');
  // Until the build ends well, the next one redoes both builds' files; after, only this one's.
  t.deepEqual(JSON.parse(readFileSync(join(objdir, '.leaklab-patched-files'), 'utf8')).sort(), [
    'include/net/ip6_fib.h',
    'net/ipv4/route.c',
    'net/ipv6/fib6_rules.c',
  ]);
  await recordPatchedFiles(objdir, [patchOf('net/ipv6/fib6_rules.c'), patchOf('include/net/ip6_fib.h')]);
  t.deepEqual(JSON.parse(readFileSync(join(objdir, '.leaklab-patched-files'), 'utf8')), ['net/ipv6/fib6_rules.c', 'include/net/ip6_fib.h']);
});

test('a patched file that changes during the build fails the build', async (t) => {
  const { tree, objdir } = layout(t);
  const patched = await forgetPatchedObjects(tree, objdir, [patchOf('net/ipv6/fib6_rules.c')]);
  await t.notThrowsAsync(assertPatchedSources(kernel, tree, patched));
  writeFileSync(join(tree, 'net/ipv6/fib6_rules.c'), 'reverted by someone else\n');
  await t.throwsAsync(assertPatchedSources(kernel, tree, patched), { message: /net\/ipv6\/fib6_rules\.c changed while it was being built/ });
});
