// Benchmark: one scenario on one cached kernel, leaklab from command to
// verdict, against a bare QEMU boot whose hand-written init runs the same
// commands (topology, warm-up, bursts, flushes, settling, samples) and
// powers off. Prints both
// times and their ratio (goal: leaklab <= 1.1x bare). Run after the kernel
// and image are cached (e.g. after `npm run seed`):
//   node --import=tsx bench/seed-vs-bare.ts [scenario.yaml] [kernel]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bareRun, time } from './bare-run.ts';

const scenarioFile = process.argv[2] ?? 'scenarios/fib6-suppress-leak.yaml';
const kernelName = process.argv[3] ?? 'v6.1-fix-reverted';
const { seconds: bare, s, accel } = await bareRun(scenarioFile, kernelName);
const dir = await mkdtemp(join(tmpdir(), 'leaklab-bench-'));
const leaklab = time('node', ['bin/leaklab.js', 'run', '-q', scenarioFile, '-k', kernelName, '--runs-dir', join(dir, 'runs')]);
console.log(`scenario ${s.name} on ${kernelName} (${accel}), ${s.traffic.packets} packets in ${s.traffic.bursts} bursts`);
console.log(`bare QEMU + hand-written init: ${bare.toFixed(2)} s`);
console.log(`leaklab run, command to verdict: ${leaklab.toFixed(2)} s`);
console.log(`ratio: ${(leaklab / bare).toFixed(2)}x (goal <= 1.1x)`);
await rm(dir, { recursive: true, force: true });
