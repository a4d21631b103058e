// Owns one bisect step: build (or fetch) a kernel, run the scenario on it
// until the runs agree, and say which side of the change it is on. A kernel
// that does not build is "skip"; runs that contradict each other are
// "flaky", runs that stay inconclusive (each retry with more packets)
// "inconclusive"; a run without a verdict (boot failure, guest not answering) is an
// infrastructure failure that stops the bisect: never read as "no leak".
import { unitNames } from '../scenario/unit.ts';
import { join } from 'node:path';
import type { CatalogKernel } from '../kernel/catalog.ts';
import { prepareKernel } from '../kernel/prepare.ts';
import type { Requirement } from '../kernel/requirements.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { withMorePackets } from '../scenario/traffic-plan.ts';
import { runScenarioOnKernel } from '../run/run-scenario.ts';
import { errorOfResult, type FailedResult } from '../run/result.ts';
import { LeaklabError } from '../util/errors.ts';
import { throwIfAborted, type Context } from '../util/context.ts';
import { rateFigures } from '../verdict/figures.ts';
import { agreement } from '../verdict/agreement.ts';
import type { Verdict } from '../verdict/verdict.ts';

export type StepState = 'leak' | 'no-leak' | 'skip' | 'flaky' | 'inconclusive';

export interface StepResult {
  kernel: string;
  /** For commit bisects. */
  commit?: string;
  state: StepState;
  /** Why a step was skipped (the build error) or is flaky (the counts). */
  why?: string;
  /** Objects kept per packet, one per run with a verdict. */
  rates: number[];
  /** Each run's deciding figures as printed: "+0.0010 obj/packet [0.0007, 0.0013]" or "< 0.00013 obj/packet at 95 %". */
  figures: string[];
  verdicts: string[];
  bzImageSha256?: string;
  runDirs: string[];
}

export interface JudgeOptions {
  scenario: Scenario;
  requirements: Requirement[];
  /** Runs that must agree (default 1). */
  runs: number;
  /** Extra runs allowed when a run is inconclusive. */
  retries: number;
  runDir: string;
}

export async function judgeKernel(ctx: Context, k: CatalogKernel, opts: JudgeOptions, commit?: string): Promise<StepResult> {
  throwIfAborted(ctx.signal);
  const step: StepResult = { kernel: k.name, commit, state: 'skip', rates: [], figures: [], verdicts: [], runDirs: [] };
  let artifact: KernelArtifact;
  try {
    artifact = await prepareKernel(ctx, k, opts.requirements);
  } catch (err) {
    // Only a failed build (or a patch that does not apply) is skippable.
    if (!(err instanceof LeaklabError) || err.kind !== 'kernel-build') throw err;
    ctx.progress.step('bisect', `${k.name} does not build: skipped (${err.message})`);
    return { ...step, why: err.message + (err.details ? `\n${err.details}` : '') };
  }
  step.bzImageSha256 = artifact.provenance.bzImageSha256;
  let scenario = opts.scenario;
  const verdicts: Verdict[] = [];
  const count = (kind: string) => verdicts.filter((v) => v.verdict === kind).length;
  for (let attempt = 1; attempt <= opts.runs + opts.retries && !stepDecision(verdicts, opts.runs); attempt++) {
    throwIfAborted(ctx.signal);
    const runDir = join(opts.runDir, k.name, `run-${attempt}`);
    const r = await runScenarioOnKernel(ctx, scenario, artifact, runDir);
    step.runDirs.push(runDir);
    if (r.error) throw infrastructureFailure(k, r);
    const v = r.verdict;
    verdicts.push(v);
    step.verdicts.push(v.verdict);
    step.rates.push(v.deciding.estimate.rate);
    step.figures.push(rateFigures(v));
    ctx.progress.step('bisect', `${k.name}: run ${attempt}: ${v.verdict} ${rateFigures(v)}`);
    // An undecided run is never settled by asking again the same way: the next run gets more packets.
    if (v.verdict === 'inconclusive') {
      const more = withMorePackets(scenario, v.packetsToDecide);
      if (more.traffic.packets <= scenario.traffic.packets) break; // already what a guest can send: more runs would be the same run
      scenario = more;
      ctx.progress.step(
        'bisect',
        `${k.name}: inconclusive; the next run does ${scenario.traffic.packets} ${unitNames(scenario.unit.kind).many}${scenario.traffic.untilDecided ? ' at most' : ''}`,
      );
    }
  }
  const counts = `${count('leak')} leak, ${count('no-leak')} no leak, ${count('inconclusive')} inconclusive in ${verdicts.length} runs`;
  const decision = stepDecision(verdicts, opts.runs);
  if (decision === 'flaky') return { ...step, state: 'flaky', why: counts };
  // Not enough agreeing verdicts, and nothing contradicting: the kernel could not be judged.
  return decision ? { ...step, state: decision } : { ...step, state: 'inconclusive', why: counts };
}

/**
 * What a step's runs so far decide, or undefined while more runs are needed.
 * Inconclusive runs say nothing either way; the decided ones follow
 * validate-patch's rule (verdict/agreement.ts): a kernel that leaks at any
 * significant rate leaks once `runs` runs say so, and a clean run that could
 * not have seen the leak does not count against it.
 */
export function stepDecision(verdicts: Verdict[], runs: number): 'leak' | 'no-leak' | 'flaky' | undefined {
  const a = agreement(verdicts.filter((v) => v.verdict !== 'inconclusive'));
  const n = verdicts.filter((v) => v.verdict === a).length;
  if (a === 'flaky') return 'flaky';
  if ((a === 'leak' || a === 'no-leak') && n >= runs) return a;
  return undefined;
}

function infrastructureFailure(k: CatalogKernel, r: FailedResult): LeaklabError {
  const e = errorOfResult(r, `bisect stopped: ${k.name} gave no verdict (${r.error.message}); a kernel that does not boot or answer is not read as "no leak"`);
  return new LeaklabError(e.kind, e.message, { hint: e.hint ?? `look at ${r.runDir}/console.log`, details: e.details });
}
