// Why a config option did not come out as asked, told by the tree's own
// Kconfig through kconfiglib: on Kconfig entries copied from Debian's
// linux-source-6.12 (test/fixtures/kconfig-6.12) and the .config tinyconfig
// made there. The e2e test (test/e2e/kconfig.test.ts) asks the whole tree.
import test from 'ava';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explainOptions, explanationSentence, type OptionExplanation } from '../../src/kernel/kconfig-explain.ts';
import { droppedOptions } from '../../src/kernel/kconfig.ts';
import { parseKernelConfig } from '../../src/kernel/requirements.ts';
import { testContext } from '../helpers/context.ts';
import { FIXTURES } from '../helpers/fixtures.ts';

const TREE = join(FIXTURES, 'kconfig-6.12');
const BASE_FRAGMENT = { name: 'leaklab-base', path: 'leaklab-base.config', text: 'CONFIG_SYSFS=y\nCONFIG_SLUB=y\nCONFIG_SLUB_DEBUG=y\n' };

async function explain(wanted: { option: string; value: string; source?: string }[]): Promise<OptionExplanation[]> {
  const objdir = mkdtempSync(join(tmpdir(), 'leaklab-kconfig-'));
  copyFileSync(join(TREE, '.config'), join(objdir, '.config'));
  const r = await explainOptions(
    testContext(),
    TREE,
    objdir,
    'tinyconfig',
    [BASE_FRAGMENT],
    wanted.map((w) => ({ source: 'leaklab-base', ...w })),
  );
  if ('unexplained' in r) throw new Error(r.unexplained);
  return r.explanations;
}

test('SLUB_DEBUG dropped on 6.12: it depends on SYSFS && !SLUB_TINY, SLUB_TINY=y set by tinyconfig; the fix is checked in the same Kconfig', async (t) => {
  const [e] = await explain([{ option: 'SLUB_DEBUG', value: 'y' }]);
  t.is(
    explanationSentence(e),
    'CONFIG_SLUB_DEBUG=y (leaklab-base) was dropped: it depends on SYSFS && !SLUB_TINY, and SYSFS is not set (leaklab-base asks for y, dropped too), SLUB_TINY=y (set by tinyconfig)',
  );
  t.deepEqual(e.fix, ['CONFIG_SYSFS=y', '# CONFIG_SLUB_TINY is not set']);
  t.true(e.fixVerified);
});

test('a tristate asked as a module: MODULES (a bare `modules` attribute, newer than kconfiglib) and its menus, each named once, innermost first', async (t) => {
  const [e] = await explain([{ option: 'VETH', value: 'm', source: 'the scenario, for the veth pair' }]);
  t.is(e.dependsOn, 'NET_CORE && NETDEVICES');
  t.deepEqual(e.why, [
    '=m needs MODULES, which is not set',
    'NET_CORE is not set (its default)',
    '  NETDEVICES is not set (its default)',
    '    NET is not set (its default)',
  ]);
  t.deepEqual(e.fix, ['CONFIG_MODULES=y', 'CONFIG_NET=y', 'CONFIG_NETDEVICES=y', 'CONFIG_NET_CORE=y']);
  t.true(e.fixVerified);
});

test('an option this kernel does not have; an option that is fine is not explained away', async (t) => {
  const [gone, fine] = await explain([
    { option: 'SLOB', value: 'y' },
    { option: 'EXPERT', value: 'y' },
  ]);
  t.is(explanationSentence(gone), "CONFIG_SLOB=y (leaklab-base) was dropped: this kernel's Kconfig has no SLOB");
  t.deepEqual(fine.why, []);
  t.deepEqual(fine.fix, []);
});

test('fragment lines olddefconfig did not keep: values that changed and "is not set" lines that ended up set', (t) => {
  const config = parseKernelConfig(readFileSync(join(TREE, '.config'), 'utf8'));
  const dropped = droppedOptions([{ ...BASE_FRAGMENT, text: BASE_FRAGMENT.text + '# CONFIG_SLUB_TINY is not set\n# CONFIG_MODULES is not set\n' }], config);
  t.deepEqual(
    dropped.map((d) => [d.option, d.value, d.actual]),
    [
      ['SYSFS', 'y', 'not set'],
      ['SLUB_DEBUG', 'y', 'not set'],
      ['SLUB_TINY', 'n', '=y'],
    ],
  );
});
