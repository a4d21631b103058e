// Owns what a cell is: one scenario on one guest backend (and, for a backend
// that boots kernels, one catalog kernel), with what the suite, the shards
// and the screen need to know of it without asking which backend it is.
import type { Scenario, Backend } from '../scenario/scenario.ts';

export interface Cell {
  s: Scenario;
  /** The catalog kernel it boots, or the backend's own name when it runs on the host's kernel ("docker"). */
  k: string;
  backend: Backend;
  /** Cells that share a guest kernel, kept together in one shard: the kernel, or the host. */
  group: string;
  /** Where the cell runs, as lists and matrices show it: the kernel, or "host (docker)". */
  where: string;
  /** Its directory in the run directory, unique in a run: a catalog kernel may be named like a backend ("docker"). */
  dir: string;
  /** Columns its result's kernel name may take once known (a host's release is learnt only when it runs). */
  nameWidth: number;
  /** Boots a catalog kernel (prepared before any guest starts), or runs on the host's. */
  bootsKernel: boolean;
  /** Runs with nothing else at the same time: its slab counts are host-wide. */
  alone: boolean;
}
