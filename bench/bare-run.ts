// Benchmark helper: one bare QEMU run of a scenario on a cached kernel,
// the yardstick of bench/seed-vs-bare.ts and bench/suite-vs-bare.ts: the
// same initrd with /init replaced by a script that does the scenario's work
// directly (topology, warm-up, bursts, flushes, settling, samples) and
// powers off. Its time is what leaklab's work costs without leaklab.
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile, chmod, rm, mkdir, readFile } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile } from '../src/scenario/load.ts';
import type { Scenario } from '../src/scenario/scenario.ts';
import { loadCatalog, findKernel } from '../src/kernel/catalog.ts';
import { prepareKernel } from '../src/kernel/prepare.ts';
import { scenarioRequirements, readKernelConfig, modulesToLoad } from '../src/kernel/requirements.ts';
import { loadRecipe } from '../src/image/recipe.ts';
import { initramfsFor } from '../src/image/initramfs.ts';
import { topologySteps } from '../src/network/topology.ts';
import { burstScript } from '../src/network/traffic.ts';
import { plannedBursts } from '../src/measure/protocol.ts';
import { sampleScript, settleScript, FLUSH_SCRIPT } from '../src/probe/slab.ts';
import { chooseAccel } from '../src/guest/qemu/accel.ts';
import { createContext } from '../src/util/context.ts';
import { guestTools } from '../src/image/guest-programs.ts';

/** Times a spawned command to its end, in seconds. */
export function time(cmd: string, args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0 && cmd !== 'qemu-system-x86_64') console.error(r.stdout.toString(), r.stderr.toString());
  return secs;
}

/** The bare run of `scenarioFile` on `kernelName` (built or fetched first): its seconds, and what ran. */
export async function bareRun(scenarioFile: string, kernelName: string): Promise<{ seconds: number; s: Scenario; accel: string }> {
  const ctx = createContext();
  const s = await loadScenarioFile(scenarioFile);
  const kernel = await prepareKernel(ctx, findKernel(await loadCatalog(ctx.config.catalogFile), kernelName), scenarioRequirements(s));
  const config = kernel.configPath ? await readKernelConfig(kernel.configPath) : new Map();
  const modules = kernel.modulesDir ? modulesToLoad(config, scenarioRequirements(s)) : [];
  const initrd = await initramfsFor(ctx, await loadRecipe(ctx.config.imagesDir, s.guest.image), kernel, modules, await guestTools(ctx));
  const { accel } = await chooseAccel(ctx.config.accel);

  // The bare run: the same initrd with /init replaced by a script that does
  // the scenario's work directly and powers off.
  const dir = await mkdtemp(join(tmpdir(), 'leaklab-bench-'));
  const root = join(dir, 'root');
  await mkdir(root);
  const body = [
    // dash, as leaklab's guest runs commands: busybox's sh would prefer its own cut-down ip and ping.
    '#!/bin/dash',
    'export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/bb',
    // What leaklab's init does before its agent starts (images/init): the kernel's filesystems, busybox's applets last on PATH.
    '/bin/busybox mkdir -p /proc /sys /dev /run /tmp /bb && /bin/busybox --install -s /bb',
    'mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp; mkdir -p /run/netns',
    '[ -f /leaklab/modules.load ] && while read -r m; do modprobe "$m"; done < /leaklab/modules.load',
    'ip link set lo up',
    ...topologySteps(s).map((st) => st.script),
    // The same phases as leaklab's protocol: warm-up, baseline, idle, then per burst a sample and an idle one, each after a flush and settling.
    `{ ${burstScript(s, 50)}; } > /dev/null`,
    ...[0, 1, 2].flatMap(() => [FLUSH_SCRIPT, settleScript(s.watch, s.settleSeconds), sampleScript(s.watch) + ' > /dev/null']),
    ...plannedBursts(s, { packets: s.traffic.packets, untilDecided: false }).flatMap((n) => [
      `{ ${burstScript(s, n)}; } > /dev/null`,
      ...[0, 1].flatMap(() => [FLUSH_SCRIPT, settleScript(s.watch, s.settleSeconds), sampleScript(s.watch) + ' > /dev/null']),
    ]),
    sampleScript(s.watch) + " | grep -E '^(ip6_dst_cache|Ip6InReceives)'",
    'poweroff -f',
  ].join('\n');
  await writeFile(join(root, 'init'), body);
  await chmod(join(root, 'init'), 0o755);
  spawnSync('sh', ['-c', 'find . | cpio --quiet -o -H newc -R 0:0 > ../init.cpio'], { cwd: root });
  const bareInitrd = join(dir, 'initrd');
  const out = createWriteStream(bareInitrd);
  for (const p of [initrd, join(dir, 'init.cpio')]) await pipeline(createReadStream(p), out, { end: false });
  out.end();
  await new Promise<void>((r) => out.on('finish', () => r()));

  const bare = time('qemu-system-x86_64', [
    '-machine',
    `pc,accel=${accel}`,
    '-cpu',
    accel === 'kvm' ? 'host' : 'max',
    '-smp',
    '1',
    '-m',
    s.guest.memory,
    '-nodefaults',
    '-nographic',
    '-no-reboot',
    '-kernel',
    kernel.bzImage,
    '-initrd',
    bareInitrd,
    '-append',
    ['console=ttyS0', 'panic=-1', 'loglevel=5', ...s.guest.cmdline].join(' '),
    '-serial',
    `file:${join(dir, 'console.log')}`,
  ]);
  // The last sample's lines prove the init ran to its end (a failed script panics the kernel, which ends QEMU early too).
  const console = await readFile(join(dir, 'console.log'), 'utf8');
  await rm(dir, { recursive: true, force: true });
  const proof = console.split('\n').filter((l) => /^(ip6_dst_cache|Ip6InReceives)\b/.test(l));
  if (proof.length === 0) throw new Error(`the bare run did not reach its last sample; its console ends:\n${console.split('\n').slice(-15).join('\n')}`);
  return { seconds: bare, s, accel };
}
