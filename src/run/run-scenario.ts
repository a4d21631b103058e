// Owns running one scenario in one guest, for any backend: prepare the
// guest (guest/<backend>/prepare.ts), start it, measure (measure/protocol.ts),
// judge, and stop it whatever happens; the result says what ran where and
// how long each step took. Backends differ only behind the port
// (guest/guest.ts): here there is one lifecycle.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scenario } from '../scenario/scenario.ts';
import { expectationFor } from '../scenario/scenario.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import type { Guest } from '../guest/guest.ts';
import { BACKENDS, type PrepareInput } from './backends.ts';
import type { Cell } from './cell.ts';
import { measure, type Measurement } from '../measure/protocol.ts';
import { judge, meetsExpectation, isDecided } from '../verdict/verdict.ts';
import { cellName, resultError, type RunResult, type CellInfo, type JudgedResult } from './result.ts';
import { wantsAttribution, attributionBoot, failedAttribution } from './attribution-boot.ts';
import { LeaklabError } from '../util/errors.ts';
import { writeOutput, writingTo, RUNS_DIR_WHERE } from '../util/output.ts';
import type { Context } from '../util/context.ts';

/** One scenario in a QEMU guest booting a prepared kernel (validate-patch and bisect judge kernels this way: verdicts only, no attribution boot). */
export function runScenarioOnKernel(ctx: Context, s: Scenario, kernel: KernelArtifact, runDir: string): Promise<RunResult> {
  const [cell] = BACKENDS.qemu.cells({ ...s, attribute: false }, [kernel.name]);
  return runCell(ctx, cell, { kernel, runDir, runId: '' });
}

/**
 * One cell, on any backend: prepare its guest behind the port, start it,
 * measure, judge, and stop it whatever happens. A container's slab counts are
 * host-wide: the host's own churn shows as noise and drift in the same
 * statistics, which widen the interval instead of guessing.
 */
export async function runCell(ctx: Context, cell: Cell, input: PrepareInput): Promise<RunResult> {
  const { s, backend } = cell;
  const adapter = BACKENDS[backend];
  const { kernel, runDir } = input;
  const t0 = Date.now();
  const info: CellInfo = {
    scenario: s.name,
    scenarioFile: s.file,
    kernel: adapter.kernelBeforeStart(cell),
    backend,
    runDir,
    release: kernel?.release,
    provenance: kernel?.provenance,
    troubles: [],
    seconds: { prepare: 0, boot: 0, measure: 0, total: 0 },
  };
  await writingTo(runDir, RUNS_DIR_WHERE, () => mkdir(runDir, { recursive: true }));
  let guest: Guest | undefined;
  let samples: Measurement | undefined;
  let verdictOf: JudgedResult | undefined;
  let error: LeaklabError | undefined;
  try {
    const prepared = await adapter.prepare(ctx, s, input);
    info.kernel = prepared.kernel;
    info.release = prepared.release ?? info.release;
    info.provenance = prepared.provenance;
    info.seconds.prepare = (Date.now() - t0) / 1000;
    const scope = `${s.name} on ${cellName(info)}`;
    const tStart = Date.now();
    guest = await prepared.start(scope);
    info.seconds.boot = (Date.now() - tStart) / 1000;
    info.release = (await guest.exec('uname -r')).stdout.trim() || info.release;
    // Which boot the guest's state comes from is part of how the numbers were made.
    if (guest.bootSnapshot) info.provenance = { ...info.provenance, bootSnapshot: guest.bootSnapshot };
    const how = guest.bootSnapshot ? `; restored from boot snapshot ${guest.bootSnapshot.slice(0, 12)}` : '';
    ctx.progress.detail(scope, `${prepared.noun} up in ${info.seconds.boot.toFixed(1)} s (kernel ${info.release}${how})`);
    const tMeasure = Date.now();
    samples = await measure(ctx, s, guest, { scope, runDir, packets: prepared.packets, untilDecided: s.traffic.untilDecided, decided: (m) => isDecided(s, m) });
    info.seconds.measure = (Date.now() - tMeasure) / 1000;
    info.troubles = await guest.troubles();
    verdictOf = judged(s, info, samples);
    // A kernel that panicked (even after the last sample) gives no verdict.
    if (await guest.panicked()) {
      throw new LeaklabError('guest', `${info.kernel}: the kernel panicked during the run`, {
        hint: guest.consolePath ? `read the console log ${guest.consolePath}` : undefined,
        details: info.troubles.join('\n'),
      });
    }
    if (wantsAttribution(cell, verdictOf.verdict)) {
      await guest.stop();
      const tAttr = Date.now();
      verdictOf.attribution = await attributionBoot(ctx, cell, input, verdictOf.verdict, samples).catch((err: unknown) => {
        // A failed attribution boot is a note beside the verdict; Ctrl-C still ends the run as interrupted.
        if (!(err instanceof LeaklabError) || err.kind === 'filesystem' || err.kind === 'interrupted') throw err;
        return failedAttribution(verdictOf!.verdict, err);
      });
      info.seconds.attribution = (Date.now() - tAttr) / 1000;
    }
  } catch (err) {
    // Anything else is a leaklab bug: it goes up with its stack, not into a result.
    // A run directory that cannot be written fails every cell alike: it ends the run, with one message.
    if (!(err instanceof LeaklabError) || err.kind === 'filesystem') throw err;
    error = err;
    if (guest) info.troubles = await guest.troubles();
  } finally {
    await guest?.stop().catch((err: unknown) => {
      if (!(err instanceof LeaklabError)) throw err;
      error ??= err;
    });
    info.seconds.total = (Date.now() - t0) / 1000;
    // Written whatever happened (a leaklab bug too): the run directory says what was measured.
    await writeOutput(join(runDir, 'result.json'), JSON.stringify(composed(info, samples, verdictOf, error), null, 2), RUNS_DIR_WHERE);
  }
  return composed(info, samples, verdictOf, error);
}

function composed(info: CellInfo, samples: Measurement | undefined, verdictOf: JudgedResult | undefined, error: LeaklabError | undefined): RunResult {
  if (verdictOf && !error) return { ...verdictOf, ...info };
  return { ...info, error: resultError(error ?? new LeaklabError('guest', 'the run ended without a verdict')), samples };
}

function judged(s: Scenario, info: CellInfo, samples: Measurement): JudgedResult {
  const verdict = judge(s, samples);
  const expectation = expectationFor(s, info.kernel);
  if (!expectation) return { ...info, verdict, samples };
  const m = meetsExpectation(verdict, expectation);
  return { ...info, verdict, samples, expectation, asExpected: m.ok, why: m.why };
}
