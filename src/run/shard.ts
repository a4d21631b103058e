// Owns splitting a suite's cells into shards for CI fan-out: cells that boot
// the same kernel stay together (one build per kernel per job), groups are
// dealt to shards by size, largest first, so the same inputs always give
// the same shards; and the suite's identity, so shard reports can be
// checked to come from one suite before they are merged.
import type { Cell } from './cell.ts';
import { sha256, short } from '../util/hash.ts';
import { LeaklabError } from '../util/errors.ts';

export interface ShardSpec {
  index: number;
  count: number;
}

/** "i/n" with 1 <= i <= n. */
export function parseShard(spec: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new LeaklabError('usage', `--shard ${spec}: give i/n with 1 <= i <= n, e.g. --shard 2/3`, {
      hint: '`leaklab matrix` prints the shards of a suite for a CI matrix',
    });
  }
  return { index, count };
}

/** Cells of each shard, in plan order; shard i is element i-1. */
export function shardCells(cells: Cell[], count: number): Cell[][] {
  const groups = new Map<string, Cell[]>();
  for (const c of cells) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
  // Largest group first (ties by name), each to the shard with the fewest cells (ties: lowest index).
  const ordered = [...groups.entries()].sort(([a, x], [b, y]) => y.length - x.length || a.localeCompare(b));
  const shards: Cell[][] = Array.from({ length: count }, () => []);
  for (const [, group] of ordered) {
    const target = shards.reduce((best, s, i) => (s.length < shards[best].length ? i : best), 0);
    shards[target].push(...group);
  }
  const order = new Map(cells.map((c, i) => [c, i]));
  return shards.map((s) => s.sort((a, b) => order.get(a)! - order.get(b)!));
}

/** Identity of a suite: the cells planned and their scenarios' content (not which shard, not where the files are). */
export function suiteId(cells: Cell[]): string {
  const scenarios = new Map(cells.map((c) => [c.s.name, JSON.stringify({ ...c.s, file: undefined })]));
  return short(sha256('suite-v1', ...cells.map((c) => `${c.s.name}@${c.backend}:${c.k}`), ...[...scenarios.values()].sort()));
}
