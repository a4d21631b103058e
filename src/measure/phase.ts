// Owns phases of a measurement run as ONE guest command: each phase's steps
// (topology, a change, a burst, the flush and settling) under `set -e`, then
// a sample of the kernel's counters and the guest's uptime. Every guest exec
// costs a round trip through the agent (~80 ms under TCG) and every byte of
// its script ~17 us (an emulated serial port), so the phases that need no
// decision in between share one exec, and what every phase repeats (the
// route flush, the settling, the sample) is sent once per guest as shell
// functions kept in the guest's /tmp. The raw output of each phase is kept
// in the run directory; a failing step is named in the error.
import type { Scenario } from '../scenario/scenario.ts';
import { basename } from 'node:path';
import type { Guest, ExecResult } from '../guest/guest.ts';
import { MissingCacheError, type Sample } from '../probe/slab.ts';
import { FLUSH_SCRIPT } from '../probe/slab.ts';
import { sampleCommand, parseSampleOf, settleCommand } from '../probe/probe.ts';
import { sha256, short } from '../util/hash.ts';
import { LeaklabError } from '../util/errors.ts';
import { tail } from '../util/exec.ts';
import { withoutTerminalCodes } from '../util/terminal.ts';
import { writeOutput, RUNS_DIR_WHERE } from '../util/output.ts';
import type { Step } from '../network/topology.ts';

export type { Step };

const FAILED = '#leaklab-failed#';
const TIMED = '#leaklab-timed#';
// The guest's uptime when the command starts and as each phase ends.
const PHASE_START = '#leaklab-phases-start#';
const PHASE_END = '#leaklab-phase-end#';
// The guest's uptime around a timed step (a burst): builtins, no fork.
const READ_START = 'read -r leaklab_t0 leaklab_x < /proc/uptime';
const READ_END = 'read -r leaklab_t1 leaklab_x < /proc/uptime';

/** Seconds the timed step took on the guest's clock, when the phase had one. */
export function timedSeconds(stdout: string): number | undefined {
  const m = new RegExp(`^${TIMED} ([\\d.]+) ([\\d.]+)$`, 'm').exec(stdout);
  return m ? Number(m[2]) - Number(m[1]) : undefined;
}

/** One phase: its steps, then a sample. */
export interface PhasePlan {
  steps: Step[];
  /** Where its raw sample goes. */
  rawFile: string;
  /** The first sample of a boot also lists what is read once (aliases of merged slabs, footprints). */
  listAliases?: boolean;
  /** How long its steps and sample may take (120 s unless given). */
  timeoutMs?: number;
}

export interface PhaseOutcome {
  sample: Sample;
  /** Seconds the timed step took on the guest's clock, when the phase had one. */
  timedSeconds?: number;
  /** Seconds the phase took on the guest's clock (its steps and its sample). */
  seconds?: number;
}

/** What ends every phase before its sample: a route flush, and the wait until what it released is freed (at most settleSeconds). */
export function flushAndSettle(): Step[] {
  return [
    { name: 'route flush', script: 'leaklab_flush' },
    { name: 'settle', script: 'leaklab_settle' },
  ];
}

/**
 * The phases of one scenario in one guest. The shell functions every phase
 * calls (leaklab_flush, leaklab_settle, leaklab_sample) go with the first
 * command into a file in the guest's /tmp, and later commands read them
 * from there.
 */
export class PhaseRunner {
  private readonly library: string;
  private readonly libraryFile: string;
  private libraryInGuest = false;

  constructor(
    private readonly s: Scenario,
    private readonly guest: Guest,
  ) {
    this.library = phaseLibrary(s);
    this.libraryFile = `/tmp/leaklab-phases-${short(sha256(this.library))}.sh`;
  }

  /** Runs one phase's steps and then takes a sample. */
  async runOne(steps: Step[], rawFile: string, opts: { listAliases?: boolean; timeoutMs?: number } = {}): Promise<PhaseOutcome> {
    const [outcome] = await this.run([{ steps, rawFile, ...opts }]);
    return outcome;
  }

