// Benchmark: the seed scenario watching one cache (ip6_dst_cache) against
// the same scenario as a survey (watch: all, every slab cache), on one
// cached kernel, leaklab from command to verdict, alternated `rounds` times
// so both see the same machine. Prints each time, the medians and their
// ratio (goal: survey <= 1.5x one watched cache). Both without the
// attribution boot (bench/attribution.ts measures that). Run after the kernel and
// image are cached (e.g. after `npm run seed`):
//   node --import=tsx bench/survey.ts [kernel] [rounds]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const kernel = process.argv[2] ?? 'v6.1-fix-reverted';
const rounds = Number(process.argv[3] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-survey-'));
const seed = readFileSync('scenarios/fib6-suppress-leak.yaml', 'utf8');
const watched = join(dir, 'watched.yaml');
const survey = join(dir, 'survey.yaml');
writeFileSync(watched, seed);
writeFileSync(survey, seed.replace(/^watch: .*\n/m, '').replace(/^name: .*$/m, 'name: fib6-suppress-leak-survey'));

function seconds(file: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync('node', ['bin/leaklab.js', 'run', file, '-k', kernel, '-q', '--no-attribute', '--runs-dir', join(dir, 'runs')], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`leaklab run ${file} exited ${r.status}: ${r.stdout}${r.stderr}`);
  process.stdout.write(`  ${file === survey ? 'survey (all caches)' : 'one watched cache  '}  ${s.toFixed(1)} s  ${r.stdout.split('\n')[1]?.trim() ?? ''}\n`);
  return s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const one: number[] = [];
const all: number[] = [];
process.stdout.write(`bench/survey: seed scenario on ${kernel}, ${rounds} rounds, alternating\n`);
for (let i = 0; i < rounds; i++) {
  one.push(seconds(watched));
  all.push(seconds(survey));
}
rmSync(dir, { recursive: true, force: true });
const ratio = median(all) / median(one);
process.stdout.write(
  `median: one watched cache ${median(one).toFixed(1)} s, survey ${median(all).toFixed(1)} s, ratio ${ratio.toFixed(2)}x (goal <= 1.5x): ${ratio <= 1.5 ? 'met' : 'NOT met'}\n`,
);
