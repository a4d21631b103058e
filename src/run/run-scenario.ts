// Owns running one scenario in one guest, a QEMU guest booting a prepared
// kernel or a container on the host's kernel: start it, build the topology,
// take samples around the traffic bursts and the route flush, judge, and
// stop the guest whatever happens.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scenario } from '../scenario/scenario.ts';
import { expectationFor } from '../scenario/scenario.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import { readKernelConfig, modulesToLoad, scenarioRequirements } from '../kernel/requirements.ts';
import { loadRecipe } from '../image/recipe.ts';
import { initramfsFor } from '../image/initramfs.ts';
import { QemuGuest, qemuVersion } from '../guest/qemu/qemu-guest.ts';
import { DockerGuest, CAPABILITIES } from '../guest/docker/docker-guest.ts';
import { connectDocker, hostKernelRelease, dockerError } from '../guest/docker/engine.ts';
import { containerImage } from '../guest/docker/container-image.ts';
import { chooseAccel } from '../guest/qemu/accel.ts';
import { isPanic, followBoot } from '../guest/qemu/console.ts';
import type { Guest } from '../guest/guest.ts';
import { topologySteps } from '../network/topology.ts';
import { burstScript, burstSizes, reachabilityScript, destination } from '../network/traffic.ts';
import { sampleScript, settleScript, parseSample, MissingCacheError, type Sample } from '../probe/slab.ts';
import { judge, meetsExpectation, settleLimits, type SampleSeries } from '../verdict/verdict.ts';
import type { RunResult } from './result.ts';
import { LeaklabError } from '../util/errors.ts';
import { progress, startTask, timedTask } from '../util/progress.ts';
import { tail } from '../util/exec.ts';

export function bootTimeoutMs(): number {
  const seconds = Number(process.env.LEAKLAB_BOOT_TIMEOUT ?? 90);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new LeaklabError('usage', `LEAKLAB_BOOT_TIMEOUT must be a number of seconds, not "${process.env.LEAKLAB_BOOT_TIMEOUT}"`, { hint: 'unset it for the default (90), or give e.g. LEAKLAB_BOOT_TIMEOUT=300' });
  }
  return seconds * 1000;
}

export async function runScenarioOnKernel(s: Scenario, kernel: KernelArtifact, runDir: string): Promise<RunResult> {
  const t0 = Date.now();
  const scope = `${s.name} on ${kernel.name}`;
  const result: RunResult = {
    scenario: s.name, scenarioFile: s.file, kernel: kernel.name, backend: 'qemu', runDir,
    release: kernel.release, provenance: kernel.provenance, troubles: [],
    seconds: { prepare: 0, boot: 0, measure: 0, total: 0 },
  };
  await mkdir(runDir, { recursive: true });
  let guest: QemuGuest | undefined;
  try {
    const reqs = scenarioRequirements(s);
    const config = kernel.configPath ? await readKernelConfig(kernel.configPath) : new Map<string, string>();
    const modules = kernel.modulesDir ? modulesToLoad(config, reqs) : [];
    const recipe = await loadRecipe(s.guest.image);
    const initrd = await initramfsFor(recipe, kernel, modules);
    const { accel, why } = await chooseAccel();
    result.provenance = { ...kernel.provenance, qemu: await qemuVersion(), accel, imageRecipe: `${recipe.name}-${recipe.key}` };
    result.seconds.prepare = (Date.now() - t0) / 1000;
    progress(scope, `booting (${accel}: ${why}); console: ${join(runDir, 'console.log')}`);
    const tBoot = Date.now();
    const endBoot = followBoot(scope, join(runDir, 'console.log'), bootTimeoutMs());
    guest = await QemuGuest.start({
      name: kernel.name, bzImage: kernel.bzImage, initrd, cmdline: s.guest.cmdline, memory: s.guest.memory,
      accel, runDir, bootTimeoutMs: bootTimeoutMs(),
    }).finally(endBoot);
    result.seconds.boot = (Date.now() - tBoot) / 1000;
    const uname = await guest.exec('uname -r');
    result.release = uname.stdout.trim();
    progress(scope, `guest up in ${result.seconds.boot.toFixed(1)} s (kernel ${result.release})`);
    await measureAndJudge(s, guest, kernel.name, result, scope, runDir);
    result.troubles = await guest.troubles();
    // A kernel that panicked (even after the last sample) gives no verdict.
    if (isPanic(await guest.consoleText())) {
      throw new LeaklabError('guest', `${kernel.name}: the kernel panicked during the run`, { hint: `read the console log ${guest.consolePath}`, details: result.troubles.join('\n') });
    }
  } catch (err) {
    if (!(err instanceof LeaklabError)) throw err;
    result.error = { kind: err.kind, message: err.message, hint: err.hint, details: err.details };
    if (guest) result.troubles = await guest.troubles();
  } finally {
    await guest?.stop();
    result.seconds.total = (Date.now() - t0) / 1000;
    await writeFile(join(runDir, 'result.json'), JSON.stringify(result, null, 2));
  }
  return result;
}

