// Benchmark: validate-patch with a one-file patch on an already built base:
// the patched build plus every run of the seed scenario and its controls on
// both kernels (goal: within 3 minutes). Prints the wall time and the runs.
//   node --import=tsx bench/validate-patch.ts [runs]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, copyFileSync, readdirSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = process.argv[2] ?? '3';
const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-validate-'));
const suite = join(dir, 'suite');
mkdirSync(suite);
for (const f of readdirSync('scenarios')) {
  if (f === 'fib6-suppress-leak.yaml' || f.startsWith('control-')) copyFileSync(join('scenarios', f), join(suite, f));
}
// A patch text never built before, so the patched kernel really is built.
const patch = join(dir, 'fix.patch');
copyFileSync('lab/patches/fib6-suppress-fix.patch', patch);
spawnSync('sh', ['-c', `printf '\\n%s\\n' 'bench ${Date.now()}' >> ${patch}`]);
const t = Date.now();
const r = spawnSync(
  'node',
  [
    'bin/leaklab.js',
    'validate-patch',
    '-q',
    '-s',
    'v6.1-fix-reverted',
    '-p',
    patch,
    join(suite, 'fib6-suppress-leak.yaml'),
    '-n',
    runs,
    '--json',
    join(dir, 'r.json'),
    '--runs-dir',
    join(dir, 'runs'),
  ],
  { encoding: 'utf8' },
);
const secs = (Date.now() - t) / 1000;
const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
console.log(r.stdout.split('\n').slice(0, 2).join('\n'));
console.log(
  `validate-patch, ${readdirSync(suite).length} scenarios x 2 kernels x ${runs} runs = ${report.validation.results.length} guest runs, patched build included: ${secs.toFixed(0)} s (goal <= 180 s)`,
);
rmSync(dir, { recursive: true, force: true });
