// Benchmark (issue "boot once, measure many"): in one run, side by side on
// the same machine, one bare QEMU run of the seed (bench/bare-run.ts), one
// leaklab run of the seed, and the shipped suite (scenarios/, 8 scenarios)
// on the same kernel with -j 1 and -j 2, restored from boot snapshots, and
// with -j 1 --fresh (a boot per scenario) for comparison. Prints the times
// and the ratios against their goals: the suite with -j 1 <= 2.0x one bare
// run; one scenario <= 0.7x; -j 2 >= 1.7x the throughput of -j 1. Run after
// the kernel is cached (e.g. after `npm run seed`):
//   node --import=tsx bench/suite-vs-bare.ts [kernel]
import { mkdtemp, rm, readFile } from 'node:fs/promises';
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
const j1Json = join(dir, 'j1.json');
const j1 = leaklab('scenarios/', '-j', '1', '--json', j1Json);
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
console.log(whereTimeGoes(JSON.parse(await readFile(j1Json, 'utf8')).results, j1));
await rm(dir, { recursive: true, force: true });

/** Where the -j 1 suite's time went, from its cells' own records: the mean cell's steps, its setup and other phases, and what is outside the cells. */
function whereTimeGoes(results: { seconds: Record<string, number>; samples?: { phases: { kind: string; seconds: number }[] } }[], wall: number): string {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const step = (k: string) => mean(results.map((r) => r.seconds[k] ?? 0)).toFixed(2);
  const phases = results.flatMap((r) => r.samples?.phases ?? []);
  const setup = mean(phases.filter((p) => p.kind === 'setup').map((p) => p.seconds));
  const others = phases.filter((p) => p.kind !== 'setup');
  const inCells = results.reduce((a, r) => a + r.seconds.total, 0);
  return [
    `a -j 1 cell on average: ${step('total')} s = prepare ${step('prepare')} + start ${step('boot')} + measure ${step('measure')} s + the rest (stop, result)`,
    `  measure: setup ${setup.toFixed(2)} s, then ${(others.length / Math.max(1, results.length)).toFixed(0)} phases of ${mean(others.map((p) => p.seconds)).toFixed(2)} s`,
    `  outside the cells (node, modules, kernel and image checks, reports): ${(wall - inCells).toFixed(1)} s of ${wall.toFixed(1)} s`,
  ].join('\n');
}
