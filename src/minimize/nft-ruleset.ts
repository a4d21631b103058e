// Owns reading a scenario's nft ruleset as minimize takes it apart: which
// lines are rules (and in which table and chain), the ruleset without some
// of them (chains and tables left empty go too), and its IPv4 form.
// Rules are found one per line, in the layout `nft list ruleset` prints and
// people write (a table block, its chain blocks, one statement per line), or
// as `add rule ...` commands. A ruleset laid out otherwise (a chain on one
// line, a brace on a line of its own after the chain's name, two closing
// braces on one line) yields no rules: minimize then takes it away only as a
// whole, which is never wrong, only coarser. Taking rules away never takes
// along what a rule may still refer to or what acts without rules: only an
// emptied base filter chain that accepts by policy goes (a regular chain may
// be a jump target; a nat or route chain acts by being there), and a table
// only when all of its chains went and it holds nothing else (sets, maps).
import { isIPv6 } from 'node:net';

export interface NftRule {
  /** The table it belongs to, as written: "ip6 leaklab_rpfilter". */
  table: string;
  chain: string;
  /** The rule's own words (a rule written over several lines: joined with spaces). */
  text: string;
  /** Its lines in the ruleset (0-based, inclusive). */
  first: number;
  last: number;
}

interface Block {
  kind: 'table' | 'chain' | 'other';
  name: string;
  first: number;
  last: number;
  rules: NftRule[];
  children: Block[];
  /** A base chain of type filter: with no rule left it does nothing, unless it drops by policy. */
  isFilterBase: boolean;
  dropsByPolicy: boolean;
  /** A table holding more than chains (a set, a map, a one-line block): kept while anything may use it. */
  holdsOther: boolean;
}

