// Benchmark: the units of work per second each workload of
// scenarios/workloads/ reaches under TCG (TCP connections, packets a router
// forwards, program iterations), beside the seed's received packets, all in
// one run on one cached kernel, so they share the machine's state. A rate
// is the units the kernel counted during the bursts over the bursts' time on
// the guest's clock (the burstSeconds of every traffic phase in result.json).
// Run after the kernel and image are cached (e.g. after `npm run seed`):
//   node --import=tsx bench/workload-rates.ts [kernel]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const kernel = process.argv[2] ?? 'v6.1';
const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-workloads-'));
const files = [
  'scenarios/fib6-suppress-leak.yaml',
  'scenarios/workloads/tcp-connections.yaml',
  'scenarios/workloads/router-forwarding.yaml',
  'scenarios/workloads/program-sethostname.yaml',
];
const report = join(dir, 'report.json');
const r = spawnSync('node', ['bin/leaklab.js', 'run', ...files, '-k', kernel, '-q', '-j', '1', '--json', report, '--runs-dir', join(dir, 'runs')], {
  encoding: 'utf8',
  timeout: 1_800_000,
});
if (r.status === null || r.status > 1) throw new Error(`leaklab run exited ${r.status}: ${r.stdout}${r.stderr}`);

interface Phase {
  kind: string;
  sample: { units: number };
  burstSeconds?: number;
}
for (const result of JSON.parse(readFileSync(report, 'utf8')).results as { scenario: string; verdict: { unit: string }; samples: { phases: Phase[] } }[]) {
  const phases = result.samples.phases;
  let units = 0;
  let seconds = 0;
  phases.forEach((p, i) => {
    if (p.kind !== 'traffic' || !p.burstSeconds || i === 0) return;
    units += p.sample.units - phases[i - 1].sample.units;
    seconds += p.burstSeconds;
  });
  console.log(
    `${result.scenario.padEnd(24)} ${String(Math.round(units / seconds)).padStart(6)} ${result.verdict.unit}s/s  (${units} in ${seconds.toFixed(1)} s of bursts)`,
  );
}
rmSync(dir, { recursive: true, force: true });
