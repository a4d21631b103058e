// Owns the traffic checks minimize makes on the minimal scenario: the same
// setup with the traffic changed (to ::1, over IPv4, the other protocol, the
// other direction). They do not shrink the scenario: they say how far the
// leak reaches, and each that does not leak is a control worth keeping.
// A check the scenario cannot express (IPv4 with IPv6 addresses in its
// rules) says why instead of running.
import type { ScenarioInput } from '../scenario/schema.ts';
import { DEFAULTS, trafficFrom, trafficTo } from '../scenario/defaults.ts';
import { ENDPOINTS } from '../scenario/scenario.ts';
import { nftForIpv4, namesIpv6 } from './nft-ruleset.ts';

export interface TrafficCheck {
  id: 'loopback' | 'ipv4' | 'protocol' | 'direction';
  /** As the table prints it: "to ::1", "over IPv4". */
  label: string;
  slug: string;
  /** The variant, or why there is none. */
  input?: ScenarioInput;
  notApplicable?: string;
}

const isEndpoint = (a: string | undefined) => a === undefined || (ENDPOINTS as readonly string[]).includes(a);
const isLoopback = (a: string) => a === 'loopback' || a === '::1' || a.startsWith('127.');

export function trafficChecks(s: ScenarioInput): TrafficCheck[] {
  const checks = [loopback(s), ipv4(s), otherProtocol(s), otherDirection(s)];
  // They trade one packet stream for another: a program, TCP connections or forwarded packets have no such variant.
  const other = s.workload ? 'a program (workload:)' : s.traffic.protocol === 'tcp' ? 'TCP connections' : s.topology?.router ? 'forwarded packets' : undefined;
  if (other)
    return checks.map((c) => ({ ...c, input: undefined, notApplicable: `the traffic checks vary ping and UDP traffic; this scenario drives ${other}` }));
  return checks;
}

function withTraffic(s: ScenarioInput, traffic: Partial<ScenarioInput['traffic']>): ScenarioInput {
  const out = structuredClone(s);
  out.traffic = { ...out.traffic, ...traffic };
  for (const key of Object.keys(out.traffic) as (keyof ScenarioInput['traffic'])[]) if (out.traffic[key] === undefined) delete out.traffic[key];
  return out;
}

function loopback(s: ScenarioInput): TrafficCheck {
  const check = { id: 'loopback', label: 'to ::1 (loopback)', slug: 'loopback' } as const;
  const family = s.traffic.family ?? DEFAULTS.traffic.family;
  const to = trafficTo(s);
  const label = family === 'ipv6' ? check.label : 'to 127.0.0.1 (loopback)';
  if (isLoopback(to)) return { ...check, label, notApplicable: 'the traffic already goes to loopback' };
  if ((s.traffic.generator ?? DEFAULTS.traffic.generator) === 'trafgen')
    return { ...check, label, notApplicable: 'trafgen writes onto the veth link, which loopback traffic never crosses' };
  return { ...check, label, input: withTraffic(s, { to: 'loopback', source: undefined, from: 'guest' }) };
}

