// Owns what a scenario needs from a kernel's config: the CONFIG_ options
// (with why, and the module that provides each when it is =m), and checking
// a .config against them before anything is built or booted.
import { readFile } from 'node:fs/promises';
import type { Scenario } from '../scenario/scenario.ts';
import { LeaklabError } from '../util/errors.ts';
import { labPath, entryOf, type CatalogKernel } from './catalog.ts';
import { explanationSentence, explanationDetails, type Explained, type OptionExplanation, type WantedOption } from './kconfig-explain.ts';

export interface Requirement {
  option: string; // without the CONFIG_ prefix
  why: string;
  module?: string; // module name when built as =m
}

const req = (option: string, why: string, module?: string): Requirement => ({ option, why, module });

/** Every config option the scenario relies on, deduplicated. */
export function scenarioRequirements(s: Scenario): Requirement[] {
  const out: Requirement[] = [
    req('PROC_FS', 'reading /proc/slabinfo and /proc/net/snmp6'),
    req('SYSFS', 'resolving merged slab caches in /sys/kernel/slab'),
    req('SLUB', 'the slab probe reads SLUB caches'),
    req('SLUB_DEBUG', '/proc/slabinfo and per-cache object counts in sysfs'),
    req('NET_NS', 'the peer network namespace'),
    req('VETH', 'the veth pair between guest and peer', 'veth'),
  ];
  const v6 = s.traffic.family === 'ipv6' || s.rules.length > 0 || s.routes.length > 0 || s.firewall.ip6tables.length > 0;
  if (v6) out.push(req('IPV6', 'IPv6 addresses and traffic', 'ipv6'));
  if (s.traffic.family === 'ipv4' || s.rules4.length > 0) out.push(req('INET', 'IPv4 traffic'));
  if (s.traffic.generator === 'trafgen') out.push(req('PACKET', 'trafgen writes the traffic onto the veth link with a packet socket', 'af_packet'));
  if (s.rules.length > 0) out.push(req('IPV6_MULTIPLE_TABLES', '`ip -6 rule` policy rules'), req('FIB_RULES', 'policy rules'));
  if (s.rules4.length > 0) out.push(req('IP_MULTIPLE_TABLES', '`ip -4 rule` policy rules'), req('FIB_RULES', 'policy rules'));
  if (s.firewall.nft) out.push(...nftRequirements(s.firewall.nft));
  if (s.firewall.ip6tables.length > 0) out.push(...ip6tablesRequirements(s.firewall.ip6tables));
  const seen = new Set<string>();
  return out.filter((r) => !seen.has(r.option) && seen.add(r.option));
}

function nftRequirements(ruleset: string): Requirement[] {
  const out = [req('NF_TABLES', 'the nft ruleset', 'nf_tables')];
  const families = new Set([...ruleset.matchAll(/\btable\s+(ip6|ip|inet|arp|bridge|netdev)\b/g)].map((m) => m[1]));
  const fib = /\bfib\b/.test(ruleset);
  if (families.has('ip6')) out.push(req('NF_TABLES_IPV6', 'nft tables of family ip6'));
  if (families.has('ip')) out.push(req('NF_TABLES_IPV4', 'nft tables of family ip'));
  if (families.has('inet')) out.push(req('NF_TABLES_INET', 'nft tables of family inet'));
  if (fib && (families.has('ip6') || families.has('inet'))) out.push(req('NFT_FIB_IPV6', 'the nft `fib` expression (IPv6)', 'nft_fib_ipv6'));
  if (fib && (families.has('ip') || families.has('inet'))) out.push(req('NFT_FIB_IPV4', 'the nft `fib` expression (IPv4)', 'nft_fib_ipv4'));
  if (fib && families.has('inet')) out.push(req('NFT_FIB_INET', 'the nft `fib` expression in an inet table', 'nft_fib_inet'));
  if (/\bct\s/.test(ruleset)) out.push(req('NFT_CT', 'the nft `ct` expression', 'nft_ct'));
  return out;
}

function ip6tablesRequirements(lines: string[]): Requirement[] {
  // The guest's ip6tables is the nft-based one (xtables-nft-multi): its
  // matches run through nft_compat.
  const out = [
    req('NF_TABLES', 'ip6tables (nft-based)', 'nf_tables'),
    req('NF_TABLES_IPV6', 'ip6tables (nft-based)'),
    req('NFT_COMPAT', 'ip6tables matches through nf_tables', 'nft_compat'),
    req('NETFILTER_XTABLES', 'ip6tables matches', 'x_tables'),
  ];
  if (lines.some((l) => /-m\s+rpfilter/.test(l))) out.push(req('IP6_NF_MATCH_RPFILTER', 'ip6tables `-m rpfilter`', 'ip6t_rpfilter'));
  return out;
}

export type KernelConfig = Map<string, string>;

