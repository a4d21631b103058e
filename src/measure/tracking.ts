// Owns the protocol of the attribution boot (a guest booted with SLUB's
// allocation tracking on for the leaking caches, and kmemleak where the
// kernel has it): the scenario's setup as in the measured run, then
//   kmemleak: clear what boot and setup left (waits out its grace period);
//   flush, settle, sample, read alloc_traces of every tracked cache;
//   one burst, flush, settle, sample, read alloc_traces again;
//   kmemleak: scan twice, read.
// What the readings mean is verdict/attribution.ts's business. Raw output is
// kept in the run directory (attribution/).
import { join } from 'node:path';
import type { Scenario } from '../scenario/scenario.ts';
import type { Guest } from '../guest/guest.ts';
import { PhaseRunner, flushAndSettle } from './phase.ts';
import { setupSteps, burstStep, setupPhaseTimeoutMs } from './protocol.ts';
import { warmupSize } from '../scenario/traffic-plan.ts';
import { unitNames } from '../scenario/unit.ts';
import { allocTracesScript, parseAllocTracesDump, type AllocTrace, type TracesMissing } from '../probe/alloc-traces.ts';
import { kmemleakClearScript, kmemleakReportScript, kmemleakRuns, parseKmemleak, type KmemleakReport } from '../probe/kmemleak.ts';
import { writeOutput, RUNS_DIR_WHERE } from '../util/output.ts';
import type { Context } from '../util/context.ts';

export interface TrackingOptions {
  scope: string;
  /** Where the raw readings go (made by the caller: the guest's console is there too). */
  dir: string;
  /** The caches booted with tracking. */
  tracked: string[];
  /** Packets of the burst. */
  packets: number;
}

/** alloc_traces of every tracked cache before and after the burst, and the packets it brought in. */
export interface TraceReadings {
  before: Record<string, AllocTrace[] | TracesMissing>;
  after: Record<string, AllocTrace[] | TracesMissing>;
  packets: number;
}

export interface TrackingReadings extends TraceReadings {
  /** undefined: the kernel ran without kmemleak. */
  kmemleak?: KmemleakReport;
}

/** Runs the attribution protocol in a guest booted with tracking; `s` watches the tracked caches. */
export async function readTracking(ctx: Context, s: Scenario, guest: Guest, opts: TrackingOptions): Promise<TrackingReadings> {
  const keep = (name: string, text: string) => writeOutput(join(opts.dir, name), text, RUNS_DIR_WHERE);
  const exec = async (name: string, script: string, timeoutMs = 120_000) => {
    const r = await guest.exec(script, { timeoutMs });
    await keep(name, r.stdout + r.stderr);
    return r.stdout;
  };
  ctx.progress.step(opts.scope, `attribution: setting up, tracking allocations of ${opts.tracked.join(', ')}`);
  // The command line the kernel got (tracking merged with the user's own slub_debug=), for whoever reads the run directory.
  await exec('0-cmdline.txt', 'cat /proc/cmdline');
  const phases = new PhaseRunner(s, guest);
  await phases.runOne([...setupSteps(s, warmupSize(opts.packets)), ...flushAndSettle()], join(opts.dir, '0-setup.txt'), {
    listAliases: true,
    timeoutMs: setupPhaseTimeoutMs(s),
  });
  const kmemleak = kmemleakRuns(await exec('1-kmemleak-clear.txt', kmemleakClearScript()));
  const { sample: before } = await phases.runOne(flushAndSettle(), join(opts.dir, '2-before.txt'));
  const tracesBefore = parseAllocTracesDump(await exec('2-alloc_traces.txt', allocTracesScript(opts.tracked)));
  ctx.progress.step(opts.scope, `attribution: the workload once more, tracked (${opts.packets} ${unitNames(s.unit.kind).many})`);
  const { sample: after } = await phases.runOne([burstStep(s, 'attribution burst', opts.packets), ...flushAndSettle()], join(opts.dir, '3-after.txt'), {
    timeoutMs: 10 * 60_000,
  });
  const tracesAfter = parseAllocTracesDump(await exec('3-alloc_traces.txt', allocTracesScript(opts.tracked)));
  const report = kmemleak ? parseKmemleak(await exec('4-kmemleak.txt', kmemleakReportScript(), 10 * 60_000)) : undefined;
  return { before: tracesBefore, after: tracesAfter, packets: after.units - before.units, kmemleak: report };
}