function ipv4(s: ScenarioInput): TrafficCheck {
  const check = { id: 'ipv4', label: 'over IPv4 (rules and nft ruleset in their IPv4 form)', slug: 'ipv4' } as const;
  const no = (why: string): TrafficCheck => ({ ...check, notApplicable: why });
  if ((s.traffic.family ?? DEFAULTS.traffic.family) === 'ipv4') return no('the traffic is already IPv4');
  if (!isEndpoint(s.traffic.to) || !isEndpoint(s.traffic.source)) return no('the traffic names IPv6 addresses');
  if ((s.routes ?? []).length > 0) return no('routes: are IPv6 routes, which have no IPv4 form in a scenario file');
  if ((s.firewall?.ip6tables ?? []).length > 0) return no('ip6tables: lines have no IPv4 form in a scenario file');
  if ((s.rules ?? []).some((r) => r.includes(':'))) return no('a rule names IPv6 addresses');
  const ends = [trafficTo(s), s.traffic.source];
  if (ends.includes('remote') && s.topology?.remote4 === null) return no('topology.remote4 is null: the remote end has no IPv4 address');
  // Setup written for IPv6 (ip -6, IPv6 sysctls or addresses) would do nothing for IPv4 traffic: a "no leak" would be the missing translation's.
  const commands = [...(s.setup ?? []).map((c) => ['setup', c]), ...(s.changes ?? []).map((c) => ['change', c.run])];
  const v6Only = commands.find(([, c]) => /\bip\s+-6\b|\bip6tables\b|\bnet\.ipv6\.|\bnet\/ipv6\//.test(c) || namesIpv6(c));
  if (v6Only) return no(`the ${v6Only[0]} command "${v6Only[1]}" is IPv6's, with no IPv4 form in a scenario file`);
  const out = withTraffic(s, { family: 'ipv4' });
  out.rules4 = [...(s.rules4 ?? []), ...(s.rules ?? [])];
  delete out.rules;
  if (out.rules4.length === 0) delete out.rules4;
  if (s.firewall?.nft !== undefined) {
    const v4 = nftForIpv4(s.firewall.nft);
    if (!v4.ruleset) return no(v4.why!);
    out.firewall = { ...out.firewall, nft: v4.ruleset };
  }
  // Another family's leak shows in other caches (ip_dst_cache, not ip6_dst_cache): the check surveys every cache.
  out.watch = 'all';
  return { ...check, input: out };
}

/**
 * The other protocol, with the packets still reaching the guest (the packets
 * leaklab counts are those the guest receives): ping from the guest gets
 * replies, but UDP from the guest is one way, so its UDP form is datagrams
 * from the same far end to the guest (trafgen already writes what the guest
 * receives).
 */
function otherProtocol(s: ScenarioInput): TrafficCheck {
  const now = s.traffic.protocol ?? DEFAULTS.traffic.protocol;
  const other = now === 'icmp' ? 'udp' : 'icmp';
  const from = trafficFrom(s);
  const to = trafficTo(s);
  const check = { id: 'protocol', label: `${other} instead of ${now}`, slug: other } as const;
  const trafgen = (s.traffic.generator ?? DEFAULTS.traffic.generator) === 'trafgen';
  const oneWay = other === 'udp' && from === 'guest' && !trafgen && !isLoopback(to) && to !== 'guest';
  if (!oneWay) return { ...check, input: withTraffic(s, { protocol: other }) };
  if (!isEndpoint(to)) return { ...check, notApplicable: 'UDP from the guest is one way, and the traffic names an address as its far end' };
  return {
    ...check,
    label: `${other} instead of ${now} (datagrams from ${to} to the guest)`,
    input: withTraffic(s, { protocol: other, from: 'peer', source: to, to: 'guest' }),
  };
}

/**
 * The packets going the other way: the sender becomes the receiver. from
 * guest to remote (replies come back from remote) becomes from peer, with
 * the remote address as source, to the guest.
 */
function otherDirection(s: ScenarioInput): TrafficCheck {
  const from = trafficFrom(s);
  const to = trafficTo(s);
  const source = s.traffic.source ?? from;
  const otherFrom = from === 'guest' ? 'peer' : 'guest';
  const check = { id: 'direction', label: `the other direction (${otherFrom} sends, from ${to} to ${source})`, slug: 'other-direction' } as const;
  if (isLoopback(to)) return { ...check, notApplicable: 'traffic to loopback has no other direction' };
  if (!isEndpoint(to) || !isEndpoint(s.traffic.source)) return { ...check, notApplicable: 'the traffic names addresses, not endpoints' };
  if ((s.traffic.protocol ?? DEFAULTS.traffic.protocol) === 'udp') {
    // Packets are counted where the guest receives them: UDP the guest sends is one way; trafgen writes the same datagrams to the guest either way.
    if ((s.traffic.generator ?? DEFAULTS.traffic.generator) === 'trafgen')
      return { ...check, notApplicable: 'trafgen writes the same UDP datagrams to the guest either way' };
    if (otherFrom === 'guest') return { ...check, notApplicable: 'UDP the guest sends is one way: the guest would receive nothing to count' };
  }
  // The new sender must own the new source address: remote and peer are the peer's, guest the guest's.
  const side = (endpoint: string) => (endpoint === 'guest' ? 'guest' : 'peer');
  if (side(to) !== otherFrom) return { ...check, notApplicable: `${to} is not on the ${otherFrom}'s side` };
  return { ...check, input: withTraffic(s, { from: otherFrom, to: source, source: to }) };
}
