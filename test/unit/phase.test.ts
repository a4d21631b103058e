// Phases that share one guest command (measure/phase.ts), run by dash (the
// guests' /bin/sh) on this host: each phase's sample and its time on the
// clock come back separately, and a step that fails in a later phase is
// named (not a step of an earlier one), with what the earlier phases
// sampled kept.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhaseRunner, splitPhases } from '../../src/measure/phase.ts';
import type { Guest, ExecResult } from '../../src/guest/guest.ts';
import { LeaklabError } from '../../src/util/errors.ts';
import { toScenario } from '../../src/scenario/scenario.ts';

/** Runs every command with dash here (the guest's /tmp is a directory of its own): the phases' own script, not a recording of it. */
class DashGuest implements Guest {
  readonly description = 'dash on the host';
  readonly scripts: string[] = [];
  readonly tmp = mkdtempSync(join(tmpdir(), 'leaklab-guest-tmp-'));
  async exec(script: string): Promise<ExecResult> {
    this.scripts.push(script);
    const r = spawnSync('dash', ['-c', script.replaceAll('/tmp/', `${this.tmp}/`)], { encoding: 'utf8', timeout: 20_000 });
    return { exitCode: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  }
  async troubles(): Promise<string[]> {
    return [];
  }
  async panicked(): Promise<boolean> {
    return false;
  }
  async stop(): Promise<void> {}
}

// A cache every SLUB kernel has; its count is the host's, which is all this test needs.
const s = toScenario({ name: 'x', kernels: ['k'], traffic: { packets: 10 }, watch: ['kmalloc-64'] }, '/x.yaml');
const step = (name: string, script: string) => ({ name, script });

test('phases in one command: a sample each, the timed step and each phase on the guest clock', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-phase-'));
  const guest = new DashGuest();
  const out = await new PhaseRunner(s, guest).run([
    { steps: [step('first', 'echo one; sleep 0.2')], rawFile: join(dir, 'a.txt') },
    { steps: [{ ...step('burst', 'sleep 0.3'), timed: true }], rawFile: join(dir, 'b.txt') },
    { steps: [], rawFile: join(dir, 'c.txt') },
  ]);
  t.is(out.length, 3);
  for (const o of out) t.true(o.sample.caches['kmalloc-64'].objects > 0);
  t.true(out[0].seconds! >= 0.19, `${out[0].seconds}`);
  t.is(out[0].timedSeconds, undefined);
  t.true(out[1].timedSeconds! >= 0.29 && out[1].seconds! >= out[1].timedSeconds!, `${out[1].timedSeconds} ${out[1].seconds}`);
  t.is(out[2].timedSeconds, undefined, "a timed step's time is its own phase's only");
  // Each raw file holds its own phase's sample, and no step output (that goes to stderr).
  for (const f of ['a.txt', 'b.txt', 'c.txt']) t.regex(readFileSync(join(dir, f), 'utf8'), /^#leaklab# sysfs kmalloc-64$/m);
  t.notRegex(readFileSync(join(dir, 'a.txt'), 'utf8'), /one/);
  t.regex(guest.scripts[0], /^leaklab_sample\(\) \{$/m, 'the first command brings the functions every phase calls');
});

test('a second command of the same runner reads the functions the first left in the guest', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-phase-'));
  const guest = new DashGuest();
  const phases = new PhaseRunner(s, guest);
  await phases.runOne([step('first', 'true')], join(dir, 'a.txt'));
  const again = await phases.runOne([step('second', 'true')], join(dir, 'b.txt'));
  t.true(again.sample.caches['kmalloc-64'].objects > 0);
  t.notRegex(guest.scripts[1], /leaklab_sample\(\)/);
  t.true(guest.scripts[1].length < guest.scripts[0].length / 2, `${guest.scripts[1].length} of ${guest.scripts[0].length} bytes`);
});

test('a step failing in a later phase is named, and the phases before it are kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-phase-'));
  const err = await t.throwsAsync(
    new PhaseRunner(s, new DashGuest()).run([
      { steps: [step('fine', 'true'), step('also fine', 'true')], rawFile: join(dir, 'a.txt') },
      { steps: [step('rules', 'echo no such table >&2; exit 3')], rawFile: join(dir, 'b.txt') },
    ]),
    { instanceOf: LeaklabError },
  );
  t.regex(err!.message, /failed at "rules" \(exit 3\)/);
  t.regex(err!.details ?? '', /no such table/);
  t.true(existsSync(join(dir, 'a.txt')));
  t.false(existsSync(join(dir, 'b.txt')));
});

test('phase ends split the output; without an end a phase did not finish', (t) => {
  const parts = splitPhases('#leaklab-phases-start# 10.00\nx 1\n#leaklab-phase-end# 10.25\ny 2\n#leaklab-phase-end# 11.00\nz 3\n');
  t.deepEqual(parts, [
    { text: 'x 1\n', seconds: 0.25 },
    { text: 'y 2\n', seconds: 0.75 },
  ]);
});

test('a guest that lost the functions (a command emptied /tmp) gets them again, before any step ran twice', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-phase-'));
  const guest = new DashGuest();
  const phases = new PhaseRunner(s, guest);
  await phases.runOne([step('first', 'true')], join(dir, 'a.txt'));
  rmSync(guest.tmp, { recursive: true, force: true });
  mkdirSync(guest.tmp);
  const again = await phases.runOne([step('second', 'echo x >> /tmp/runs')], join(dir, 'b.txt'));
  t.true(again.sample.caches['kmalloc-64'].objects > 0);
  t.is(guest.scripts.length, 3, 'the command again, with the functions');
  t.regex(guest.scripts[2], /^leaklab_sample\(\) \{$/m);
  t.is(readFileSync(join(guest.tmp, 'runs'), 'utf8'), 'x\n', 'the step ran once');
});

test("a shell error while sampling is the counters' failure, not the last step's; a step's last words without a newline still name it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leaklab-phase-'));
  const sampling = await t.throwsAsync(
    new PhaseRunner(s, new DashGuest()).run([
      { steps: [step('fine', 'true'), step('breaks the sample', 'leaklab_sample() { exec 4< /nonexistent/objects; }')], rawFile: join(dir, 'a.txt') },
    ]),
    { instanceOf: LeaklabError },
  );
  t.regex(sampling!.message, /^could not read the kernel's counters: the sample command failed \(exit 2\)$/);
  const unterminated = await t.throwsAsync(
    new PhaseRunner(s, new DashGuest()).run([{ steps: [step('rules', "printf 'no newline' >&2; exit 3")], rawFile: join(dir, 'b.txt') }]),
    {
      instanceOf: LeaklabError,
    },
  );
  t.regex(unterminated!.message, /failed at "rules" \(exit 3\)/);
  t.regex(unterminated!.details ?? '', /no newline/);
});
