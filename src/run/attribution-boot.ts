// Owns the attribution boot of a cell whose verdict is LEAK: one more guest
// on the same kernel, booted with SLUB's allocation tracking for the leaking
// caches (slub_debug=U, merged with the user's own) and kmemleak=on where
// the kernel has it, running measure/tracking.ts's protocol; then the
// growing stacks with file:line from vmlinux (kernel/symbolize.ts). It never
// changes the verdict: when the kernel lacks what it needs, or the boot
// fails, the result says why in a note, and the verdict stands.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scenario } from '../scenario/scenario.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import { readKernelConfig, type KernelConfig } from '../kernel/requirements.ts';
import { sourceLines } from '../kernel/symbolize.ts';
import { withAllocTracking } from '../probe/alloc-traces.ts';
import { readTracking } from '../measure/tracking.ts';
import { leakingCaches, type Verdict } from '../verdict/verdict.ts';
import { attribute, cachesToTrack, framesToPlace, kmemleakWitness, type Attribution } from '../verdict/attribution.ts';
import { BACKENDS, type PrepareInput } from './backends.ts';
import type { Cell } from './cell.ts';
import type { Measurement } from '../measure/protocol.ts';
import { LeaklabError } from '../util/errors.ts';
import { writingTo, RUNS_DIR_WHERE } from '../util/output.ts';
import type { Context } from '../util/context.ts';

/** What the attribution boot needs of a kernel's config, and what each gives. */
const NEEDS: { option: string; why: string; essential: boolean }[] = [
  { option: 'SLUB_DEBUG', why: 'needed to track allocations: slub_debug=U', essential: true },
  { option: 'DEBUG_FS', why: 'needed to read the tracking: /sys/kernel/debug/slab/<cache>/alloc_traces', essential: true },
  { option: 'KALLSYMS', why: 'needed to name the functions of a stack', essential: true },
  { option: 'STACKDEPOT', why: 'needed for whole call stacks: without it, only the allocating function', essential: false },
];

/** Whether this cell's result gets an attribution (a boot, or the note that its backend cannot): a LEAK, asked for (attribute:). */
export function wantsAttribution(cell: Cell, v: Verdict): boolean {
  return cell.s.attribute && v.verdict === 'leak';
}

/** Boots the cell's kernel again with tracking on for the leaking caches and attributes them; failures become notes. */
export async function attributionBoot(ctx: Context, cell: Cell, input: PrepareInput, v: Verdict, m: Measurement): Promise<Attribution> {
  const leaks = leakingCaches(v);
  const tracked = cachesToTrack(leaks);
  const packets = Math.max(...m.phases.filter((p) => p.kind === 'traffic').map((p) => p.sent));
  const empty: Attribution = { packets: 0, tracked, caches: [], notes: [] };
  if (!cell.bootsKernel) {
    return {
      ...empty,
      notes: [`none: tracking is switched on on the kernel command line, which leaklab sets only for the kernels it boots (run the scenario in a QEMU guest)`],
    };
  }
  const config = input.kernel?.configPath ? await readKernelConfig(input.kernel.configPath) : undefined;
  const lacking = config ? NEEDS.filter((n) => !['y', 'm'].includes(config.get(n.option) ?? '')) : [];
  const lacks = (list: typeof NEEDS) => list.map((n) => `CONFIG_${n.option} (${n.why})`).join(', ');
  if (lacking.some((n) => n.essential)) {
    return { ...empty, notes: [`none: the kernel lacks ${lacks(lacking)}; the verdict is given without attribution`] };
  }
  const notes = lacking.length > 0 ? [`partial: the kernel lacks ${lacks(lacking)}`] : [];
  const scope = `${cell.s.name} on ${cell.where} (attribution)`;
  const s = trackingScenario(cell.s, tracked, config);
  const dir = join(input.runDir, 'attribution');
  await writingTo(dir, RUNS_DIR_WHERE, () => mkdir(dir, { recursive: true }));
  const prepared = await BACKENDS[cell.backend].prepare(ctx, s, { ...input, runDir: dir });
  const guest = await prepared.start(scope);
  try {
    const r = await readTracking(ctx, s, guest, { scope, dir, tracked, packets });
    if (await guest.panicked()) throw new LeaklabError('guest', 'the kernel panicked in the attribution boot');
    const lines = await placeFrames(ctx, input.kernel, framesToPlace(r));
    const found = attribute(leaks, r, lines);
    const kmemleak = r.kmemleak ? kmemleakWitness(r.kmemleak, found.caches) : undefined;
    if (!r.kmemleak && config?.get('DEBUG_KMEMLEAK') === 'y') notes.push('kmemleak did not run (booted with kmemleak=on)');
    return { packets: r.packets, tracked, caches: found.caches, kmemleak, notes: [...notes, ...found.notes] };
  } finally {
    await guest.stop();
  }
}

/** The scenario as the attribution boot runs it: the tracked caches watched, tracking (and kmemleak, where built in) on the command line. */
function trackingScenario(s: Scenario, tracked: string[], config: KernelConfig | undefined): Scenario {
  const kmemleak = config?.get('DEBUG_KMEMLEAK') === 'y' ? ['kmemleak=on'] : [];
  return { ...s, watch: tracked, survey: false, guest: { ...s.guest, cmdline: [...withAllocTracking(s.guest.cmdline, tracked), ...kmemleak] } };
}

async function placeFrames(ctx: Context, kernel: KernelArtifact | undefined, frames: string[]): Promise<Map<string, string>> {
  if (!kernel?.vmlinux || frames.length === 0) return new Map();
  return sourceLines(ctx, kernel.vmlinux, frames);
}

/** The attribution of a failed boot: the verdict stands, the note says why there is none. */
export function failedAttribution(v: Verdict, err: LeaklabError): Attribution {
  return {
    packets: 0,
    tracked: cachesToTrack(leakingCaches(v)),
    caches: [],
    notes: [`the attribution boot failed: ${err.message}${err.hint ? ` (${err.hint})` : ''}; the verdict is given without attribution`],
  };
}
