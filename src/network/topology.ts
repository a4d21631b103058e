// Owns the guest's network as shell commands: a `peer` namespace joined to
// the guest by a veth pair, the remote address on the peer's lo reached
// through the guest's default route, with topology.router a `far` namespace
// on a second veth pair and forwarding on (peer and far route through the
// guest), for TCP no TIME_WAIT sockets, then the scenario's rules, routes,
// firewall and setup commands (each cut off after setupTimeout). Every
// address lives inside the guest. Addresses are quoted (shWord); rules,
// routes, ip6tables arguments and setup commands are shell by design (the
// scenario's own words, run in the guest).
import type { Scenario } from '../scenario/scenario.ts';
import { shQuote, shWord } from '../util/shell.ts';
import { LeaklabError } from '../util/errors.ts';

export const PEER_NS = 'peer';
/** The namespace on the router's other side (topology.router). */
export const FAR_NS = 'far';

/** The file `ip netns exec NAME` enters, for tools that enter a namespace themselves (setns). */
export function netnsFile(ns: string): string {
  return `/run/netns/${ns}`;
}

/** The address part of an address/prefix. */
export const hostOf = (cidr: string) => cidr.split('/')[0];

/** Waits (5 s at most) until the kernel says the link is up, with builtins only: a fork costs tens of ms under TCG. */
function operstateUp(dev: string): string {
  return `n=0; until read -r s < /sys/class/net/${dev}/operstate && [ "$s" = up ]; do n=$((n+1)); [ $n -lt 100 ] || exit 1; sleep 0.05; done`;
}

/** A step of a phase: a name, its shell commands, and the error its failure makes (default: a scenario error naming the step, with what the guest said). */
export interface Step {
  name: string;
  script: string;
  failure?: (output: string, exitCode: number) => LeaklabError;
  /** Timed on the guest's clock (a burst: the measured packet rate of projections). */
  timed?: boolean;
}

/** The commands that build the topology, one step per entry (run with set -e). */
export function topologySteps(s: Scenario): Step[] {
  const t = s.topology;
  const v4 = s.traffic.family === 'ipv4' || s.rules4.length > 0;
  const lines = [
    // No duplicate address detection anywhere: link-local addresses (used by
    // neighbour discovery) are usable at once instead of ~1 s later.
    `echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad`,
    ...linkedNamespace(
      { ns: PEER_NS, guestDev: 'veth0', nsDev: 'veth1', guest: t.guest, other: t.peer, ...(v4 ? { guest4: t.guest4, other4: t.peer4 } : {}) },
      // The remote addresses on the peer's lo.
      [t.remote ? `addr add ${shWord(t.remote)} dev lo` : '', v4 && t.remote4 ? `addr add ${shWord(t.remote4)} dev lo` : ''],
    ),
    t.defaultRoute ? `ip -6 route add default via ${shWord(hostOf(t.peer))} dev veth0` : '',
    t.defaultRoute && v4 ? `ip -4 route add default via ${shWord(hostOf(t.peer4))} dev veth0` : '',
  ].filter(Boolean);
  if (t.router) lines.push(...routerLines(s, v4));
  // A closed TCP connection would keep a TIME_WAIT socket for 60 s: counted
  // as kept objects, and its port unusable. Off in every namespace (a setup
  // command can turn it back on); connections still close with FIN both ways.
  if (s.traffic.protocol === 'tcp')
    for (const ns of ['', PEER_NS, ...(t.router ? [FAR_NS] : [])])
      lines.push(`${ns ? `ip netns exec ${ns} ` : ''}sh -c 'echo 0 > /proc/sys/net/ipv4/tcp_max_tw_buckets'`);
  const steps: Step[] = [{ name: 'topology', script: lines.join('\n') }];
  for (const r of s.rules) steps.push({ name: `ip -6 rule add ${r}`, script: `ip -6 rule add ${r}` });
  for (const r of s.rules4) steps.push({ name: `ip -4 rule add ${r}`, script: `ip -4 rule add ${r}` });
  for (const r of s.routes) steps.push({ name: `ip -6 route add ${r}`, script: `ip -6 route add ${r}` });
  if (s.firewall.nft) steps.push({ name: 'nft ruleset', script: `printf '%s\\n' ${shQuote(s.firewall.nft)} > /tmp/leaklab.nft && nft -f /tmp/leaklab.nft` });
  for (const l of s.firewall.ip6tables) steps.push({ name: `ip6tables ${l}`, script: `ip6tables ${l}` });
  s.setup.forEach((c, i) => steps.push(setupCommand(c, i, s.setupTimeout)));
  return steps;
}

/**
 * The router's far side: namespace `far` on veth2 (guest) / veth3 (far),
 * forwarding on in the guest, peer and far with default routes via the
 * guest, so traffic between them crosses the guest's forwarding path (its
 * rules, routes and firewall).
 */
function routerLines(s: Scenario, v4: boolean): string[] {
  const t = s.topology;
  return [
    ...linkedNamespace({
      ns: FAR_NS,
      guestDev: 'veth2',
      nsDev: 'veth3',
      guest: t.guestFar,
      other: t.far,
      ...(v4 ? { guest4: t.guestFar4, other4: t.far4 } : {}),
    }),
    `echo 1 > /proc/sys/net/ipv6/conf/all/forwarding`,
    v4 ? `echo 1 > /proc/sys/net/ipv4/ip_forward` : '',
    `ip -n ${PEER_NS} -6 route add default via ${shWord(hostOf(t.guest))} dev veth1`,
    `ip -n ${FAR_NS} -6 route add default via ${shWord(hostOf(t.guestFar))} dev veth3`,
    v4 ? `ip -n ${PEER_NS} -4 route add default via ${shWord(hostOf(t.guest4))} dev veth1` : '',
    v4 ? `ip -n ${FAR_NS} -4 route add default via ${shWord(hostOf(t.guestFar4))} dev veth3` : '',
  ].filter(Boolean);
}

