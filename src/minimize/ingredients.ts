// Owns what minimize can take away from a scenario, as a file says it: each
// policy rule, route, ip6tables line, setup command and mid-run change; the
// nft ruleset as a whole and each of its rules; and the route the traffic
// takes to the remote address (weakened: the connected peer instead). An
// ingredient is taken away from the scenario's input (the file's own
// words), so every variant is again a scenario file.
import type { ScenarioInput } from '../scenario/schema.ts';
import { nftRules, withoutNftRules } from './nft-ruleset.ts';
import { DEFAULTS, trafficTo } from '../scenario/defaults.ts';

export type IngredientKind = 'rule' | 'rule4' | 'route' | 'nft' | 'nft-rule' | 'ip6tables' | 'setup' | 'change' | 'remote';

export interface Ingredient {
  /** Stable within one scenario: "rules.0", "nft", "nft.5" (the rule's first line), "remote". */
  id: string;
  kind: IngredientKind;
  /** As the table prints it: rule "from all lookup main suppress_prefixlength 0". */
  label: string;
  /** What the variant does: "without it", or a weakening ("to the connected peer"). */
  change: string;
  /** A word for file names: "no-rule-1", "connected-peer". */
  slug: string;
  /** Parts tried one by one once the whole is needed (the nft ruleset's rules). */
  parts?: Ingredient[];
}

type ListKey = 'rules' | 'rules4' | 'routes' | 'setup';

const LISTS: { key: ListKey; kind: IngredientKind; noun: string; slug: string }[] = [
  { key: 'rules', kind: 'rule', noun: 'rule', slug: 'rule' },
  { key: 'rules4', kind: 'rule4', noun: 'IPv4 rule', slug: 'rule4' },
  { key: 'routes', kind: 'route', noun: 'route', slug: 'route' },
  { key: 'setup', kind: 'setup', noun: 'setup', slug: 'setup' },
];

const quoted = (text: string) => JSON.stringify(text.length > 70 ? text.slice(0, 67) + '...' : text);

/** Every ingredient of a scenario, in the order the file gives them. */
export function ingredientsOf(s: ScenarioInput): Ingredient[] {
  const out: Ingredient[] = [];
  for (const l of LISTS) {
    (s[l.key] ?? []).forEach((text, i) =>
      out.push({ id: `${l.key}.${i}`, kind: l.kind, label: `${l.noun} ${quoted(text)}`, change: 'without it', slug: `no-${l.slug}-${i + 1}` }),
    );
  }
  const nft = s.firewall?.nft;
  if (nft !== undefined) {
    const parts = nftRules(nft).map((r, i): Ingredient => ({
      id: `nft.${r.first}`,
      kind: 'nft-rule',
      label: `nft rule ${quoted(r.text)}`,
      change: 'without it',
      slug: `no-nft-rule-${i + 1}`,
    }));
    out.push({ id: 'nft', kind: 'nft', label: 'nft ruleset', change: 'without it', slug: 'no-nft', parts: parts.length > 0 ? parts : undefined });
  }
  (s.firewall?.ip6tables ?? []).forEach((text, i) =>
    out.push({ id: `ip6tables.${i}`, kind: 'ip6tables', label: `ip6tables ${quoted(text)}`, change: 'without it', slug: `no-ip6tables-${i + 1}` }),
  );
  (s.changes ?? []).forEach((c, i) =>
    out.push({ id: `changes.${i}`, kind: 'change', label: `change ${quoted(c.name)}`, change: 'without it', slug: `no-change-${i + 1}` }),
  );
  const remote = remoteEnd(s);
  if (remote) {
    const via = (s.topology?.defaultRoute ?? true) ? 'the default route' : 'a route';
    out.push({
      id: 'remote',
      kind: 'remote',
      label: remote === 'to' ? `peer reached through ${via}` : `source address reached through ${via}`,
      change: remote === 'to' ? 'to the connected peer' : 'from the connected peer',
      slug: 'connected-peer',
    });
  }
  return out;
}

/** Which end of the traffic is the remote address (by name, or its address written out), behind a route; none when neither is. */
function remoteEnd(s: ScenarioInput): 'to' | 'source' | undefined {
  const v4 = (s.traffic.family ?? DEFAULTS.traffic.family) === 'ipv4';
  const t = s.topology;
  const cidr = v4 ? (t?.remote4 === undefined ? DEFAULTS.topology.remote4 : t.remote4) : t?.remote === undefined ? DEFAULTS.topology.remote : t.remote;
  const isRemote = (end: string | undefined) => end === 'remote' || (cidr !== null && end === cidr.split('/')[0]);
  if (isRemote(trafficTo(s))) return 'to';
  if (isRemote(s.traffic.source)) return 'source';
  return undefined;
}

/** Every ingredient with its parts, flat: to find one by id. */
export function allIngredients(list: Ingredient[]): Ingredient[] {
  return list.flatMap((i) => [i, ...allIngredients(i.parts ?? [])]);
}

/** The scenario without the given ingredients (by id); ids of ingredients it does not have are ignored. */
export function without(s: ScenarioInput, ids: Iterable<string>): ScenarioInput {
  const gone = new Set(ids);
  const out: ScenarioInput = structuredClone(s);
  const keep = <T>(list: T[] | undefined, key: string): T[] | undefined => list?.filter((_, i) => !gone.has(`${key}.${i}`));
  for (const l of LISTS) out[l.key] = keep(s[l.key], l.key);
  if (out.firewall) {
    out.firewall.ip6tables = keep(s.firewall?.ip6tables, 'ip6tables');
    const nft = s.firewall?.nft;
    const ruleLines = [...gone].filter((id) => id.startsWith('nft.')).map((id) => Number(id.slice(4)));
    out.firewall.nft = nft === undefined || gone.has('nft') ? undefined : withoutNftRules(nft, ruleLines);
  }
  out.changes = keep(s.changes, 'changes');
  if (gone.has('remote')) {
    const end = remoteEnd(s);
    if (end === 'to') out.traffic.to = 'peer';
    if (end === 'source') out.traffic.source = 'peer';
  }
  return tidy(out);
}

/** Drops lists and objects left empty, so a variant's file says only what it has. */
function tidy(s: ScenarioInput): ScenarioInput {
  const out = { ...s };
  for (const key of ['rules', 'rules4', 'routes', 'setup', 'changes'] as const) if (!out[key]?.length) delete out[key];
  if (out.firewall) {
    const fw = { ...out.firewall };
    if (!fw.ip6tables?.length) delete fw.ip6tables;
    if (fw.nft === undefined) delete fw.nft;
    if (Object.keys(fw).length === 0) delete out.firewall;
    else out.firewall = fw;
  }
  return out;
}