/**
 * Runs one scenario in a container against the host's kernel: the same
 * topology, traffic, samples and verdict as in a QEMU guest. Slab counts are
 * host-wide in a container, so extra idle samples measure the host's own
 * churn, and a verdict that noise could explain is inconclusive.
 */
export async function runScenarioInContainer(s: Scenario, runDir: string, runId: string): Promise<RunResult> {
  const t0 = Date.now();
  const result: RunResult = {
    scenario: s.name, scenarioFile: s.file, kernel: 'host', backend: 'docker', runDir, troubles: [],
    seconds: { prepare: 0, boot: 0, measure: 0, total: 0 },
  };
  await mkdir(runDir, { recursive: true });
  let guest: DockerGuest | undefined;
  try {
    const docker = await connectDocker();
    result.release = await hostKernelRelease(docker);
    result.kernel = result.release;
    const scope = `${s.name} on ${result.kernel} (docker)`;
    const recipe = await loadRecipe(s.guest.image);
    const image = await containerImage(docker, recipe);
    result.provenance = { origin: 'host kernel (docker)', image, imageRecipe: `${recipe.name}-${recipe.key}` };
    result.seconds.prepare = (Date.now() - t0) / 1000;
    const tStart = Date.now();
    guest = await DockerGuest.start({ docker, image, runId, name: s.name });
    result.seconds.boot = (Date.now() - tStart) / 1000;
    progress(scope, `container up in ${result.seconds.boot.toFixed(1)} s`);
    // Host-wide counts: more packets dilute the host's own churn (see traffic.packetsInContainer).
    const inContainer = { ...s, traffic: { ...s.traffic, packets: s.traffic.packetsInContainer } };
    await measureAndJudge(inContainer, guest, result.kernel, result, scope, runDir, { idleSamples: IDLE_SAMPLES });
  } catch (err) {
    // Engine API failures are errors of this cell, not of the whole run.
    const e = err instanceof LeaklabError ? err : dockerError('running the scenario', err);
    result.error = { kind: e.kind, message: e.message, hint: e.hint, details: e.details };
  } finally {
    await guest?.stop().catch((err: unknown) => {
      const e = err instanceof LeaklabError ? err : dockerError('removing the container', err);
      result.error ??= { kind: e.kind, message: e.message, hint: 'run leaklab clean to remove it', details: e.details };
    });
    result.seconds.total = (Date.now() - t0) / 1000;
    await writeFile(join(runDir, 'result.json'), JSON.stringify(result, null, 2));
  }
  return result;
}

/** Idle samples taken after the first one in a container, to see the host's noise. */
const IDLE_SAMPLES = 2;

async function measureAndJudge(s: Scenario, guest: Guest, kernelName: string, result: RunResult, scope: string, runDir: string, opts: { idleSamples?: number } = {}): Promise<void> {
  const tMeasure = Date.now();
  result.samples = await measure(s, guest, scope, runDir, opts.idleSamples ?? 0);
  result.seconds.measure = (Date.now() - tMeasure) / 1000;
  result.verdict = judge(s, result.samples);
  const expectation = expectationFor(s, kernelName);
  if (expectation) {
    const m = meetsExpectation(result.verdict, expectation);
    result.expectation = expectation;
    result.asExpected = m.ok;
    result.why = m.why;
  }
}

interface Step {
  name: string;
  script: string;
  /** The error for this step's failure; default: a scenario error naming the step. */
  failure?: (output: string, exitCode: number) => LeaklabError;
}

const FAILED = '#leaklab-failed#';

/**
 * Runs steps and then takes a sample, in ONE guest command: every guest exec
 * costs ~70 ms under TCG (qemu-ga forks a shell), so a phase is one exec.
 * Steps run under `set -e`; the EXIT trap names the step that failed. Step
 * output goes to stderr so stdout holds only the sample.
 */
