// Owns running one variant of a scenario on the kernel under study and
// reading its verdict for minimize: does the leak still show (in the caches
// it showed in), has it gone, or can this run not tell (inconclusive after a
// retry with more packets, no verdict at all, a kernel without what the
// variant needs). A run that cannot tell is never read as "gone".
import { unitNames } from '../scenario/unit.ts';
import { join } from 'node:path';
import type { Scenario } from '../scenario/scenario.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import { scenarioRequirements, readKernelConfig, missingRequirements } from '../kernel/requirements.ts';
import { withMorePackets } from '../scenario/traffic-plan.ts';
import { runScenarioOnKernel } from '../run/run-scenario.ts';
import { rateFigures, LABEL } from '../verdict/figures.ts';
import { leakingCaches, type Verdict, type CacheVerdict } from '../verdict/verdict.ts';
import type { Context } from '../util/context.ts';

export type VariantState = 'leak' | 'no-leak' | 'undecided';

export interface VariantRun {
  scenario: string;
  file: string;
  /** Its run directories, one per attempt. */
  runDirs: string[];
  state: VariantState;
  /** "LEAK +1.00 obj/packet [0.95, 1.05]", "no leak < 0.00050 obj/packet at 95 %", or why it cannot tell. */
  figures: string;
  /** Objects kept per packet in the cache read (none without a verdict). */
  rate?: number;
  cache?: string;
  /** Every cache the variant leaks in (the scenario as given: where the leak shows). */
  leaking?: string[];
  units?: number;
}

export interface VariantOptions {
  kernel: KernelArtifact;
  /** The caches the leak showed in: a variant still leaks when one of them does. None: the variant's own verdict decides. */
  caches: string[];
  /** Extra runs for an inconclusive variant, each with more packets. */
  retries: number;
}

export async function runVariant(ctx: Context, s: Scenario, runDir: string, opts: VariantOptions): Promise<VariantRun> {
  const run: VariantRun = { scenario: s.name, file: s.file, runDirs: [], state: 'undecided', figures: '' };
  const missing = await unmetNeeds(s, opts.kernel);
  if (missing) return { ...run, figures: `not run: ${missing}` };
  let scenario = s;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    const dir = attempt === 0 ? runDir : `${runDir}-retry-${attempt}`;
    run.runDirs.push(dir);
    const r = await runScenarioOnKernel(ctx, scenario, opts.kernel, dir);
    if (r.error) return { ...run, figures: `no verdict: ${r.error.message} (${join(dir, 'console.log')})` };
    const read = readVerdict(r.verdict, opts.caches);
    Object.assign(run, read, { units: r.verdict.units, leaking: leakingCaches(r.verdict).map((c) => c.cache) });
    if (read.state !== 'undecided') return run;
    const more = withMorePackets(scenario, r.verdict.packetsToDecide);
    if (more.traffic.packets <= scenario.traffic.packets) break;
    scenario = more;
  }
  return run;
}

/** A kernel without what the variant needs (IPv4 policy routing, say) cannot run it: said, not guessed. */
async function unmetNeeds(s: Scenario, kernel: KernelArtifact): Promise<string | undefined> {
  if (!kernel.configPath) return undefined;
  const missing = missingRequirements(await readKernelConfig(kernel.configPath), scenarioRequirements(s), kernel.modulesDir !== undefined);
  if (missing.length === 0) return undefined;
  return `${kernel.name} lacks ${missing.map((r) => `CONFIG_${r.option} (${r.why})`).join(', ')}`;
}

/**
 * The variant's verdict in the caches the leak showed in: LEAK when one of
 * them leaks, no leak when every one of them is clean, else undecided. A
 * leak elsewhere is another leak, never this one. A survey that never saw
 * any of them had none of their objects in any sample: no leak; a run that
 * watched other caches cannot tell. With no caches given, the variant's own
 * verdict.
 */
export function readVerdict(v: Verdict, caches: string[]): Pick<VariantRun, 'state' | 'figures' | 'rate' | 'cache'> {
  const seen = v.caches.filter((c) => caches.some((name) => c.cache === name || c.sharedWith?.includes(name)));
  if (caches.length > 0 && seen.length === 0) {
    const names = caches.join(', ');
    return v.survey
      ? {
          state: 'no-leak',
          figures: `no leak: ${names} never appeared in this run (no object in any sample, ${v.units} ${unitNames(v.unit).many})`,
          rate: 0,
          cache: caches[0],
        }
      : { state: 'undecided', figures: `not measured: this run did not watch ${names}, where the leak showed` };
  }
  const judged = caches.length > 0 ? seen : v.caches;
  const pick = (c: CacheVerdict | undefined) => c && { state: stateOf(c.verdict), figures: cacheFigures(v, c), rate: c.estimate.rate, cache: c.cache };
  const leak = judged.filter((c) => c.verdict === 'leak').sort((a, b) => b.estimate.rate - a.estimate.rate)[0];
  if (leak) return pick(leak)!;
  const unsure = judged.find((c) => c.verdict === 'inconclusive');
  if (unsure) return { ...pick(unsure)!, figures: `${cacheFigures(v, unsure)}: ${unsure.reason}` };
  // Clean everywhere: the figure is the loosest bound, the largest leak any of them could hide.
  return pick([...judged].sort((a, b) => b.estimate.high - a.estimate.high)[0]) ?? { state: 'undecided', figures: 'no cache was measured' };
}

function stateOf(kind: Verdict['verdict']): VariantState {
  return kind === 'inconclusive' ? 'undecided' : kind;
}

/** "LEAK +1.00 obj/packet [0.95, 1.05]" for one cache of a verdict. */
function cacheFigures(v: Verdict, c: CacheVerdict): string {
  return `${LABEL[c.verdict]} ${rateFigures({ ...v, verdict: c.verdict }, c.estimate)}`;
}
