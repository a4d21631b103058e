// Owns reading a scenario's nft ruleset as minimize takes it apart: which
// lines are rules (and in which table and chain), the ruleset without some
// of them (chains and tables left empty go too), and its IPv4 form.
// Rules are found one per line, in the layout `nft list ruleset` prints and
// people write (a table block, its chain blocks, one statement per line), or
// as `add rule ...` commands. A ruleset laid out otherwise (a chain on one
// line, two closing braces on one line) yields no rules: minimize then
// takes it away only as a whole, which is never wrong, only coarser.

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
  /** A base chain whose policy drops: it matters even with no rule left. */
  dropsByPolicy: boolean;
}

/** The words of a line without its comment. */
function code(line: string): string {
  return line.replace(/#.*$/, '').trim();
}

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
    if (!inner) {
      const m = /^(?:add|insert)\s+rule\s+(?:(ip6|ip|inet|arp|bridge|netdev)\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(c);
      if (m) flatRules.push({ table: `${m[1] ?? 'ip'} ${m[2]}`, chain: m[3], text: m[4], first: i, last: i });
      continue;
    }
    if (inner.kind !== 'chain') continue;
    if (CHAIN_PROPERTY.test(c)) {
      if (/\bpolicy\s+drop\b/.test(c)) inner.dropsByPolicy = true;
      continue;
    }
    inner.rules.push({ table: tableOf(stack), chain: inner.name, text: c.replace(/;$/, ''), first: i, last: i });
  }
  if (stack.length > 0 || pending) return undefined;
  return { top, flatRules };
}

function blockOf(header: string, line: number, parent: Block | undefined): Block | undefined {
  const base = { first: line, last: line, rules: [], children: [], dropsByPolicy: false };
  const table = /^table\s+(?:(ip6|ip|inet|arp|bridge|netdev)\s+)?(\S+)$/.exec(header);
  if (!parent) return table ? { ...base, kind: 'table', name: `${table[1] ?? 'ip'} ${table[2]}` } : undefined;
  if (parent.kind !== 'table') return { ...base, kind: 'other', name: header };
  const chain = /^chain\s+(\S+)$/.exec(header);
  return chain ? { ...base, kind: 'chain', name: chain[1] } : { ...base, kind: 'other', name: header };
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
 * The ruleset without the given rules (by their first line). A chain left
 * without rules goes, unless its policy drops; a table left without chains
 * goes. Undefined when nothing that acts on a packet is left.
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
      if (emptied && !chain.dropsByPolicy) drop(chain.first, chain.last);
      else chainsLeft++;
    }
    if (chainsLeft === 0 && table.children.some((c) => c.kind === 'chain')) drop(table.first, table.last);
  }
  const lines = ruleset.split('\n').filter((_, i) => !gone.has(i));
  const left = lines.join('\n');
  return lines.some((l) => code(l) !== '') ? left : undefined;
}

/** An IPv6 address or prefix written in the ruleset (2001:db8::1, ::1, fe80::/10). */
const IPV6_LITERAL = /(^|[\s{,=])[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,}/;

/**
 * The ruleset for IPv4 traffic: ip6 tables and expressions in their ip form.
 * Undefined (with why) when it names IPv6 addresses or neighbour discovery,
 * which have no IPv4 form.
 */
export function nftForIpv4(ruleset: string): { ruleset?: string; why?: string } {
  const lines = ruleset.split('\n').map(code);
  if (lines.some((l) => IPV6_LITERAL.test(l))) return { why: 'the nft ruleset names IPv6 addresses' };
  if (lines.some((l) => /\bnd-/.test(l))) return { why: 'the nft ruleset matches neighbour discovery, which IPv4 does not have' };
  const v4 = ruleset
    .replace(/\bip6\s+nexthdr\b/g, 'ip protocol')
    .replace(/\bip6\b/g, 'ip')
    .replace(/\bipv6-icmp\b/g, 'icmp')
    .replace(/\bicmpv6\b/g, 'icmp')
    .replace(/\bnfproto\s+ipv6\b/g, 'nfproto ipv4');
  return { ruleset: v4 };
}
