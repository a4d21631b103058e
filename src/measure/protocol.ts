// Owns the measurement protocol: which phases a run has, in which order,
// how many packets each burst sends, and when to stop sending. It depends
// only on the guest interface (a replay guest serves recorded phases in
// tests). Every sample is taken after a route flush and settling, so the
// change of a count across a phase is what that phase kept:
//
//   setup:    topology, rules, firewall, setup commands, one answered
//             echo, a small warm-up burst (what first traffic allocates
//             once is not a leak), flush, settle -> a sample not used by
//             the statistics (objects of the setup are still being freed:
//             seen under TCG, 10 ip6_dst_cache objects after the settling)
//   baseline: flush, settle, sample: where the statistics start
//   idle:     flush, settle, sample (no traffic: the noise and drift at rest)
//   then per burst: [mid-run changes], burst, flush, settle -> sample,
//          followed by an idle phase.
//
// Phases with no decision between them share one guest command: the setup
// with the baseline and the first idle phase, then each burst with its idle
// phase (a run until decided looks at the statistics after each pair).
//
// With `traffic.packets` the bursts split that count; with
// `traffic.maxPackets` bursts go on (100, 100, 200, 400, ...) until
// `decided()` says the statistics have an answer or the budget is spent.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scenario } from '../scenario/scenario.ts';
import { unitNames, objPer } from '../scenario/unit.ts';
import type { Guest } from '../guest/guest.ts';
import { topologySteps } from '../network/topology.ts';
import { burstScript, reachabilityScript, destination } from '../network/traffic.ts';
import { burstSizes, sequentialSizes, warmupSize } from '../scenario/traffic-plan.ts';
import type { Sample } from '../probe/slab.ts';
import { cachesOf } from '../probe/probe.ts';
import { PhaseRunner, flushAndSettle, PHASE_TIMEOUT_MS, type Step } from './phase.ts';
import { LeaklabError } from '../util/errors.ts';
import { writingTo, RUNS_DIR_WHERE } from '../util/output.ts';
import type { Context } from '../util/context.ts';

export type PhaseKind = 'setup' | 'baseline' | 'idle' | 'traffic';

export interface PhaseRecord {
  kind: PhaseKind;
  /** 0 before any mid-run change, i after the i-th. */
  segment: number;
  /** Packets the burst sent (0 for other phases); received packets are in the sample. */
  sent: number;
  /** Counts after the flush and settling. */
  sample: Sample;
  /** Seconds the phase took on the guest's clock: its steps (e.g. the burst), the flush, the settling and the sample. */
  seconds: number;
  /** Seconds the burst alone took on the guest's clock (traffic phases): the packet rate the run reached. */
  burstSeconds?: number;
}

export interface Measurement {
  /** setup, baseline, idle, then traffic and idle by turns. */
  phases: PhaseRecord[];
  /** fixed: traffic.packets were sent; decided: the statistics stopped the traffic; budget: maxPackets spent. */
  stop: 'fixed' | 'decided' | 'budget';
  /** How many times the statistics may look at the data (1 for a fixed count): each look is a test they pay for. */
  looks: number;
}

/** A phase before it runs: what it sends and its steps (the flush and settling are added to every phase). */
interface PlannedPhase {
  kind: PhaseKind;
  segment: number;
  sent: number;
  steps: Step[];
  listAliases?: boolean;
  timeoutMs?: number;
}

export interface MeasureOptions {
  scope: string;
  runDir: string;
  /** Packets of a fixed run, or the budget of a run until decided (containers send more; see traffic.packetsInContainer). */
  packets: number;
  untilDecided: boolean;
  /** Asked after each burst of a run until decided: true ends the traffic. */
  decided?: (m: Measurement) => boolean;
}

/** The burst sizes a run will send (until decided: at most these). */
export function plannedBursts(s: Scenario, opts: Pick<MeasureOptions, 'packets' | 'untilDecided'>): number[] {
  return opts.untilDecided ? sequentialSizes(opts.packets) : burstSizes(opts.packets, s.traffic.bursts);
}

/** The phases the statistics use: from the baseline on. */
export function measuredPhases(m: Measurement): PhaseRecord[] {
  return m.phases.slice(m.phases.findIndex((p) => p.kind === 'baseline'));
}

