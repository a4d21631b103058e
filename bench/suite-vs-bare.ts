// Benchmark (issue "boot once, measure many"): in one run, side by side on
// the same machine, one bare QEMU run of the seed (bench/bare-run.ts), one
// leaklab run of the seed, and the shipped suite (scenarios/, 8 scenarios)
// on the same kernel with -j 1 and -j 2, restored from boot snapshots, and
// with -j 1 --fresh (a boot per scenario) for comparison. Prints the times
// and the ratios against their goals: the suite with -j 1 <= 2.0x one bare
// run; one scenario <= 0.7x; -j 2 >= 1.7x the throughput of -j 1. Run after
// the kernel is cached (e.g. after `npm run seed`):
//   node --import=tsx bench/suite-vs-bare.ts [kernel]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bareRun, time } from './bare-run.ts';

const kernelName = process.argv[2] ?? 'v6.1';
const seed = 'scenarios/fib6-suppress-leak.yaml';
const dir = await mkdtemp(join(tmpdir(), 'leaklab-bench-'));
const leaklab = (...args: string[]) => time('node', ['bin/leaklab.js', 'run', '-q', '-k', kernelName, '--runs-dir', join(dir, 'runs'), ...args]);

// A first run saves the kernel's boot snapshot, so every timed run below restores it (or, with --fresh, boots).
leaklab(seed);
const { seconds: bare, accel } = await bareRun(seed, kernelName);
const one = leaklab(seed);
const j1 = leaklab('scenarios/', '-j', '1');
const j2 = leaklab('scenarios/', '-j', '2');
const fresh = leaklab('scenarios/', '-j', '1', '--fresh');
const row = (what: string, secs: number, goal = '') =>
  console.log(`${what.padEnd(44)} ${secs.toFixed(1).padStart(6)} s  ${(secs / bare).toFixed(2)}x bare ${goal}`);
console.log(`on ${kernelName} (${accel})`);
row('bare QEMU + hand-written init (the seed)', bare);
row('leaklab, the seed, restored', one, '(goal <= 0.7x)');
row('leaklab, 8 scenarios, -j 1, restored', j1, '(goal <= 2.0x)');
row('leaklab, 8 scenarios, -j 2, restored', j2);
row('leaklab, 8 scenarios, -j 1, --fresh (boots)', fresh);
console.log(`-j 2 throughput: ${(j1 / j2).toFixed(2)}x -j 1 (goal >= 1.7x); snapshots save ${(fresh - j1).toFixed(1)} s of ${fresh.toFixed(1)} s`);
await rm(dir, { recursive: true, force: true });
