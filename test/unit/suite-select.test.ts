// validate-patch's suite on one kernel: the shipped scenarios against the
// shipped catalog (a scenario of another kernel line is left out).
import test from 'ava';
import { loadCatalog, findKernel, treeKernel } from '../../src/kernel/catalog.ts';
import { loadScenarios } from '../../src/scenario/load.ts';
import { suiteForKernel } from '../../src/validate/suite-select.ts';

test('a suite scenario written for another kernel line is not run on the validated kernel; with a tree as the source, every one is', async (t) => {
  const catalog = await loadCatalog('lab/kernels.yaml');
  const suite = await loadScenarios('scenarios');
  const skipped = (kernel: Parameters<typeof suiteForKernel>[1]) => suiteForKernel(catalog, kernel, suite).skipped.map((s) => s.name);
  t.deepEqual(skipped(findKernel(catalog, 'v6.1')), ['control-ipv4-6.12']);
  t.deepEqual(skipped(findKernel(catalog, 'v6.1-keep-1-in-2')), ['control-ipv4-6.12'], 'a kernel no scenario names: by its source package');
  t.deepEqual(skipped(findKernel(catalog, 'v6.12-fix-reverted')), ['control-ipv4']);
  t.deepEqual(skipped(treeKernel(catalog, { tree: '/src/linux', commit: 'abc', name: 'linux@abc' })), []);
  t.is(suiteForKernel(catalog, findKernel(catalog, 'v6.1'), suite).run.length, suite.length - 1);
});