/** Looks the statistics take: one per burst from the second on when traffic goes until decided. */
export function plannedLooks(sizes: number[], untilDecided: boolean): number {
  return untilDecided ? Math.max(1, sizes.length - 1) : 1;
}

export async function measure(ctx: Context, s: Scenario, guest: Guest, opts: MeasureOptions): Promise<Measurement> {
  const raw = join(opts.runDir, 'samples');
  await writingTo(raw, RUNS_DIR_WHERE, () => mkdir(raw, { recursive: true }));
  const sizes = plannedBursts(s, opts);
  const m: Measurement = { phases: [], stop: opts.untilDecided ? 'budget' : 'fixed', looks: plannedLooks(sizes, opts.untilDecided) };
  const phases = new PhaseRunner(s, guest);
  const file = (kind: PhaseKind, offset: number) => join(raw, `${String(m.phases.length + offset).padStart(2, '0')}-${kind}.txt`);
  // Phases with no decision between them run as one guest command: the setup with the baseline and the first idle
  // phase, then each burst with the idle phase after it.
  const settled = async (planned: PlannedPhase[]) => {
    const outcomes = await phases.run(
      planned.map((p, i) => ({ steps: [...p.steps, ...flushAndSettle()], rawFile: file(p.kind, i), listAliases: p.listAliases, timeoutMs: p.timeoutMs })),
    );
    for (const [i, p] of planned.entries()) {
      const { sample, timedSeconds, seconds } = outcomes[i];
      m.phases.push({
        kind: p.kind,
        segment: p.segment,
        sent: p.sent,
        sample,
        seconds: seconds ?? 0,
        burstSeconds: p.kind === 'traffic' ? timedSeconds : undefined,
      });
    }
    return outcomes.map((o) => o.sample);
  };
  const quiet = (kind: PhaseKind, segment: number): PlannedPhase => ({ kind, segment, sent: 0, steps: [] });

  const endSetup = showSetup(ctx, s, opts.scope);
  let baseline: Sample;
  try {
    [, baseline] = await settled([
      { kind: 'setup', segment: 0, sent: 0, steps: setupSteps(s, warmupSize(sizes[0])), listAliases: true, timeoutMs: setupPhaseTimeoutMs(s) },
      quiet('baseline', 0),
      quiet('idle', 0),
    ]);
  } finally {
    endSetup();
  }
  const task = ctx.progress.task(opts.scope, sizes.length);
  try {
    let segment = 0;
    let soFar = '';
    for (const [i, count] of sizes.entries()) {
      // The live line: what is being sent, and what the bursts before kept (the estimate's raw material).
      task.update(i, `burst ${i + 1}/${sizes.length} (${count} ${unitNames(s.unit.kind).many})${soFar}`);
      // Mid-run changes (e.g. a workaround) go in right before the next burst.
      const changes: Step[] = s.changes.filter((c) => c.afterBurst === i).map((c) => ({ name: `change "${c.name}"`, script: c.run }));
      for (const c of changes) ctx.progress.step(opts.scope, `applying ${c.name}`);
      segment += changes.length;
      const [smp] = await settled([
        { kind: 'traffic', segment, sent: count, steps: [...changes, burstStep(s, `burst ${i + 1}`, count)], timeoutMs: 10 * 60_000 },
        quiet('idle', segment),
      ]);
      ctx.progress.detail(
        opts.scope,
        `burst ${i + 1}/${sizes.length}: ${smp.units - baseline.units} ${unitNames(s.unit.kind).counted}, ${keptSoFar(s, baseline, smp)}`,
      );
      // Short: a terminal cuts a live line at its width, and the scope and bar take most of 120 columns.
      soFar = `, ${liveEstimate(s, baseline, smp)}`;
      if (opts.untilDecided && i >= 1 && opts.decided?.(m)) {
        m.stop = 'decided';
        break;
      }
    }
  } finally {
    task.end();
  }
  return m;
}

/** What progress follows after a burst: the first watched cache, or (a survey) the one that kept the most so far, and how many it kept. */
function followed(s: Scenario, baseline: Sample, now: Sample): { cache?: string; kept: number } {
  const kept = (c: string) => (now.caches[c]?.objects ?? 0) - (baseline.caches[c]?.objects ?? 0);
  const cache = s.survey ? cachesOf(s, [baseline, now]).sort((a, b) => kept(b) - kept(a))[0] : s.watch[0];
  return { cache, kept: cache === undefined ? 0 : kept(cache) };
}

