// Benchmark: a commit bisect over 16 commits (c0..c16 of the test kernel
// history; the leak comes in at c11) with the tree's object dir already
// built once, but no step's kernel cached: every step is a real incremental
// build. Goal: at most ceil(log2 16) + 2 = 6 scenario runs, under 6 minutes.
//   node --import=tsx bench/bisect.ts
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelHistory } from '../test/helpers/kernel-history.ts';
import { cachePath } from '../src/util/cache.ts';

const tree = kernelHistory();
const bisect = (dir: string) => spawnSync('node', ['bin/leaklab.js', 'bisect', 'commits', '-q', '--tree', tree, '--good', 'c0', '--bad', 'c16', 'scenarios/fib6-suppress-leak.yaml', '--json', join(dir, 'r.json'), '--runs-dir', join(dir, 'runs')], { encoding: 'utf8' });
const historyKernels = () => (existsSync(cachePath('kernels')) ? readdirSync(cachePath('kernels')) : [])
  .filter((k) => existsSync(join(cachePath('kernels'), k, 'meta.json')) && readFileSync(join(cachePath('kernels'), k, 'meta.json'), 'utf8').includes(tree));
// "Already built once": on a cache that never built the history, one untimed bisect builds the object dir.
if (historyKernels().length === 0) {
  console.log('warming up: building the history once (cold build, untimed)');
  const warm = mkdtempSync(join(tmpdir(), 'leaklab-bench-bisect-warm-'));
  bisect(warm);
  rmSync(warm, { recursive: true, force: true });
}
// Forget the built kernels of the history (the object dir stays): steps must build.
for (const k of historyKernels()) rmSync(join(cachePath('kernels'), k), { recursive: true, force: true });
const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-bisect-'));
const t = Date.now();
const r = bisect(dir);
const secs = (Date.now() - t) / 1000;
const b = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')).bisect;
const runs = b.steps.reduce((n: number, s: { verdicts: string[] }) => n + s.verdicts.length, 0);
console.log(r.stdout.split('\n')[0]);
console.log(`bisect over 16 commits: ${b.steps.length} kernels built (1 does not build), ${runs} scenario runs (goal <= ${Math.ceil(Math.log2(16)) + 2}), ${secs.toFixed(0)} s (goal < 360 s)`);
rmSync(dir, { recursive: true, force: true });