/** The words of a line without its comment (a # inside quotes is a word). */
function code(line: string): string {
  return line.replace(/^((?:[^"#]|"[^"]*")*)#.*$/, '$1').trim();
}

/** Table lines that say what the table is. */
const TABLE_PROPERTY = /^(flags|comment)\b/;

/** What a table holds in a block of its own besides chains. */
const TABLE_OBJECT = /^(set|map|flowtable|counter|quota|limit|secmark|synproxy|ct\s+(helper|timeout|expectation))\s+\S+/;

/** Chain lines that say what the chain is, not what it does to a packet. */
const CHAIN_PROPERTY = /^(type|policy|comment|priority|devices|flags)\b/;

const count = (s: string, ch: string) => s.split(ch).length - 1;

/** The ruleset's block structure, or undefined when it is not laid out one statement per line. */
function parseBlocks(ruleset: string): { top: Block[]; flatRules: NftRule[] } | undefined {
  const lines = ruleset.split('\n');
  const top: Block[] = [];
  const flatRules: NftRule[] = [];
  const stack: Block[] = [];
  let pending: { first: number; words: string[]; depth: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const c = code(lines[i]);
    if (!c) continue;
    const opens = count(c, '{');
    const closes = count(c, '}');
    const inner = stack[stack.length - 1];
    // A rule with a set written over several lines: its lines until the braces balance.
    if (pending) {
      pending.words.push(c);
      pending.depth += opens - closes;
      if (pending.depth === 0) {
        inner.rules.push({ table: tableOf(stack), chain: inner.name, text: pending.words.join(' '), first: pending.first, last: i });
        pending = undefined;
      }
      continue;
    }
    if (opens === 1 && closes === 0 && c.endsWith('{')) {
      const header = c.slice(0, -1).trim();
      // A rule (in a chain) whose anonymous set opens here.
      if (inner?.kind === 'chain') {
        pending = { first: i, words: [c], depth: 1 };
        continue;
      }
      const block = blockOf(header, i, inner);
      if (!block) return undefined;
      (inner ? inner.children : top).push(block);
      stack.push(block);
      continue;
    }
    if (c === '}' || c === '};') {
      const block = stack.pop();
      if (!block) return undefined;
      block.last = i;
      continue;
    }
    if (opens !== closes) return undefined;
    if (inner?.kind === 'table') {
      // A set or map on one line is kept with its table; anything else here (a chain on one line, a chain's name
      // with its brace on the next line) is a layout whose rules cannot be told apart.
      if (TABLE_OBJECT.test(c)) inner.holdsOther = true;
      else if (!TABLE_PROPERTY.test(c)) return undefined;
      continue;
    }
    if (!inner) {
      const m = /^(?:add|insert)\s+rule\s+(?:(ip6|ip|inet|arp|bridge|netdev)\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(c);
      if (m) flatRules.push({ table: `${m[1] ?? 'ip'} ${m[2]}`, chain: m[3], text: m[4], first: i, last: i });
      continue;
    }
    if (inner.kind !== 'chain') continue;
    if (CHAIN_PROPERTY.test(c)) {
      if (/\btype\s+filter\s+hook\b/.test(c)) inner.isFilterBase = true;
      if (/\bpolicy\s+drop\b/.test(c)) inner.dropsByPolicy = true;
      continue;
    }
    inner.rules.push({ table: tableOf(stack), chain: inner.name, text: c.replace(/;$/, ''), first: i, last: i });
  }
  if (stack.length > 0 || pending) return undefined;
  return { top, flatRules };
}

function blockOf(header: string, line: number, parent: Block | undefined): Block | undefined {
  const base = { first: line, last: line, rules: [], children: [], isFilterBase: false, dropsByPolicy: false, holdsOther: false };
  const table = /^table\s+(?:(ip6|ip|inet|arp|bridge|netdev)\s+)?(\S+)$/.exec(header);
  if (!parent) return table ? { ...base, kind: 'table', name: `${table[1] ?? 'ip'} ${table[2]}` } : undefined;
  if (parent.kind !== 'table') return { ...base, kind: 'other', name: header };
  const chain = /^chain\s+(\S+)$/.exec(header);
  if (chain) return { ...base, kind: 'chain', name: chain[1] };
  if (!TABLE_OBJECT.test(header)) return undefined;
  parent.holdsOther = true;
  return { ...base, kind: 'other', name: header };
}

function tableOf(stack: Block[]): string {
  return stack.find((b) => b.kind === 'table')?.name ?? '';
}

/** Every rule of the ruleset, in order; none when its layout is not one statement per line. */
export function nftRules(ruleset: string): NftRule[] {
  const parsed = parseBlocks(ruleset);
  if (!parsed) return [];
  const inChains = parsed.top.flatMap((t) => t.children.filter((c) => c.kind === 'chain').flatMap((c) => c.rules));
  return [...inChains, ...parsed.flatRules].sort((a, b) => a.first - b.first);
}

/**
 * The ruleset without the given rules (by their first line). A base filter
 * chain left without rules goes unless its policy drops; a table left
 * without chains and holding nothing else goes. Undefined when nothing that
 * acts on a packet is left.
 */
export function withoutNftRules(ruleset: string, firstLines: number[]): string | undefined {
  const parsed = parseBlocks(ruleset);
  if (!parsed) return ruleset;
  const gone = new Set<number>();
  const drop = (first: number, last: number) => {
    for (let i = first; i <= last; i++) gone.add(i);
  };
  const removed = (r: NftRule) => firstLines.includes(r.first);
  for (const r of parsed.flatRules.filter(removed)) drop(r.first, r.last);
  for (const table of parsed.top) {
    let chainsLeft = 0;
    for (const chain of table.children.filter((c) => c.kind === 'chain')) {
      for (const r of chain.rules.filter(removed)) drop(r.first, r.last);
      const emptied = chain.rules.length > 0 && chain.rules.every(removed);
      if (emptied && chain.isFilterBase && !chain.dropsByPolicy) drop(chain.first, chain.last);
      else chainsLeft++;
    }
    if (chainsLeft === 0 && !table.holdsOther && table.children.some((c) => c.kind === 'chain')) drop(table.first, table.last);
  }
  const lines = ruleset.split('\n').filter((_, i) => !gone.has(i));
  const left = lines.join('\n');
  return lines.some((l) => code(l) !== '') ? left : undefined;
}

/**
 * Whether a line names an IPv6 address or prefix (2001:db8::1, ::1, fe80::/10, a range a-b): each word
 * is asked of Node's own address parser, so a MAC address or a port range is not mistaken for one.
 */
export function namesIpv6(line: string): boolean {
  return line.split(/[\s{},;=@()"'[\]/-]+/).some((word) => isIPv6(word));
}

/** nft matches with no IPv4 counterpart under the same meaning. */
const IPV6_ONLY = [
  { re: /\bnd-|\bmld-/, why: 'matches neighbour discovery or multicast listener messages, which IPv4 does not have' },
  { re: /\bip6\s+(hoplimit|flowlabel|priority)\b/, why: 'matches IPv6 header fields' },
  {
    re: /\bexthdr\b|\b(hbh|rt|rt0|rt2|srh|frag|dst|mh)\s+(nexthdr|hdrlength|type|id|reserved2?|more-fragments|frag-off|seg-left|checksum|last-entry|tag|sid|addr)\b/,
    why: 'matches IPv6 extension headers',
  },
  { re: /\bipv6_addr\b/, why: 'has sets or maps of IPv6 addresses' },
];

/**
 * The ruleset for IPv4 traffic: ip6 tables and expressions in their ip form.
 * Undefined (with why) when it names IPv6 addresses or matches what only
 * IPv6 has (neighbour discovery, hop limit, extension headers, IPv6 sets).
 */
export function nftForIpv4(ruleset: string): { ruleset?: string; why?: string } {
  const lines = ruleset.split('\n').map(code);
  if (lines.some(namesIpv6)) return { why: 'the nft ruleset names IPv6 addresses' };
  for (const only of IPV6_ONLY) if (lines.some((l) => only.re.test(l))) return { why: `the nft ruleset ${only.why}` };
  const v4 = ruleset
    .replace(/\bip6\s+nexthdr\b/g, 'ip protocol')
    .replace(/\bip6\b/g, 'ip')
    .replace(/\bipv6-icmp\b/g, 'icmp')
    .replace(/\bicmpv6\b/g, 'icmp')
    .replace(/\bnfproto\s+ipv6\b/g, 'nfproto ipv4');
  return { ruleset: v4 };
}
