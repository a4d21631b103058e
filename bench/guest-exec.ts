// Benchmark: what one guest command costs through QEMU's guest agent, on a
// restored guest of a cached kernel: an empty command, and commands whose
// script or output is a few kB (every byte crosses an emulated serial port).
//   node --import=tsx bench/guest-exec.ts [kernel]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile } from '../src/scenario/load.ts';
import { loadCatalog, findKernel } from '../src/kernel/catalog.ts';
import { prepareKernel } from '../src/kernel/prepare.ts';
import { scenarioRequirements } from '../src/kernel/requirements.ts';
import { BACKENDS } from '../src/run/backends.ts';
import { createContext } from '../src/util/context.ts';

const kernelName = process.argv[2] ?? 'v6.1';
const ctx = createContext();
const s = await loadScenarioFile('scenarios/fib6-suppress-leak.yaml');
const kernel = await prepareKernel(ctx, findKernel(await loadCatalog(ctx.config.catalogFile), kernelName), scenarioRequirements(s));
const dir = await mkdtemp(join(tmpdir(), 'leaklab-bench-'));
const prepared = await BACKENDS.qemu.prepare(ctx, s, { kernel, runDir: dir, runId: 'bench' });
const guest = await prepared.start('bench');
try {
  const timeOf = async (what: string, script: string, n = 10) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await guest.exec(script);
    console.log(`${what.padEnd(40)} ${(Number(process.hrtime.bigint() - t) / 1e6 / n).toFixed(0)} ms`);
  };
  await timeOf('true', 'true');
  await timeOf('4 kB of script (a comment)', `: '${'x'.repeat(4000)}'`);
  await timeOf('4 kB of output', `printf '%04000d' 0`);
  await timeOf('one fork (/bin/true)', '/bin/true');
  await timeOf('ten forks (/bin/true)', Array(10).fill('/bin/true').join('\n'));
  await timeOf('ten sleep 0.05', Array(10).fill('sleep 0.05').join('\n'));
  await timeOf('ten ip link show lo', Array(10).fill('ip link show lo >/dev/null').join('\n'), 3);
} finally {
  await guest.stop();
  await rm(dir, { recursive: true, force: true });
}
