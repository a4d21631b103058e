// Owns the scenario's traffic as shell commands: where echo requests go
// (remote, peer, guest, loopback or an address), from which namespace, and
// how many per burst. Flood ping is bounded by count and by a deadline.
import type { Scenario } from '../scenario/scenario.ts';
import { PEER_NS } from './topology.ts';

const hostOf = (cidr: string) => cidr.split('/')[0];

/** The address echo requests are sent to. */
export function destination(s: Scenario): string {
  const t = s.topology;
  const v6 = s.traffic.family === 'ipv6';
  switch (s.traffic.to) {
    case 'remote': {
      const remote = v6 ? t.remote : t.remote4;
      if (!remote) throw new Error('traffic.to is "remote" but topology has no remote address');
      return hostOf(remote);
    }
    case 'peer': return hostOf(v6 ? t.peer : t.peer4);
    case 'guest': return hostOf(v6 ? t.guest : t.guest4);
    case 'loopback': return v6 ? '::1' : '127.0.0.1';
    default: return s.traffic.to;
  }
}

/** Sizes of the bursts: packets split as evenly as possible. */
export function burstSizes(s: Scenario): number[] {
  const { packets, bursts } = s.traffic;
  return Array.from({ length: bursts }, (_, i) => Math.floor(packets / bursts) + (i < packets % bursts ? 1 : 0));
}

/** One burst: `count` flood echo requests, giving up after a deadline. */
export function burstScript(s: Scenario, count: number): string {
  const fam = s.traffic.family === 'ipv6' ? '-6' : '-4';
  const inNs = s.traffic.from === 'peer' ? `ip netns exec ${PEER_NS} ` : '';
  // -f floods (one request per reply, or every 10 ms); -q prints only the summary;
  // -w bounds the whole burst so a lossy path cannot hang the run.
  const deadline = Math.max(30, Math.ceil(count / 50));
  return `${inNs}ping ${fam} -f -q -c ${count} -w ${deadline} ${destination(s)}`;
}

/** A single echo request that must be answered before measuring starts. */
export function reachabilityScript(s: Scenario): string {
  const fam = s.traffic.family === 'ipv6' ? '-6' : '-4';
  const inNs = s.traffic.from === 'peer' ? `ip netns exec ${PEER_NS} ` : '';
  return `${inNs}ping ${fam} -c 1 -W 5 ${destination(s)}`;
}
