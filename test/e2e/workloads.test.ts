// End to end, units of work beyond received packets: TCP connections, the
// guest as a router, and a C program run per iteration (scenarios/
// workloads/), each with a known answer: the calibration kernel
// v6.1-unit-leaks (lab/patches/calibrate-unit-leaks.patch) leaks exactly 1
// object per connection / forwarded packet / sethostname() call, each in a
// kmalloc cache of its own; v6.1 as shipped leaks nothing. Then a program
// that does not compile, one that crashes, one that fails and one that hangs.
import test from 'ava';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { leaklab, qemuProcesses, tempDir } from '../helpers/cli.ts';

const KNOWN = [
  { scenario: 'tcp-connections', unit: 'connection', cache: 'kmalloc-32' },
  { scenario: 'router-forwarding', unit: 'forwarded', cache: 'kmalloc-96' },
  { scenario: 'program-sethostname', unit: 'iteration', cache: 'kmalloc-128' },
];

test('each workload leaks 1 object per unit on the calibration kernel, in its own cache, and nothing on v6.1', async (t) => {
  const dir = tempDir(t);
  const report = join(dir, 'report.json');
  const r = await leaklab(['run', 'scenarios/workloads/', '--json', report, '--runs-dir', join(dir, 'runs')]);
  t.log(r.stdout);
  t.is(r.code, 0, r.stderr.split('\n').slice(-20).join('\n'));
  const results = JSON.parse(readFileSync(report, 'utf8')).results as any[];
  for (const k of KNOWN) {
    const leaking = results.find((x) => x.scenario === k.scenario && x.kernel === 'v6.1-unit-leaks')?.verdict;
    t.is(leaking?.verdict, 'leak', k.scenario);
    t.is(leaking.unit, k.unit);
    t.is(leaking.deciding.cache, k.cache);
    const e = leaking.deciding.estimate;
    t.true(Math.abs(e.rate - 1) <= 0.1 && e.low <= 1 && 1 <= e.high, `${k.scenario}: ${e.rate} [${e.low}, ${e.high}]`);
    const clean = results.find((x) => x.scenario === k.scenario && x.kernel === 'v6.1')?.verdict;
    t.is(clean?.verdict, 'no-leak', k.scenario);
    t.true(clean.deciding.estimate.high < 0.02, `${k.scenario}: detection limit ${clean.deciding.estimate.high}`);
  }
  t.regex(r.stdout, /LEAK\s+kmalloc-32\s+\+1\.00 obj\/connection \[/);
  t.regex(r.stdout, /LEAK\s+kmalloc-128\s+\+1\.00 obj\/iteration \[/);
  t.regex(r.stdout, /\(4\d\d\d packets forwarded, /);
  t.deepEqual(qemuProcesses(dir), []);
});

/** A program scenario on v6.1 running `source` (written beside it). */
function programScenario(dir: string, name: string, source: string, workload = 'iterations: 40'): string {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, 'p.c'), source);
  writeFileSync(join(dir, name, 's.yaml'), `name: ${name}\nkernels: [v6.1]\nworkload: { program: p.c, ${workload} }\nwatch: [kmalloc-128]\n`);
  return join(dir, name, 's.yaml');
}

test("a program that does not compile is a scenario error with gcc's words, before any guest boots", async (t) => {
  const dir = tempDir(t);
  const file = programScenario(dir, 'broken', 'int main(void) { return undefined_thing; }\n');
  const r = await leaklab(['run', file, '--runs-dir', join(dir, 'runs')]);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stdout + r.stderr, /p\.c does not compile \(gcc exit 1\)/);
  t.regex(r.stdout + r.stderr, /p\.c:1:\d+: error: 'undefined_thing' undeclared/);
  t.notRegex(r.stderr, /booting/);
  t.deepEqual(qemuProcesses(dir), []);
});

test('a program that crashes, fails or hangs ends the run naming the iteration and how it ended; nothing is left running', async (t) => {
  const dir = tempDir(t);
  const crash = programScenario(dir, 'crash', '#include <stdlib.h>\nint main(void) { volatile int *p = 0; return *p; }\n');
  const fail = programScenario(dir, 'fail', '#include <stdio.h>\nint main(void) { puts("no such device"); return 3; }\n');
  const hang = programScenario(dir, 'hang', '#include <unistd.h>\nint main(void) { pause(); return 0; }\n', 'iterations: 40, timeout: 2');
  const runs = await Promise.all([crash, fail, hang].map((f) => leaklab(['run', f, '--runs-dir', join(dir, 'runs')])));
  const said = runs.map((r) => r.stdout + r.stderr);
  for (const r of runs) t.is(r.code, 2, r.stderr);
  t.regex(said[0], /failed in warm-up: run 1 of \d+ was killed by signal 11 \(Segmentation fault\)/);
  t.regex(said[1], /failed in warm-up: run 1 of \d+ exited with status 3/);
  t.regex(said[1], /no such device/);
  t.regex(said[2], /failed in warm-up: run 1 of \d+ hung: still running after 2 s, killed/);
  t.regex(said[2], /raise workload\.timeout/);
  t.deepEqual(qemuProcesses(dir), []);
});
