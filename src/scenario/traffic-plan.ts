// Owns how a scenario's packets are cut into bursts: a fixed count split
// evenly, or the schedule of traffic until decided (maxPackets), and the
// warm-up sent before the baseline. The loader checks budgets against it,
// the measurement protocol sends by it.

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
