// Owns the scenario's traffic as shell commands: where echo requests,
// datagrams or TCP connections go (remote, peer, guest, loopback, far or an
// address), from which namespace, and how many per burst (a fixed split, or
// a schedule for traffic until decided). TCP is leaklab's own tool
// (images/tools/leaklab-tcp.c): it listens in the namespace that holds `to`
// and connects from the sender's.
// Flood ping is bounded by count and by a deadline; trafgen (one way, from
// the peer's end of the veth link) sends exactly its count. Every value from
// the scenario is quoted (shWord): the loader checks them, this makes sure.
import type { Scenario, Workload } from '../scenario/scenario.ts';
import { PEER_NS, FAR_NS, hostOf, netnsFile } from './topology.ts';
import { GUEST_PROGRAM_DIR, PROGRAM_NAME } from '../image/guest-programs.ts';
import { ITERATIONS_FILE } from '../scenario/unit.ts';
import { shQuote, shWord } from '../util/shell.ts';
import { LeaklabError } from '../util/errors.ts';

/** Resolves an endpoint name (remote, peer, guest, loopback) or an address. */
export function endpointAddress(s: Scenario, endpoint: string): string {
  const t = s.topology;
  const v6 = s.traffic.family === 'ipv6';
  switch (endpoint) {
    case 'remote': {
      const remote = v6 ? t.remote : t.remote4;
      if (!remote)
        throw new LeaklabError('scenario', `traffic names "remote" but topology.${v6 ? 'remote' : 'remote4'} is null`, {
          hint: 'give the topology a remote address, or send to peer/guest/loopback',
        });
      return hostOf(remote);
    }
    case 'peer':
      return hostOf(v6 ? t.peer : t.peer4);
    case 'guest':
      return hostOf(v6 ? t.guest : t.guest4);
    case 'loopback':
      return v6 ? '::1' : '127.0.0.1';
    case 'far':
      return hostOf(v6 ? t.far : t.far4);
    default:
      return endpoint;
  }
}

/** The address traffic is sent to. */
export function destination(s: Scenario): string {
  return endpointAddress(s, s.traffic.to);
}

/** Bursts from this size on are sent with preload; what it may overshoot is then a small share. */
const PRELOAD_FROM = 5000;

function senderPrefix(s: Scenario): string {
  return s.traffic.from === 'peer' ? `ip netns exec ${PEER_NS} ` : '';
}

/**
 * One burst of `count` packets. ICMP: flood ping, bounded by a deadline so a
 * lossy path cannot hang the run. UDP: socat sends one datagram per 16-byte
 * read of `count` x 16 zero bytes, so exactly `count` datagrams leave.
 */
export function burstScript(s: Scenario, count: number): string {
  if (s.workload) return programScript(s.workload, count);
  if (s.traffic.generator === 'trafgen') return trafgenScript(s, count);
  if (s.traffic.protocol === 'tcp') return tcpScript(s, count);
  const fam = s.traffic.family === 'ipv6' ? '-6' : '-4';
  const src = s.traffic.source ? endpointAddress(s, s.traffic.source) : undefined;
  if (s.traffic.protocol === 'udp') {
    const v6 = s.traffic.family === 'ipv6';
    const addr = (a: string) => (v6 ? `[${a}]` : a);
    const bind = src ? `,bind=${addr(src)}` : '';
    const to = `UDP${v6 ? '6' : '4'}-SENDTO:${addr(destination(s))}:${s.traffic.port}${bind}`;
    return `head -c ${count * 16} /dev/zero | ${senderPrefix(s)}socat -u -b 16 STDIN ${shWord(to)}`;
  }
  const deadline = Math.max(30, Math.ceil(count / 50));
  // -l 64: 64 requests in flight instead of one round trip at a time (13-14k/s instead of 8k/s under TCG).
  // Only for large bursts: iputils then overshoots -c on small counts (seen: -c 100 sent 128, -c 500 sent 512).
  const preload = count >= PRELOAD_FROM ? ' -l 64' : '';
  // ping exits 1 when some replies were lost: still a burst worth measuring (the packets are counted where they arrive).
  // Only ping's 1: socat's and trafgen's 1 is a failure (trafgen exits 1 on any error).
  return `${senderPrefix(s)}ping ${fam} -f -q${preload} -c ${count} -w ${deadline}${src ? ` -I ${shWord(src)}` : ''} ${shWord(destination(s))} || [ $? -eq 1 ]`;
}

/**
 * An echo request that must be answered before measuring starts; three tries,
 * since the first may be lost while neighbour discovery settles.
 */