export function parseKernelConfig(text: string): KernelConfig {
  const config: KernelConfig = new Map();
  for (const line of text.split('\n')) {
    const m = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) config.set(m[1], m[2]);
  }
  return config;
}

export async function readKernelConfig(path: string): Promise<KernelConfig> {
  return parseKernelConfig(await readFile(path, 'utf8'));
}

/** Requirements the config does not meet (=m counts only when modules exist). */
export function missingRequirements(config: KernelConfig, reqs: Requirement[], hasModules: boolean): Requirement[] {
  return reqs.filter((r) => {
    const v = config.get(r.option);
    return !(v === 'y' || (v === 'm' && hasModules));
  });
}

/** Names of modules the guest must load for `reqs` on this config. */
export function modulesToLoad(config: KernelConfig, reqs: Requirement[]): string[] {
  return reqs.filter((r) => config.get(r.option) === 'm' && r.module).map((r) => r.module!);
}

/** What a source kernel's missing options need, for the Kconfig explanation: each `=y`, asked for by the scenario. */
export function wantedFor(missing: Requirement[]): WantedOption[] {
  return missing.map((r) => ({ option: r.option, value: 'y', source: `the scenario, for ${r.why}` }));
}

/**
 * Refuses a kernel whose config lacks what the scenario needs; the next step
 * says where this kernel's config comes from. A source kernel's missing
 * options come `explained` from its tree's Kconfig: the message says why
 * each is off and the hint gives the lines that turn it on.
 */
export function assertConfigMeets(
  k: CatalogKernel,
  configPath: string,
  config: KernelConfig,
  reqs: Requirement[],
  hasModules: boolean,
  explained?: Explained,
): void {
  const missing = missingRequirements(config, reqs, hasModules);
  if (missing.length === 0) return;
  if (explained && 'explanations' in explained && explained.explanations.length > 0) throw explainedError(k, configPath, explained.explanations);
  const asModule = missing.filter((r) => config.get(r.option) === 'm');
  throw new LeaklabError(
    'kernel-config',
    `kernel ${k.name} lacks ${missing.length} config option${missing.length === 1 ? '' : 's'} the scenario needs: ${missing.map((r) => 'CONFIG_' + r.option).join(', ')}`,
    {
      hint: asModule.length > 0 ? modulesHint(k) : enableHint(k),
      details:
        missing
          .map((r) => `CONFIG_${r.option}: ${config.get(r.option) === undefined ? 'not set' : '=' + config.get(r.option)} (needed for ${r.why})`)
          .join('\n') + `\n(config: ${configPath})`,
    },
  );
}

function explainedError(k: CatalogKernel, configPath: string, es: OptionExplanation[]): LeaklabError {
  // The options themselves too: unlike a fragment's dropped line, nothing asks for them yet.
  const fix = [...new Set(es.flatMap((e) => [...e.fix, `CONFIG_${e.option}=${e.wanted}`]))];
  const first = explanationSentence(es[0], 'is not set');
  return new LeaklabError(
    'kernel-config',
    `kernel ${k.name} lacks ${es.length === 1 ? 'a config option' : `${es.length} config options`} the scenario needs: ${first}${es.length > 1 ? ` (and ${es.length - 1} more, below)` : ''}`,
    {
      hint:
        fix.length > 0
          ? `add ${fix.map((l) => JSON.stringify(l)).join(', ')} to a fragment in ${labPath(k, 'kconfig')}/ listed under config.fragments of ${k.name} in ${k.file}`
          : enableHint(k),
      details: es.map((e) => explanationDetails(e, 'is not set')).join('\n') + `\n(config: ${configPath})`,
    },
  );
}

/** Options built as modules, and no modules to load them from. */
function modulesHint(k: CatalogKernel): string {
  if (k.kind === 'rpm')
    return `they are modules (=m), and ${k.rpm} ships none (no lib/modules/RELEASE with .ko files): give the RPM that has them (openSUSE kernel-default, not kernel-default-base; Fedora kernel-core with kernel-modules)`;
  return `they are modules (=m) but no modules were given for ${k.name}: add \`modules:\` to ${entryOf(k)}`;
}

/** Where this kind of kernel gets its config from, named by the catalog actually read. */
function enableHint(k: CatalogKernel): string {
  if (k.kind === 'source')
    return `enable them in a fragment in ${labPath(k, 'kconfig')}/ listed under config.fragments of ${k.name} in ${k.file}; check their dependencies, since make olddefconfig drops options whose dependencies are off`;
  if (k.kind === 'package') return `this Debian kernel is built without them: run the scenario on another kernel (e.g. a source: entry in ${k.file})`;
  if (k.kind === 'rpm') return `this RPM's kernel is built without them: run the scenario on another kernel (e.g. a source: entry in ${k.file})`;
  return `rebuild the kernel of ${entryOf(k)} with them enabled, and give its .config as config:`;
}