/** A namespace joined to the guest by a veth pair: its end and the guest's, their addresses (IPv4 when given), both links up. */
interface Link {
  ns: string;
  guestDev: string;
  nsDev: string;
  guest: string;
  other: string;
  guest4?: string;
  other4?: string;
}

function linkedNamespace(l: Link, nsAddresses: string[] = []): string[] {
  return [
    // Its stderr only when it fails: on kernels without file locking (tinyconfig)
    // it warns "could not flock netns runtime directory" and carries on, and that
    // line would top every later step's error in this phase.
    `ip netns add ${l.ns} 2>/tmp/leaklab.netns-add || { rc=$?; cat /tmp/leaklab.netns-add >&2; exit $rc; }`,
    `ip netns exec ${l.ns} sh -c 'echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad'`,
    // The guest's side in one ip and the namespace's in another (ip -batch):
    // each ip costs ~60 ms under TCG, a line of a batch next to nothing.
    // Addresses are typed by the scenario's schema, so each line's family is
    // the address's own (a batch line takes no -6).
    // The veth pair is made here, then one end moved: made straight into the
    // namespace, both ends get ifindex 2, and the kernel's link watcher then
    // treats the other end's carrier change as not urgent and batches it for
    // up to 1 s, during which the first packets wait (found in containers,
    // where only lo exists).
    ipBatch('', [
      `link add ${l.guestDev} type veth peer name ${l.nsDev}`,
      `link set ${l.nsDev} netns ${l.ns}`,
      // nodad: addresses are usable at once instead of after duplicate detection.
      `addr add ${shWord(l.guest)} dev ${l.guestDev} nodad`,
      l.guest4 ? `addr add ${shWord(l.guest4)} dev ${l.guestDev}` : '',
      `link set ${l.guestDev} up`,
    ]),
    ipBatch(l.ns, [
      'link set lo up',
      `addr add ${shWord(l.other)} dev ${l.nsDev} nodad`,
      l.other4 ? `addr add ${shWord(l.other4)} dev ${l.nsDev}` : '',
      ...nsAddresses,
      `link set ${l.nsDev} up`,
    ]),
    // Packets sent before the kernel marks both ends up are held or dropped: wait (5 s at most each).
    operstateUp(l.guestDev),
    // ip netns exec mounts the namespace's own /sys, where its end is.
    `ip netns exec ${l.ns} sh -ec ${shQuote(operstateUp(l.nsDev))}`,
  ].filter(Boolean);
}

/** One ip for many commands (in namespace `ns`, or the guest's own for ''); ip names the failing line ("Command failed -:3"). */
function ipBatch(ns: string, lines: string[]): string {
  return [`ip ${ns ? `-n ${ns} ` : ''}-batch - <<'LEAKLAB_IP_BATCH'`, ...lines.filter(Boolean), 'LEAKLAB_IP_BATCH'].join('\n');
}

/** The exit code of a setup command that was cut off (as coreutils' timeout says it). */
const TIMED_OUT = 124;

/**
 * A setup command, stopped after `seconds` with all it started: a command
 * that hangs fails the run naming itself instead of waiting out the guest's
 * limit. The command runs in a session of its own, which a watcher signals
 * whole (SIGTERM, SIGKILL 5 s later): the guest's timeout is busybox's,
 * which signals the command alone and would leave what it started running
 * (and holding the phase's output open). The watcher is a subshell, ended
 * by its pid as soon as the command ends: a pid that exists from the moment
 * it is started (a session of its own would exist only once set up), so it
 * never fires late. Its sleep may outlive it, holding nothing.
 */
function setupCommand(command: string, i: number, seconds: number): Step {
  const flag = '/tmp/leaklab-timed-out.$leaklab_cmd';
  const script = [
    `setsid sh -c ${shQuote(command)} & leaklab_cmd=$!`,
    `(sleep ${seconds} && : > ${flag} && kill -TERM -$leaklab_cmd && sleep 5 && kill -KILL -$leaklab_cmd) >/dev/null 2>&1 & leaklab_watcher=$!`,
    'leaklab_rc=0; wait $leaklab_cmd || leaklab_rc=$?',
    'kill $leaklab_watcher 2>/dev/null || :',
    `! rm ${flag} 2>/dev/null || leaklab_rc=${TIMED_OUT}`,
    '[ $leaklab_rc -eq 0 ] || exit $leaklab_rc',
  ].join('\n');
  return {
    name: `setup[${i}]: ${command}`,
    script,
    failure: (output, code) =>
      code === TIMED_OUT
        ? new LeaklabError('scenario', `setup[${i}]: timed out after ${seconds} s`, {
            hint: 'fix the command so that it ends (one that waits for input or runs forever never does), or raise setupTimeout (seconds) in the scenario',
            details: [`command: ${command}`, output.trim()].filter(Boolean).join('\n'),
          })
        : new LeaklabError('scenario', `setting up the guest failed at "setup[${i}]: ${command}" (exit ${code})`, {
            hint: 'check this line of the scenario (setup); the message below is what the guest said',
            details: output,
          }),
  };
}
