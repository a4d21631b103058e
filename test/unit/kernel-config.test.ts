import test from 'ava';
import { scenarioRequirements, parseKernelConfig, missingRequirements, modulesToLoad, assertConfigMeets } from '../../src/kernel/requirements.ts';
import { parseModulesDep, moduleClosure } from '../../src/image/initramfs.ts';
import { loadScenarios } from '../../src/scenario/load.ts';
import { LeaklabError } from '../../src/util/errors.ts';
import { loadCatalog, findKernel } from '../../src/kernel/catalog.ts';
import { fixture } from '../helpers/fixtures.ts';

const scenarios = await loadScenarios('scenarios');
const seed = scenarios.find((s) => s.name === 'fib6-suppress-leak')!;
const ipv4 = scenarios.find((s) => s.name === 'control-ipv4')!;
const debianConfig = parseKernelConfig(fixture('kernel/config-6.1.0-56-cloud-amd64'));
const tinyConfig = parseKernelConfig(fixture('kernel/config-v6.1-leaklab-tiny'));

test('the seed scenario needs policy routing, veth, nft fib for ip6, and the slab counters', (t) => {
  const opts = scenarioRequirements(seed).map((r) => r.option);
  for (const o of ['IPV6', 'IPV6_MULTIPLE_TABLES', 'FIB_RULES', 'VETH', 'NET_NS', 'NF_TABLES', 'NF_TABLES_IPV6', 'NFT_FIB_IPV6', 'SLUB_DEBUG', 'SYSFS'])
    t.true(opts.includes(o), o);
  t.false(opts.includes('NFT_FIB_INET'), 'an ip6 table does not need the inet fib');
  const v4 = scenarioRequirements(ipv4).map((r) => r.option);
  t.true(v4.includes('IP_MULTIPLE_TABLES'));
  t.true(v4.includes('NFT_FIB_IPV4'));
});

test('the minimal catalog config has everything built in', (t) => {
  for (const s of scenarios) t.deepEqual(missingRequirements(tinyConfig, scenarioRequirements(s), false), [], s.name);
  t.deepEqual(modulesToLoad(tinyConfig, scenarioRequirements(seed)), []);
});

test("Debian's cloud kernel needs its modules: veth, nf_tables, nft_fib_ipv6 are =m", (t) => {
  const reqs = scenarioRequirements(seed);
  const missing = missingRequirements(debianConfig, reqs, false).map((r) => r.option);
  t.deepEqual(missing.sort(), ['NFT_FIB_IPV6', 'NF_TABLES', 'VETH']);
  t.deepEqual(missingRequirements(debianConfig, reqs, true), []);
  t.deepEqual(modulesToLoad(debianConfig, reqs).sort(), ['nf_tables', 'nft_fib_ipv6', 'veth']);
});

test('a config without what the scenario needs names every missing option and why', async (t) => {
  const noNetfilter = new Map([...tinyConfig].filter(([k]) => !k.startsWith('NF') && k !== 'VETH'));
  const v61 = findKernel(await loadCatalog('lab/kernels.yaml'), 'v6.1');
  const err = t.throws(() => assertConfigMeets(v61, '/x/.config', noNetfilter, scenarioRequirements(seed), false), { instanceOf: LeaklabError });
  t.regex(err!.message, /lacks 4 config options.*CONFIG_VETH.*CONFIG_NF_TABLES\b.*CONFIG_NF_TABLES_IPV6.*CONFIG_NFT_FIB_IPV6/);
  t.regex(err!.details!, /CONFIG_VETH: not set \(needed for the veth pair/);
});

test("module closure from Debian's real modules.dep pulls in dependencies", (t) => {
  const dep = parseModulesDep(fixture('kernel/modules.dep-6.1.0-56-cloud-amd64'));
  const paths = moduleClosure(dep, ['nft_fib_ipv6', 'veth']);
  t.true(paths.includes('kernel/net/ipv6/netfilter/nft_fib_ipv6.ko'));
  t.true(paths.includes('kernel/net/netfilter/nft_fib.ko'), 'dependency of nft_fib_ipv6');
  t.true(paths.includes('kernel/net/netfilter/nf_tables.ko'), 'dependency of nft_fib');
  t.true(paths.includes('kernel/drivers/net/veth.ko'));
  t.throws(() => moduleClosure(dep, ['no_such_module']), { message: /no_such_module is not in/ });
});
