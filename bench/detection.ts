// Benchmark: how fast a verdict is reached at each leak rate. The seed
// scenario with traffic until decided, on the calibration kernels (keep 1
// route reference in N), the fix-reverted kernel (1 obj/packet) and the
// fixed kernel, with both generators side by side. Prints, per kernel and
// generator: packets used, seconds of traffic (the burst phases, each with
// its flush and settling), the estimate and its interval, the verdict.
// Goals under TCG (issue 11): 1 obj/packet decided within 200 packets;
// every rate down to 1/1000 LEAK within 100,000 packets; the fixed kernel
// "no leak < 0.001" within 30 s of traffic. Run with kernels cached:
//   node --import=tsx bench/detection.ts [socket budget] [trafgen budget]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const budgets = { socket: Number(process.argv[2] ?? 200_000), trafgen: Number(process.argv[3] ?? 1_000_000) };
const kernels = ['v6.1-fix-reverted', ...[2, 16, 100, 1000, 10000].map((n) => `v6.1-keep-1-in-${n}`), 'v6.1'];
const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-detection-'));

function scenarioFor(generator: 'socket' | 'trafgen'): string {
  const text = readFileSync('scenarios/fib6-suppress-leak.yaml', 'utf8')
    .replace(/^name: .*$/m, `name: detection-${generator}`)
    .replace(/^kernels: .*$/m, `kernels: [${kernels.join(', ')}]`)
    .replace(/^ {2}packets: 2000$/m, `  maxPackets: ${budgets[generator]}\n  generator: ${generator}`)
    .replace(/^ {2}bursts: .*\n/m, '')
    .replace(/^expect:[\s\S]*$/m, '');
  const file = join(dir, `${generator}.yaml`);
  writeFileSync(file, text);
  return file;
}

const fmt = (x: number) => (Math.abs(x) >= 0.01 ? x.toFixed(3) : x.toPrecision(2));
const rows: string[][] = [];
for (const generator of ['socket', 'trafgen'] as const) {
  const json = join(dir, `${generator}.json`);
  const r = spawnSync('node', ['bin/leaklab.js', 'run', '-q', scenarioFor(generator), '--json', json, '--runs-dir', join(dir, 'runs')], {
    encoding: 'utf8',
    timeout: 60 * 60_000,
  });
  if (r.status !== 0 && r.status !== 1) {
    console.error(r.stdout, r.stderr);
    process.exit(1);
  }
  for (const res of JSON.parse(readFileSync(json, 'utf8')).results) {
    const e = res.verdict.deciding.estimate;
    const traffic = res.samples.phases.filter((p: any) => p.kind === 'traffic').reduce((sum: number, p: any) => sum + p.seconds, 0);
    rows.push([
      res.kernel,
      generator,
      String(e.packets),
      traffic.toFixed(1),
      `${fmt(e.rate)} [${fmt(e.low)}, ${fmt(e.high)}]`,
      res.verdict.verdict,
      res.samples.stop,
    ]);
  }
}
const head = ['kernel', 'generator', 'packets', 'traffic s', 'obj/packet [interval]', 'verdict', 'stop'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
console.log(
  `budgets: socket ${budgets.socket}, trafgen ${budgets.trafgen} packets; goals: 1 obj/packet <= 200 packets, 1/1000 LEAK <= 100000 packets, fixed "< 0.001" within 30 s of traffic`,
);
rmSync(dir, { recursive: true, force: true });
