// Owns one phase of a measurement as ONE guest command: steps (topology,
// a change, a burst, the flush and settling) under `set -e`, then a sample
// of the kernel's counters. Every guest exec costs ~70 ms under TCG (qemu-ga
// forks a shell), so a phase is one exec. The raw output is kept in the run
// directory; a failing step is named in the error.
import type { Scenario } from '../scenario/scenario.ts';
import type { Guest } from '../guest/guest.ts';
import { MissingCacheError, type Sample } from '../probe/slab.ts';
import { sampleCommand, parseSampleOf } from '../probe/probe.ts';
import { LeaklabError } from '../util/errors.ts';
import { tail } from '../util/exec.ts';
import { withoutTerminalCodes } from '../util/terminal.ts';
import { writeOutput, RUNS_DIR_WHERE } from '../util/output.ts';
import type { Step } from '../network/topology.ts';

export type { Step };

const FAILED = '#leaklab-failed#';
const TIMED = '#leaklab-timed#';
// The guest's uptime around a timed step (a burst): builtins, no fork.
const READ_START = 'read -r leaklab_t0 leaklab_x < /proc/uptime';
const READ_END = 'read -r leaklab_t1 leaklab_x < /proc/uptime';

/** Seconds the timed step took on the guest's clock, when the phase had one. */
export function timedSeconds(stdout: string): number | undefined {
  const m = new RegExp(`^${TIMED} ([\\d.]+) ([\\d.]+)$`, 'm').exec(stdout);
  return m ? Number(m[2]) - Number(m[1]) : undefined;
}

/** Runs steps and then takes a sample. Step output goes to stderr so stdout holds only the sample. */
export async function runPhase(
  s: Scenario,
  guest: Guest,
  steps: Step[],
  rawFile: string,
  opts: { listAliases?: boolean; timeoutMs?: number } = {},
): Promise<{ sample: Sample; timedSeconds?: number }> {
  const script = [
    'exec 3>&1 1>&2',
    'leaklab_step=',
    `trap 'rc=$?; [ $rc -eq 0 ] || echo "${FAILED} $rc $leaklab_step"' EXIT`,
    'set -e',
    ...steps.flatMap((st, i) => [`leaklab_step=${i}`, ...(st.timed ? [READ_START, st.script, READ_END] : [st.script])]),
    'set +e',
    'trap - EXIT',
    'exec 1>&3',
    sampleCommand(s, opts.listAliases),
    `[ -z "$leaklab_t0" ] || echo "${TIMED} $leaklab_t0 $leaklab_t1"`,
  ].join('\n');
  const r = await guest.exec(script, { timeoutMs: opts.timeoutMs ?? 120_000 });
  await writeOutput(rawFile, r.stdout, RUNS_DIR_WHERE);
  const failed = new RegExp(`^${FAILED} (\\d+) (\\d+)$`, 'm').exec(r.stderr);
  if (failed) {
    const st = steps[Number(failed[2])];
    // What the guest said is shown to the user: without terminal codes a command may print.
    const output = tail(withoutTerminalCodes(r.stderr.replace(new RegExp(`^${FAILED}.*$`, 'm'), '')), 10);
    const denied = guest.explainDenied?.(st.name, output);
    if (denied) throw denied;
    throw (
      st.failure?.(output, Number(failed[1])) ??
      new LeaklabError('scenario', `setting up the guest failed at "${st.name}" (exit ${failed[1]})`, {
        hint: 'check this line of the scenario (rules, routes, firewall, setup); the message below is what the guest said',
        details: output,
      })
    );
  }
  try {
    return { sample: parseSampleOf(s, r.stdout), timedSeconds: timedSeconds(r.stdout) };
  } catch (err) {
    if (err instanceof MissingCacheError) {
      throw new LeaklabError('scenario', err.message, { hint: 'check the names under watch: (see /proc/slabinfo in the guest, or boot with slab_nomerge)' });
    }
    throw new LeaklabError('guest', `could not read the kernel's counters: ${(err as Error).message}`, {
      hint: "the kernel needs PROC_FS, SYSFS and SLUB_DEBUG; the raw output is in the run directory's samples/",
      details: tail(r.stdout + r.stderr, 10),
    });
  }
}
