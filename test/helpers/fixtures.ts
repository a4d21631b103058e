// Loads data recorded from real guests (test/fixtures/), so unit tests run
// the real parsers and verdict on what real kernels printed.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.ts';
import { parseSample } from '../../src/probe/slab.ts';
import { parseSampleOf } from '../../src/probe/probe.ts';
import type { Measurement, PhaseKind } from '../../src/measure/protocol.ts';
import type { Scenario } from '../../src/scenario/scenario.ts';
import type { Guest, ExecResult } from '../../src/guest/guest.ts';
import type { RunResult } from '../../src/run/result.ts';
import { judge } from '../../src/verdict/verdict.ts';

export const FIXTURES = join(ROOT, 'test/fixtures');

export function fixture(...parts: string[]): string {
  return readFileSync(join(FIXTURES, ...parts), 'utf8');
}

/** The raw phase dumps of one run recorded with the measurement protocol (test/fixtures/measure/RUN/NN-kind.txt), in order. */
export function recordedPhases(run: string): { kind: PhaseKind; text: string }[] {
  return readdirSync(join(FIXTURES, 'measure', run))
    .sort()
    .map((f) => ({ kind: f.replace(/^\d+-|\.txt$/g, '') as PhaseKind, text: fixture('measure', run, f) }));
}

/** A recorded run as the protocol measured it (segments from the scenario's changes, as the protocol assigns them); a survey when `s` is one. */
export function recordedMeasurement(run: string, s: Scenario, watch = s.watch): Measurement {
  let burst = 0;
  let segment = 0;
  const phases = recordedPhases(run).map(({ kind, text }) => {
    if (kind === 'traffic') segment += s.changes.filter((c) => c.afterBurst === burst++).length;
    const sample = s.survey ? parseSampleOf(s, text) : parseSample(text, watch, s.unit);
    return { kind, segment, sent: 0, sample, seconds: 0 };
  });
  return { phases, stop: 'fixed', looks: 1 };
}

/** A recorded run as a judged result of `s` on `kernel`, as a report would get it. */
export function recordedResult(s: Scenario, run: string, kernel: string): RunResult {
  const samples = recordedMeasurement(run, s);
  return {
    scenario: s.name,
    scenarioFile: s.file,
    kernel,
    backend: 'qemu',
    runDir: '/tmp/x',
    troubles: [],
    seconds: { prepare: 0, boot: 0, measure: 0, total: 0 },
    verdict: judge(s, samples),
    samples,
  };
}

/** A guest that answers every command with the next recorded phase dumps (as many as the command has phases): the protocol runs without QEMU. */
export class ReplayGuest implements Guest {
  readonly description = 'replay';
  readonly scripts: string[] = [];
  private next = 0;
  constructor(private readonly dumps: string[]) {}
  async exec(script: string): Promise<ExecResult> {
    this.scripts.push(script);
    if (script.trim() === 'uname -r') return { exitCode: 0, stdout: '6.1.0-replay\n', stderr: '' };
    // A command runs one or more phases, each ending in a line with the guest's uptime: one recorded phase each.
    const phases = script.match(/^read -r leaklab_end .*#leaklab-phase-end#/gm)?.length ?? 1;
    const stdout = this.dumps.slice(this.next, (this.next += phases));
    if (stdout.length < phases) throw new Error(`replay: no recorded phase left for command ${this.scripts.length}`);
    return { exitCode: 0, stdout: stdout.map((d, i) => `${d.replace(/\n?$/, '\n')}#leaklab-phase-end# ${i + 1}.00\n`).join(''), stderr: '' };
  }
  async troubles(): Promise<string[]> {
    return [];
  }
  async panicked(): Promise<boolean> {
    return false;
  }
  async stop(): Promise<void> {}
}
