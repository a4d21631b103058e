import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { parseScenarioText } from '../../src/scenario/load.ts';
import { toScenario } from '../../src/scenario/scenario.ts';
import { topologySteps } from '../../src/network/topology.ts';

const scenario = (extra: string) => {
  const { value, problems } = parseScenarioText(`name: x\nkernels: [v6.1]\n${extra}\ntraffic: { packets: 100 }\nwatch: [a]\n`, 't.yaml');
  if (problems.length > 0 || !value) throw new Error(problems.map((p) => p.message).join('; '));
  return toScenario(value, 't.yaml');
};

const setupSteps = (extra: string) => topologySteps(scenario(extra)).filter((st) => st.name.startsWith('setup'));

/** A step's script under sh -e, as a phase runs it (here on the host's sh, setsid and kill; the guest has busybox's). */
const runStep = (script: string) => spawnSync('sh', ['-ec', script], { encoding: 'utf8', timeout: 60_000 });

test('setupTimeout: 30 s by default, well below the 2-minute limit of a guest command', (t) => {
  t.is(scenario('').setupTimeout, 30);
  t.is(scenario('setupTimeout: 2.5').setupTimeout, 2.5);
  t.regex(
    parseScenarioText('name: x\nkernels: [v6.1]\nsetupTimeout: 0\ntraffic: { packets: 100 }\nwatch: [a]\n', 't.yaml').problems[0].message,
    /expected number to be greater than 0/,
  );
});

test('a setup command that hangs is stopped after setupTimeout, with what it started, and named: setup[i] and its command', (t) => {
  const steps = setupSteps('setup: ["true", "sleep 6001 & sleep 6002"]\nsetupTimeout: 1');
  t.deepEqual(
    steps.map((st) => st.name),
    ['setup[0]: true', 'setup[1]: sleep 6001 & sleep 6002'],
  );
  t.is(runStep(steps[0].script).status, 0);
  const started = Date.now();
  const r = runStep(steps[1].script);
  t.true(Date.now() - started < 4_000, `took ${Date.now() - started} ms`);
  const err = steps[1].failure!(r.stderr, r.status!);
  t.is(err.kind, 'scenario');
  t.is(err.exitCode, 2);
  t.is(err.message, 'setup[1]: timed out after 1 s');
  t.regex(err.details!, /^command: sleep 6001 & sleep 6002$/m);
  t.regex(err.hint!, /raise setupTimeout/);
  // timeout signals the command's whole process group: the sleep it put in the background is gone too.
  t.is(spawnSync('pgrep', ['-f', '^sleep 600[12]$']).status, 1, 'no sleep left running');
  t.is(spawnSync('pgrep', ['-f', 'leaklab-timed-out']).status, 1, 'no watcher left running');
});

test('a setup command that fails (not a timeout) is named with its exit code and what it said', (t) => {
  const [step] = setupSteps('setup: ["echo no such rule >&2; exit 3"]');
  const r = runStep(step.script);
  const err = step.failure!(r.stderr, r.status!);
  t.is(err.message, 'setting up the guest failed at "setup[0]: echo no such rule >&2; exit 3" (exit 3)');
  t.is(err.details, 'no such rule\n');
});

test('a setup command that ends in time leaves no watcher behind: nothing fires after it (no flag file, no signal to a reused pid)', async (t) => {
  const flags = () => readdirSync('/tmp').filter((f) => f.startsWith('leaklab-timed-out.'));
  const before = new Set(flags());
  const [step] = setupSteps('setup: ["true"]\nsetupTimeout: 1');
  // Quick commands, many times: the watcher is ended right after each, however early in its own start that is.
  for (let i = 0; i < 20; i++) t.is(runStep(step.script).status, 0);
  await new Promise((r) => setTimeout(r, 1_500));
  t.deepEqual(
    flags().filter((f) => !before.has(f)),
    [],
    'a watcher outlived its command and fired',
  );
});