export function reachabilityScript(s: Scenario): string {
  // One connection: a firewall may pass TCP and drop echo requests.
  if (s.traffic.protocol === 'tcp') return tcpScript(s, 1, 10);
  const fam = s.traffic.family === 'ipv6' ? '-6' : '-4';
  const src = s.traffic.source ? ` -I ${shWord(endpointAddress(s, s.traffic.source))}` : '';
  const one = `${senderPrefix(s)}ping ${fam} -c 1 -W 2${src} ${shWord(destination(s))}`;
  return `${one} || ${one} || ${one}`;
}

/** Where the last run of a scenario's program wrote what it printed (each run replaces it). */
const PROGRAM_OUTPUT = '/tmp/leaklab-program.out';

/**
 * `count` runs of the scenario's program, one after another, by leaklab's
 * runner (images/tools/leaklab-run.c): each run that exits 0 is added to
 * the iteration count the samples read; a run that fails, crashes or
 * outlives workload.timeout ends the burst with its status.
 */
export function programScript(w: Workload, count: number): string {
  const words = [
    `${GUEST_PROGRAM_DIR}/leaklab-run`,
    ITERATIONS_FILE,
    PROGRAM_OUTPUT,
    String(count),
    String(w.timeout),
    `${GUEST_PROGRAM_DIR}/${PROGRAM_NAME}`,
    ...w.args,
  ];
  return words.map(shWord).join(' ');
}

/** The namespace file of the namespace an endpoint lives in, "-" for the guest's own (where burst scripts run). */
function namespaceOf(s: Scenario, endpoint: string): string {
  if (endpoint === 'peer' || endpoint === 'remote') return netnsFile(PEER_NS);
  if (endpoint === 'far') return netnsFile(FAR_NS);
  if (endpoint === 'loopback' && s.traffic.from === 'peer') return netnsFile(PEER_NS);
  return '-';
}

/**
 * `count` TCP connections, one after another, each sending traffic.bytes:
 * leaklab-tcp listens in the namespace of `to` (the loader allows only
 * endpoint names there) and connects from the sender's. Bounded by a
 * deadline like ping (50 connections/s at worst).
 */
export function tcpScript(s: Scenario, count: number, deadline = Math.max(30, Math.ceil(count / 50))): string {
  const t = s.traffic;
  const client = t.from === 'peer' ? netnsFile(PEER_NS) : '-';
  const args = [t.family === 'ipv6' ? '-6' : '-4', client, namespaceOf(s, t.to), destination(s), t.port, count, t.bytes, deadline];
  if (t.source) args.push(endpointAddress(s, t.source));
  return `${GUEST_PROGRAM_DIR}/leaklab-tcp ${args.map((a) => shWord(String(a))).join(' ')}`;
}

/** Where trafgen's config is written in the guest. */
const TRAFGEN_CONFIG = '/tmp/leaklab.trafgen';

/**
 * One burst of `count` packets made by Debian's trafgen in the peer
 * namespace and written straight onto veth1 with a packet socket: what the
 * guest's namespace would receive from the socket generator, without the
 * round trip or the sender's own stack (measured under TCG: 45,000 packets/s
 * against ping -f's 13,000). from guest: echo replies (or datagrams) from
 * `to` to the guest; from peer: echo requests (or datagrams) to `to`, which
 * the guest answers. The loader checks both ends are on either side of the link.
 */
export function trafgenScript(s: Scenario, count: number): string {
  const t = s.traffic;
  const v6 = t.family === 'ipv6';
  const [src, dst] =
    t.from === 'guest'
      ? [destination(s), t.source ? endpointAddress(s, t.source) : endpointAddress(s, 'guest')]
      : [t.source ? endpointAddress(s, t.source) : endpointAddress(s, 'peer'), destination(s)];
  const echo = t.from === 'guest' ? 'echoreply' : 'echorequest';
  const l3 = v6 ? `ipv6(sa=${src}, da=${dst}, hoplimit=64)` : `ipv4(sa=${src}, da=${dst}, ttl=64)`;
  const l4 =
    t.protocol === 'udp' ? `udp(sp=${t.port}, dp=${t.port}), fill(0x00, 16)` : v6 ? `icmp6(${echo}), 0x00, 0x01, 0x00, 0x01` : `icmp4(${echo}, id=1, seq=1)`;
  // The guest's MAC is read where the script runs (the guest's namespace); the rest is quoted as it is.
  const config = `echo "{ eth(da=$(cat /sys/class/net/veth0/address)), "${shQuote(`${l3}, ${l4} }`)} > ${TRAFGEN_CONFIG}`;
  // -P 1: one process, so -n is the exact count; -Q: a veth has no IRQ to pin.
  return `${config} && ip netns exec ${PEER_NS} trafgen -o veth1 -i ${TRAFGEN_CONFIG} -n ${count} -P 1 -Q`;
}
