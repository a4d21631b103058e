// Owns running one scenario in one guest, a QEMU guest booting a prepared
// kernel or a container on the host's kernel: start it, build the topology,
// measure (measure/protocol.ts), judge, and stop the guest whatever happens.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scenario } from '../scenario/scenario.ts';
import { expectationFor } from '../scenario/scenario.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import { readKernelConfig, modulesToLoad, scenarioRequirements } from '../kernel/requirements.ts';
import { loadRecipe } from '../image/recipe.ts';
import { initramfsFor } from '../image/initramfs.ts';
import { QemuGuest, qemuVersion } from '../guest/qemu/qemu-guest.ts';
import { DockerGuest } from '../guest/docker/docker-guest.ts';
import { connectDocker, hostKernelRelease, dockerError } from '../guest/docker/engine.ts';
import { containerImage } from '../guest/docker/container-image.ts';
import { chooseAccel } from '../guest/qemu/accel.ts';
import { isPanic, followBoot } from '../guest/qemu/console.ts';
import type { Guest } from '../guest/guest.ts';
import { measure } from '../measure/protocol.ts';
import { judge, meetsExpectation, isDecided } from '../verdict/verdict.ts';
import type { RunResult } from './result.ts';
import { LeaklabError } from '../util/errors.ts';
import { progress } from '../util/progress.ts';

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
    await measureAndJudge(s, guest, kernel.name, result, scope, runDir, s.traffic.packets);
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
 * host-wide in a container: the host's own churn shows as noise and drift
 * in the same statistics, which widen the interval instead of guessing.
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
    await measureAndJudge(s, guest, result.kernel, result, scope, runDir, s.traffic.packetsInContainer);
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

async function measureAndJudge(s: Scenario, guest: Guest, kernelName: string, result: RunResult, scope: string, runDir: string, packets: number): Promise<void> {
  const tMeasure = Date.now();
  result.samples = await measure(s, guest, {
    scope, runDir, packets, untilDecided: s.traffic.untilDecided,
    decided: (m) => isDecided(s, m),
  });
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
