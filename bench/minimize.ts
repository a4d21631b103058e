// Benchmark: `leaklab minimize` on the seed scenario with two decoys (an
// unrelated rule, an unrelated nft table) on one cached kernel, with -j 1
// and -j 2 side by side, beside one plain run of the seed. Prints the
// variant runs against the ingredients and traffic checks (goal: at most 2x
// their number), each wall time, and what -j 2 saved. Run after the kernel
// and image are cached (e.g. after `npm run seed`):
//   node --import=tsx bench/minimize.ts [kernel]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const kernel = process.argv[2] ?? 'v6.1-fix-reverted';
const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-minimize-'));
const seed = parse(readFileSync('scenarios/fib6-suppress-leak.yaml', 'utf8'));
const decoys = {
  ...seed,
  name: 'seed-decoys',
  rules: ['from 2001:db8:99::/64 lookup 100', ...seed.rules],
  firewall: {
    nft: `table inet decoy {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    tcp dport 9999 drop\n  }\n}\n${seed.firewall.nft}`,
  },
};
const file = join(dir, 'seed-decoys.yaml');
writeFileSync(file, stringify(decoys));

function timed(args: string[]): { seconds: number; json?: { variantRuns: number; ingredients: number; checks: { run?: unknown }[] } } {
  const json = join(dir, 'out.json');
  rmSync(json, { force: true });
  const t = process.hrtime.bigint();
  const r = spawnSync('node', ['bin/leaklab.js', ...args, '-q', '--json', json, '--runs-dir', join(dir, 'runs')], { encoding: 'utf8', timeout: 1_800_000 });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`leaklab ${args.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  return { seconds, json: report.minimize };
}

process.stdout.write(`bench/minimize: the seed with two decoys on ${kernel}\n`);
const single = timed(['run', 'scenarios/fib6-suppress-leak.yaml', '-k', kernel, '--no-attribute']);
process.stdout.write(`  one run of the seed          ${single.seconds.toFixed(1)} s\n`);
const results = [1, 2].map((jobs) => {
  const r = timed(['minimize', file, '-k', kernel, '-j', String(jobs)]);
  const m = r.json!;
  const checks = m.checks.filter((c) => c.run).length;
  process.stdout.write(
    `  minimize -j ${jobs}                  ${r.seconds.toFixed(1)} s: ${m.variantRuns} variant runs for ${m.ingredients} ingredients and ${checks} traffic checks (${(r.seconds / single.seconds).toFixed(1)}x one run)\n`,
  );
  return { ...r, budget: 2 * (m.ingredients + checks), runs: m.variantRuns };
});
rmSync(dir, { recursive: true, force: true });
const [j1, j2] = results;
process.stdout.write(
  `variant runs ${j2.runs} (goal <= ${j2.budget}, 2x ingredients and checks): ${j2.runs <= j2.budget ? 'met' : 'NOT met'}; -j 2 takes ${(j2.seconds / j1.seconds).toFixed(2)}x the time of -j 1\n`,
);