  /**
   * Runs phases one after the other in one guest command; the outcomes in
   * order. Step output goes to stderr so stdout holds only the samples, each
   * followed by a line with the guest's uptime that ends the phase.
   */
  async run(phases: PhasePlan[]): Promise<PhaseOutcome[]> {
    const r = await this.execPhases(phases);
    const parts = splitPhases(r.stdout);
    // What every phase that ended printed is kept, also when a later one failed, and what the one that did not end printed.
    for (const [i, part] of parts.entries()) if (i < phases.length) await writeOutput(phases[i].rawFile, part.text, RUNS_DIR_WHERE);
    const rest = unfinishedPhase(r.stdout);
    if (parts.length < phases.length && rest.trim()) await writeOutput(phases[parts.length].rawFile, rest, RUNS_DIR_WHERE);
    const failed = new RegExp(`^${FAILED} (\\d+) (\\S+)$`, 'm').exec(r.stderr);
    if (failed) {
      const steps = phases.flatMap((p) => p.steps);
      if (failed[2] === SAMPLING) throw countersUnread(`the sample command failed (exit ${failed[1]})`, r.stdout + r.stderr);
      throw stepFailure(this.guest, steps[Number(failed[2])], Number(failed[1]), r.stderr);
    }
    if (parts.length < phases.length) {
      // The command ended without a failed step (killed, or the agent lost it): what it printed is the clue.
      throw new LeaklabError('guest', `the guest's command ended after ${parts.length} of ${phases.length} phases (exit ${r.exitCode})`, {
        hint: "the raw output is in the run directory's samples/; a kernel message in the console log may say why",
        details: tail(withoutTerminalCodes(r.stdout + r.stderr), 10),
      });
    }
    return parts.slice(0, phases.length).map((part) => ({ ...parsedSample(this.s, part.text), seconds: part.seconds }));
  }

  /**
   * The phases' command, the library sent along the first time, and again if
   * the guest lost it (a scenario's command may empty or cover /tmp): the
   * command checks for it before any step runs, so running it again is safe.
   */
  private async execPhases(phases: PhasePlan[]): Promise<ExecResult> {
    const timeoutMs = phases.reduce((sum, p) => sum + (p.timeoutMs ?? PHASE_TIMEOUT_MS), 0);
    const command = (sendLibrary: boolean) =>
      [
        // The first line names the phases: what LEAKLAB_DEBUG=guest and a lost guest's error show of a command.
        `# leaklab phases: ${phases.map((p) => basename(p.rawFile)).join(' ')}`,
        sendLibrary ? [`{ cat > ${this.libraryFile} <<'${LIBRARY_END}'`, this.library, LIBRARY_END, '}'].join('\n') + ' && \\' : '',
        `[ -r ${this.libraryFile} ] && . ${this.libraryFile} || { echo "${NO_LIBRARY}" >&2; exit 97; }`,
        phasesScript(phases),
      ]
        .filter(Boolean)
        .join('\n');
    let r = await this.guest.exec(command(!this.libraryInGuest), { timeoutMs });
    if (this.libraryInGuest && r.stderr.includes(NO_LIBRARY)) r = await this.guest.exec(command(true), { timeoutMs });
    if (r.stderr.includes(NO_LIBRARY)) {
      throw new LeaklabError('guest', `could not keep the measurement's shell functions in the guest's ${this.libraryFile}`, {
        hint: "the guest's /tmp must stay writable during the run: a setup or changes command that fills it or mounts over it breaks the measurement",
        details: tail(withoutTerminalCodes(r.stderr.replace(NO_LIBRARY, '')), 10),
      });
    }
    this.libraryInGuest = true;
    return r;
  }
}

/** What one phase's steps and sample may take unless it says (the setup phase adds its commands' own limits). */
export const PHASE_TIMEOUT_MS = 120_000;
const LIBRARY_END = 'LEAKLAB_PHASES_END';
// What the command says when the library is not in the guest (exit 97, before any step).
const NO_LIBRARY = '#leaklab-no-library#';
// The failed "step" of a sample (the shell ended while reading the counters).
const SAMPLING = 'sample';

/** The shell functions every phase calls: the flush, the settling, the sample (the first of a boot lists more). */
export function phaseLibrary(s: Scenario): string {
  const fn = (name: string, body: string) => `${name}() {\n${body}\n}`;
  return [
    fn('leaklab_flush', FLUSH_SCRIPT),
    fn('leaklab_settle', settleCommand(s)),
    fn('leaklab_sample', sampleCommand(s, false)),
    fn('leaklab_sample_first', sampleCommand(s, true)),
  ].join('\n');
}

