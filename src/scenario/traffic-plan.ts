// Owns how a scenario's packets are cut into bursts: a fixed count split
// evenly, or the schedule of traffic until decided (maxPackets), and the
// warm-up sent before the baseline, the largest count a guest can send, and
// how many packets a retry of an undecided run gets. The loader checks
// budgets against it, the measurement protocol sends by it.
import type { Scenario } from './scenario.ts';

/** Sizes of the bursts of a fixed `traffic.packets`: split as evenly as possible. */
export function burstSizes(packets: number, bursts: number): number[] {
  return Array.from({ length: bursts }, (_, i) => Math.floor(packets / bursts) + (i < packets % bursts ? 1 : 0));
}

/** The first bursts of traffic until decided: a leak of one object per packet is decided after these two. */
export const FIRST_BURST = 100;

/**
 * Burst sizes for traffic until decided (`traffic.maxPackets`): 100, 100,
 * then doubling, the last one cut to the budget. Doubling keeps the number
 * of looks (each one a test the statistics pay for) logarithmic in the budget.
 */
export function sequentialSizes(budget: number, first = FIRST_BURST): number[] {
  const sizes: number[] = [];
  let sent = 0;
  for (let next = first; sent < budget; next = sizes.length < 2 ? first : next * 2) {
    const n = Math.min(next, budget - sent);
    sizes.push(n);
    sent += n;
  }
  return sizes;
}

/** Packets sent before the baseline sample: what the first traffic allocates once (neighbours, cached routes) is not a leak. */
export function warmupSize(firstBurst: number): number {
  return Math.max(1, Math.min(50, firstBurst));
}

/** Packets/s a busy TCG guest still reaches with the slowest generator (ping -f of one round trip at a time). */
export const WORST_RATE = 2000;
/** The largest burst a guest command can send within its 10-minute limit at that rate. */
export const MAX_BURST = WORST_RATE * 600;

/**
 * The largest budget of traffic until decided whose bursts all fit the
 * limit: every doubling burst up to MAX_BURST, then a last one cut to it.
 */
export function maxBudget(): number {
  let sum = 0;
  for (let next = FIRST_BURST, n = 0; next <= MAX_BURST; n++, next = n < 2 ? FIRST_BURST : next * 2) sum += next;
  return sum + MAX_BURST;
}

/**
 * The scenario a retry of an inconclusive run uses: at least twice the
 * packets (or budget), or what the last interval said would decide it with
 * a fifth more for luck; never more than a guest can send.
 */
export function withMorePackets(s: Scenario, packetsToDecide?: number): Scenario {
  const cap = s.traffic.untilDecided ? maxBudget() : MAX_BURST * s.traffic.bursts;
  const wanted = Math.max(2 * s.traffic.packets, Math.ceil(1.2 * (packetsToDecide ?? 0)));
  // Never fewer than the run it retries: at the cap it is the same run (the caller stops retrying then).
  const packets = Math.max(s.traffic.packets, Math.min(cap, wanted));
  return { ...s, traffic: { ...s.traffic, packets } };
}