/**
 * The live line's figure after a burst: the rate the objects kept so far
 * make ("~1 obj/packet"; the objects themselves before any unit was
 * counted). A raw ratio for the eye, not the verdict: the statistics weigh
 * the idle phases' noise and decide at the end. Short: with the scope, the
 * bar and the burst it must fit 120 columns.
 */
export function liveEstimate(s: Scenario, baseline: Sample, now: Sample): string {
  const { kept } = followed(s, baseline, now);
  const units = now.units - baseline.units;
  return units > 0 ? `~${Number((kept / units).toPrecision(2))} ${objPer(s.unit.kind)}` : `${kept} kept`;
}

/** What progress shows after a burst: the first watched cache's objects kept, or (a survey) the cache that kept the most, and the rate so far. */
export function keptSoFar(s: Scenario, baseline: Sample, now: Sample): string {
  const { cache, kept } = followed(s, baseline, now);
  if (cache === undefined) return 'no slab cache seen';
  // The rate too: a log (CI) gets this line after every burst, and the live line only every 15 s.
  const rate = now.units > baseline.units ? ` (${liveEstimate(s, baseline, now)})` : '';
  return s.survey ? `most kept so far: ${cache} ${kept} objects${rate}` : `${cache} ${kept} objects kept so far${rate}`;
}

/** A phase may take 2 minutes (PHASE_TIMEOUT_MS); the setup phase also each setup command's own limit (and the 5 s from its SIGTERM to its SIGKILL). */
export function setupPhaseTimeoutMs(s: Scenario): number {
  return PHASE_TIMEOUT_MS + s.setup.length * (s.setupTimeout + 5) * 1000;
}

/** Shows the setup phase as running (with the scenario's setup commands, the part that can hang); returns the function that ends it. */
function showSetup(ctx: Context, s: Scenario, scope: string): () => void {
  const n = s.setup.length;
  const what = `setting up the guest${n === 0 ? '' : ` with setup[0${n > 1 ? `..${n - 1}` : ''}] (at most ${s.setupTimeout} s each)`}`;
  const limitMs = setupPhaseTimeoutMs(s);
  ctx.progress.detail(scope, what);
  return ctx.progress.timedTask(scope, limitMs, (ms) => `${what}: ${Math.round(ms / 1000)} s of ${limitMs / 1000} s allowed`);
}

/** What the setup phase runs before its flush: topology, rules, firewall, setup commands, one answered echo, a warm-up burst. */
export function setupSteps(s: Scenario, warmup: number): Step[] {
  // A program sends nothing that must arrive: no reachability check.
  return [...topologySteps(s), ...(s.workload ? [] : [reachStep(s)]), burstStep(s, 'warm-up', warmup)];
}

function reachStep(s: Scenario): Step {
  return {
    name: 'reachability',
    script: reachabilityScript(s),
    failure: (output) =>
      new LeaklabError('scenario', `traffic does not reach ${destination(s)}: one echo request got no reply`, {
        hint: 'check topology, rules and firewall: a ruleset that drops the replies leaves nothing to measure',
        details: output,
      }),
  };
}

export function burstStep(s: Scenario, name: string, count: number): Step {
  return {
    name,
    timed: true,
    script: burstScript(s, count),
    failure: (output, code) => (s.workload ? programFailure(s, name, output) : trafficFailure(name, output, code)),
  };
}

function trafficFailure(name: string, output: string, code: number): LeaklabError {
  return new LeaklabError('guest', `traffic ${name} failed (exit ${code})`, {
    hint: 'check traffic: in the scenario; the message below is what the sender said',
    details: output,
  });
}

/** A run of the scenario's program that failed, crashed or hung: the scenario's error, in the runner's words ("run 3 of 500 was killed by signal 11"). */
function programFailure(s: Scenario, name: string, output: string): LeaklabError {
  const said = /leaklab-run: (.*)/.exec(output)?.[1] ?? 'the runner failed';
  const hung = /hung/.test(said);
  return new LeaklabError('scenario', `the program ${s.workload!.program} failed in ${name}: ${said}`, {
    hint: hung
      ? 'a run must end within workload.timeout seconds: fix the program, or raise workload.timeout'
      : 'every run must exit 0 (an iteration is a run that did): fix the program or its args; what it printed is below',
    details: output,
  });
}
