// Benchmark: one scenario on one cached kernel, leaklab from command to
// verdict, against a bare QEMU boot whose hand-written init runs the same
// commands (topology, warm-up, bursts, flushes, settling, samples) and
// powers off. Prints both
// times and their ratio (goal: leaklab <= 1.1x bare). Run after the kernel
// and image are cached (e.g. after `npm run seed`):
//   node --import=tsx bench/seed-vs-bare.ts [scenario.yaml] [kernel]
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile, chmod, rm, mkdir } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile } from '../src/scenario/load.ts';
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

const scenarioFile = process.argv[2] ?? 'scenarios/fib6-suppress-leak.yaml';
const kernelName = process.argv[3] ?? 'v6.1-fix-reverted';
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
  '#!/bin/busybox sh',
  'export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/bb',
  '/bin/busybox mkdir -p /bb /run/netns && /bin/busybox --install -s /bb',
  'mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp; mkdir -p /run/netns',
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

function time(cmd: string, args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0 && cmd !== 'qemu-system-x86_64') console.error(r.stdout.toString(), r.stderr.toString());
  return secs;
}

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
const leaklab = time('node', ['bin/leaklab.js', 'run', '-q', scenarioFile, '-k', kernelName, '--runs-dir', join(dir, 'runs')]);
console.log(`scenario ${s.name} on ${kernelName} (${accel}), ${s.traffic.packets} packets in ${s.traffic.bursts} bursts`);
console.log(`bare QEMU + hand-written init: ${bare.toFixed(2)} s`);
console.log(`leaklab run, command to verdict: ${leaklab.toFixed(2)} s`);
console.log(`ratio: ${(leaklab / bare).toFixed(2)}x (goal <= 1.1x)`);
await rm(dir, { recursive: true, force: true });
