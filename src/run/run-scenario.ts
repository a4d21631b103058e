// Owns running one scenario on one prepared kernel in one QEMU guest: boot,
// build the topology, take samples around the traffic bursts and the route
// flush, judge, and stop the guest whatever happens.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scenario } from '../scenario/scenario.ts';
import { expectationFor } from '../scenario/scenario.ts';
import type { KernelArtifact } from '../kernel/artifact.ts';
import { readKernelConfig, modulesToLoad, scenarioRequirements } from '../kernel/requirements.ts';
import { loadRecipe } from '../image/recipe.ts';
import { initramfsFor } from '../image/initramfs.ts';
import { QemuGuest } from '../guest/qemu/qemu-guest.ts';
import { chooseAccel } from '../guest/qemu/accel.ts';
import type { Guest } from '../guest/guest.ts';
import { topologySteps } from '../network/topology.ts';
import { burstScript, burstSizes, reachabilityScript, destination } from '../network/traffic.ts';
import { sampleScript, parseSample, MissingCacheError, type Sample } from '../probe/slab.ts';
import { judge, meetsExpectation, type SampleSeries } from '../verdict/verdict.ts';
import type { RunResult } from './result.ts';
import { LeaklabError } from '../util/errors.ts';
import { progress } from '../util/progress.ts';
import { tail } from '../util/exec.ts';

export function bootTimeoutMs(): number {
  return Number(process.env.LEAKLAB_BOOT_TIMEOUT ?? 90) * 1000;
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
    const initrd = await initramfsFor(await loadRecipe(s.guest.image), kernel, modules);
    const { accel, why } = await chooseAccel();
    result.seconds.prepare = (Date.now() - t0) / 1000;
    progress(scope, `booting (${accel}: ${why}); console: ${join(runDir, 'console.log')}`);
    const tBoot = Date.now();
    guest = await QemuGuest.start({
      name: kernel.name, bzImage: kernel.bzImage, initrd, cmdline: s.guest.cmdline, memory: s.guest.memory,
      accel, runDir, bootTimeoutMs: bootTimeoutMs(),
    });
    result.seconds.boot = (Date.now() - tBoot) / 1000;
    const uname = await guest.exec('uname -r');
    result.release = uname.stdout.trim();
    progress(scope, `guest up in ${result.seconds.boot.toFixed(1)} s (kernel ${result.release})`);
    const tMeasure = Date.now();
    result.samples = await measure(s, guest, scope, runDir);
    result.seconds.measure = (Date.now() - tMeasure) / 1000;
    result.verdict = judge(s, result.samples);
    const expectation = expectationFor(s, kernel.name);
    if (expectation) {
      const m = meetsExpectation(result.verdict, expectation);
      result.expectation = expectation;
      result.asExpected = m.ok;
      result.why = m.why;
    }
    result.troubles = await guest.troubles();
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

async function step(guest: Guest, name: string, script: string, timeoutMs = 60_000): Promise<string> {
  const r = await guest.exec(script, { timeoutMs });
  if (r.exitCode !== 0) {
    throw new LeaklabError('scenario', `setting up the guest failed at "${name}" (exit ${r.exitCode})`, {
      hint: 'check this line of the scenario (rules, routes, firewall, setup); the message below is what the guest said',
      details: tail(r.stderr || r.stdout, 10),
    });
  }
  return r.stdout;
}

/** Takes one sample; the raw dump is kept in the run dir as evidence. */
async function sample(s: Scenario, guest: Guest, rawFile: string, listAliases = false): Promise<Sample> {
  const r = await guest.exec(sampleScript(s.watch, listAliases), { timeoutMs: 60_000 });
  await writeFile(rawFile, r.stdout);
  try {
    return parseSample(r.stdout, s.watch, s.traffic.family);
  } catch (err) {
    if (err instanceof MissingCacheError) {
      throw new LeaklabError('scenario', err.message, { hint: 'check the names under watch: (see /proc/slabinfo in the guest, or boot with slab_nomerge)' });
    }
    throw new LeaklabError('guest', `could not read the kernel's counters: ${(err as Error).message}`, { details: tail(r.stdout + r.stderr, 10) });
  }
}

async function measure(s: Scenario, guest: Guest, scope: string, runDir: string): Promise<SampleSeries> {
  const raw = join(runDir, 'samples');
  await mkdir(raw, { recursive: true });
  for (const st of topologySteps(s)) await step(guest, st.name, `set -e\n${st.script}`);
  const reach = await guest.exec(reachabilityScript(s), { timeoutMs: 30_000 });
  if (reach.exitCode !== 0) {
    throw new LeaklabError('scenario', `traffic does not reach ${destination(s)}: one echo request got no reply`, {
      hint: 'check topology, rules and firewall: a ruleset that drops the replies leaves nothing to measure',
      details: tail(reach.stdout + reach.stderr, 6),
    });
  }
  const before = await sample(s, guest, join(raw, '0-before.txt'), true);
  const bursts: Sample[] = [];
  const sizes = burstSizes(s);
  for (const [i, count] of sizes.entries()) {
    const r = await guest.exec(burstScript(s, count), { timeoutMs: 10 * 60_000 });
    if (r.exitCode > 1) throw new LeaklabError('guest', `traffic burst ${i + 1} failed (ping exit ${r.exitCode})`, { details: tail(r.stdout + r.stderr, 6) });
    const smp = await sample(s, guest, join(raw, `${i + 1}-burst.txt`));
    bursts.push(smp);
    const first = s.watch[0];
    progress(scope, `burst ${i + 1}/${sizes.length}: ${smp.packetsIn - before.packetsIn} packets in, ${first} ${smp.caches[first].objects} objects`);
  }
  // Flush both families: cached routes are what a leak must survive.
  const flush = '[ -e /proc/sys/net/ipv6/route/flush ] && echo 1 > /proc/sys/net/ipv6/route/flush; ip -4 route flush cache';
  await step(guest, 'route flush', `${flush}; sleep ${s.settleSeconds}`, (s.settleSeconds + 60) * 1000);
  const settled = await sample(s, guest, join(raw, `${sizes.length + 1}-settled.txt`));
  return { before, bursts, settled };
}
