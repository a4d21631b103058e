// Benchmark: what attribution costs. The seed scenario as a survey on a
// leaking kernel, leaklab from command to verdict with --attribute, `rounds`
// times. Each result times its own parts, so both figures come from the same
// run: the measured boot (boot + measurement) and the attribution boot (boot,
// setup, one burst, tracking read before and after, kmemleak's scans). Goal:
// attribution adds at most one boot, i.e. the attribution boot takes no
// longer than the measured boot plus kmemleak's two grace periods (2 x 6 s,
// the kernel's 5 s minimum age of a reported object, which no protocol can
// skip). Prints each round and the medians. Run after the kernel and image
// are cached (e.g. after `npm run seed`):
//   node --import=tsx bench/attribution.ts [kernel] [rounds]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KMEMLEAK_GRACE_SECONDS = 2 * 6;
const kernel = process.argv[2] ?? 'v6.1-fix-reverted';
const rounds = Number(process.argv[3] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-attribution-'));
const seed = readFileSync('scenarios/fib6-suppress-leak.yaml', 'utf8');
const survey = join(dir, 'survey.yaml');
writeFileSync(survey, seed.replace(/^watch: .*\n/m, '').replace(/^name: .*$/m, 'name: fib6-suppress-leak-survey'));

function round(): { measured: number; attribution: number } {
  const json = join(dir, 'r.json');
  const r = spawnSync('node', ['bin/leaklab.js', 'run', survey, '-k', kernel, '-q', '--attribute', '--json', json, '--runs-dir', join(dir, 'runs')], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.status !== 0) throw new Error(`leaklab run exited ${r.status}: ${r.stdout}${r.stderr}`);
  const [result] = JSON.parse(readFileSync(json, 'utf8')).results;
  if (result.seconds.attribution === undefined) throw new Error(`no attribution boot: ${r.stdout}`);
  const measured = result.seconds.boot + result.seconds.measure;
  const top = result.attribution.caches[0]?.stacks[0]?.frames.slice(0, 2).join(' <- ') ?? '(no stack)';
  process.stdout.write(
    `  measured boot ${measured.toFixed(1)} s, attribution boot ${result.seconds.attribution.toFixed(1)} s, total ${result.seconds.total.toFixed(1)} s  ${top}\n`,
  );
  return { measured, attribution: result.seconds.attribution };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
process.stdout.write(`bench/attribution: seed scenario as a survey on ${kernel}, ${rounds} rounds\n`);
const runs = Array.from({ length: rounds }, round);
rmSync(dir, { recursive: true, force: true });
const [measured, attribution] = [median(runs.map((x) => x.measured)), median(runs.map((x) => x.attribution))];
const goal = measured + KMEMLEAK_GRACE_SECONDS;
process.stdout.write(
  `median: measured boot ${measured.toFixed(1)} s, attribution boot ${attribution.toFixed(1)} s (goal <= ${goal.toFixed(1)} s: one boot + kmemleak's grace periods): ${attribution <= goal ? 'met' : 'NOT met'}\n`,
);