/** The guest command after the library: for each phase, its steps under `set -e` (stdout to stderr), its sample, the timed step's and the phase's end on the guest's clock. */
export function phasesScript(phases: PhasePlan[]): string {
  let index = 0;
  const phase = (p: PhasePlan) => [
    'exec 3>&1 1>&2',
    'leaklab_t0=',
    'set -e',
    ...p.steps.flatMap((st) => [`leaklab_step=${index++}`, ...(st.timed ? [READ_START, st.script, READ_END] : [st.script])]),
    'set +e',
    'exec 1>&3',
    `leaklab_step=${SAMPLING}`,
    p.listAliases ? 'leaklab_sample_first' : 'leaklab_sample',
    `[ -z "$leaklab_t0" ] || echo "${TIMED} $leaklab_t0 $leaklab_t1"`,
    `read -r leaklab_end leaklab_x < /proc/uptime; echo "${PHASE_END} $leaklab_end"`,
  ];
  return [
    'read -r leaklab_end leaklab_x < /proc/uptime',
    `echo "${PHASE_START} $leaklab_end"`,
    'leaklab_step=',
    // A step fails the command (set -e); a sample runs with set +e, but a shell error (a redirection that fails) still
    // ends it, as "sample". The marker starts a line of its own: the step's last words may not end in a newline.
    `trap 'rc=$?; [ $rc -eq 0 ] || printf "\\n%s %s %s\\n" "${FAILED}" "$rc" "$leaklab_step" >&2' EXIT`,
    ...phases.flatMap(phase),
    'trap - EXIT',
  ].join('\n');
}

/** What the phase that did not end printed: the text after the last phase's end. */
export function unfinishedPhase(stdout: string): string {
  const lines = stdout.split('\n');
  let after = 0;
  lines.forEach((l, i) => {
    if (l.startsWith(PHASE_END)) after = i + 1;
  });
  return lines
    .slice(after)
    .filter((l) => !l.startsWith(PHASE_START))
    .join('\n');
}

/** Each ended phase's text (its sample and timing lines) and its seconds on the guest's clock. */
export function splitPhases(stdout: string): { text: string; seconds?: number }[] {
  const parts: { text: string; seconds?: number }[] = [];
  let before = Number(new RegExp(`^${PHASE_START} ([\\d.]+)$`, 'm').exec(stdout)?.[1]);
  let lines: string[] = [];
  for (const line of stdout.split('\n')) {
    const end = new RegExp(`^${PHASE_END} ([\\d.]+)$`).exec(line);
    if (!end) {
      if (!line.startsWith(PHASE_START)) lines.push(line);
      continue;
    }
    const at = Number(end[1]);
    parts.push({ text: lines.join('\n') + '\n', seconds: Number.isFinite(before) ? Math.round((at - before) * 100) / 100 : undefined });
    before = at;
    lines = [];
  }
  return parts;
}

function stepFailure(guest: Guest, st: Step, code: number, stderr: string): LeaklabError {
  // What the guest said is shown to the user: without terminal codes a command may print.
  const output = tail(withoutTerminalCodes(stderr.replace(new RegExp(`^${FAILED}.*$`, 'm'), '')), 10);
  return (
    guest.explainDenied?.(st.name, output) ??
    st.failure?.(output, code) ??
    new LeaklabError('scenario', `setting up the guest failed at "${st.name}" (exit ${code})`, {
      hint: 'check this line of the scenario (rules, routes, firewall, setup); the message below is what the guest said',
      details: output,
    })
  );
}

function parsedSample(s: Scenario, text: string): { sample: Sample; timedSeconds?: number } {
  try {
    return { sample: parseSampleOf(s, text), timedSeconds: timedSeconds(text) };
  } catch (err) {
    if (err instanceof MissingCacheError) {
      throw new LeaklabError('scenario', err.message, { hint: 'check the names under watch: (see /proc/slabinfo in the guest, or boot with slab_nomerge)' });
    }
    throw countersUnread((err as Error).message, text);
  }
}

function countersUnread(why: string, output: string): LeaklabError {
  return new LeaklabError('guest', `could not read the kernel's counters: ${why}`, {
    hint: "the kernel needs PROC_FS, SYSFS and SLUB_DEBUG; the raw output is in the run directory's samples/",
    details: tail(withoutTerminalCodes(output), 10),
  });
}