async function phase(s: Scenario, guest: Guest, steps: Step[], rawFile: string, opts: { listAliases?: boolean; timeoutMs?: number } = {}): Promise<Sample> {
  const script = [
    'exec 3>&1 1>&2',
    'leaklab_step=',
    `trap 'rc=$?; [ $rc -eq 0 ] || echo "${FAILED} $rc $leaklab_step"' EXIT`,
    'set -e',
    ...steps.flatMap((st, i) => [`leaklab_step=${i}`, st.script]),
    'set +e',
    'trap - EXIT',
    'exec 1>&3',
    sampleScript(s.watch, opts.listAliases),
  ].join('\n');
  const r = await guest.exec(script, { timeoutMs: opts.timeoutMs ?? 120_000 });
  await writeFile(rawFile, r.stdout);
  const failed = new RegExp(`^${FAILED} (\\d+) (\\d+)$`, 'm').exec(r.stderr);
  if (failed) {
    const st = steps[Number(failed[2])];
    const output = tail(r.stderr.replace(new RegExp(`^${FAILED}.*$`, 'm'), ''), 10);
    if (guest instanceof DockerGuest && /Operation not permitted|Permission denied|Read-only file system/.test(output)) {
      throw new LeaklabError('guest', `the container was not allowed to do "${st.name}"`, {
        hint: `it needs the capabilities ${CAPABILITIES.join(', ')} and a writable /proc/sys (see README, "Container guests"); a rootless engine, AppArmor/SELinux or a userns-remap setup can take them away`,
        details: output,
      });
    }
    throw st.failure?.(output, Number(failed[1])) ?? new LeaklabError('scenario', `setting up the guest failed at "${st.name}" (exit ${failed[1]})`, {
      hint: 'check this line of the scenario (rules, routes, firewall, setup); the message below is what the guest said',
      details: output,
    });
  }
  try {
    return parseSample(r.stdout, s.watch, s.traffic.family);
  } catch (err) {
    if (err instanceof MissingCacheError) {
      throw new LeaklabError('scenario', err.message, { hint: 'check the names under watch: (see /proc/slabinfo in the guest, or boot with slab_nomerge)' });
    }
    throw new LeaklabError('guest', `could not read the kernel's counters: ${(err as Error).message}`, { hint: 'the kernel needs PROC_FS, SYSFS and SLUB_DEBUG; the raw output is in the run directory\'s samples/', details: tail(r.stdout + r.stderr, 10) });
  }
}

async function measure(s: Scenario, guest: Guest, scope: string, runDir: string, idleSamples: number): Promise<SampleSeries> {
  const raw = join(runDir, 'samples');
  await mkdir(raw, { recursive: true });
  const reach: Step = {
    name: 'reachability', script: reachabilityScript(s),
    failure: (output) => new LeaklabError('scenario', `traffic does not reach ${destination(s)}: one echo request got no reply`, {
      hint: 'check topology, rules and firewall: a ruleset that drops the replies leaves nothing to measure',
      details: output,
    }),
  };
  const before = await phase(s, guest, [...topologySteps(s), reach], join(raw, '0-before.txt'), { listAliases: true });
  const idle: Sample[] = [];
  for (let i = 1; i <= idleSamples; i++) {
    idle.push(await phase(s, guest, [{ name: 'idle', script: 'sleep 0.2' }], join(raw, `0-idle-${i}.txt`)));
  }
  const bursts: Sample[] = [];
  const sizes = burstSizes(s);
  const traffic = startTask(scope, sizes.length);
  try {
    for (const [i, count] of sizes.entries()) {
      traffic.update(i, `sending burst ${i + 1}/${sizes.length} (${count} packets)`);
      // ping exits 1 when some replies were lost: still a burst worth measuring.
      const burst: Step = {
        name: `burst ${i + 1}`, script: `${burstScript(s, count)} || [ $? -eq 1 ]`,
        failure: (output, code) => new LeaklabError('guest', `traffic burst ${i + 1} failed (exit ${code})`, { hint: 'check traffic: in the scenario; the message below is what the sender said', details: output }),
      };
      // Mid-run changes (e.g. a workaround) go in right before the next burst.
      const changes: Step[] = s.changes.filter((c) => c.afterBurst === i).map((c) => ({ name: `change "${c.name}"`, script: c.run }));
      for (const c of changes) progress(scope, `applying ${c.name}`);
      const smp = await phase(s, guest, [...changes, burst], join(raw, `${i + 1}-burst.txt`), { timeoutMs: 10 * 60_000 });
      bursts.push(smp);
      const first = s.watch[0];
      progress(scope, `burst ${i + 1}/${sizes.length}: ${smp.packetsIn - before.packetsIn} packets in, ${first} ${smp.caches[first].objects} objects`);
    }
  } finally {
    traffic.end();
  }
  // Flush both families: cached routes are what a leak must survive.
  const flush: Step = {
    name: 'route flush',
    script: `[ ! -e /proc/sys/net/ipv6/route/flush ] || echo 1 > /proc/sys/net/ipv6/route/flush\nip -4 route flush cache`,
  };
  const settle: Step = { name: 'settle', script: settleScript(settleLimits(s, { before, idle }, bursts[bursts.length - 1]), s.settleSeconds) };
  const tSettle = Date.now();
  const endSettle = timedTask(scope, s.settleSeconds * 1000, (ms) => `settling after the flush: ${(ms / 1000).toFixed(1)} s of ${s.settleSeconds} s`);
  const settled = await phase(s, guest, [flush, settle], join(raw, `${sizes.length + 1}-settled.txt`), { timeoutMs: (s.settleSeconds + 60) * 1000 }).finally(endSettle);
  const waited = (Date.now() - tSettle) / 1000;
  progress(scope, waited >= s.settleSeconds
    ? `counts still up after the whole settleSeconds (${waited.toFixed(1)} s)`
    : `settled after ${waited.toFixed(1)} s (counts back; settleSeconds ${s.settleSeconds} at most)`);
  return { before, bursts, settled, ...(idleSamples > 0 ? { idle } : {}) };
}

