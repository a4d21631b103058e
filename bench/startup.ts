// Benchmark: what starting the command costs, side by side in one run: the
// cached bundle bin/leaklab.js imports, and the sources through tsx (what
// bin/leaklab.js did before, and still does when bundling fails).
//   node --import=tsx bench/startup.ts [rounds]
import { spawnSync } from 'node:child_process';

const rounds = Number(process.argv[2] ?? 5);
const time = (args: string[]) => {
  const t = process.hrtime.bigint();
  const r = spawnSync('node', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
time(['bin/leaklab.js', '--version']); // makes the bundle if the sources changed
const bundled: number[] = [];
const tsx: number[] = [];
for (let i = 0; i < rounds; i++) {
  bundled.push(time(['bin/leaklab.js', '--version']));
  tsx.push(time(['--import=tsx', 'src/cli/main.ts', '--version']));
}
console.log(`leaklab --version, median of ${rounds}: bundled ${median(bundled).toFixed(2)} s, through tsx ${median(tsx).toFixed(2)} s`);
