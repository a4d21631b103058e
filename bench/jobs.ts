// Benchmark: two scenarios on one kernel with --jobs 1 and --jobs 2 on these
// 2 cores (kernel already built). Goal: --jobs 2 takes at most 0.6x the
// serial time, with the same verdicts. The goal's pair is two runs of equal
// length (both leak, so both settle the whole settleSeconds); a pair where
// one run ends early is printed too, for information: there the longer run
// bounds --jobs 2 whatever the scheduler does.
//   node --import=tsx bench/jobs.ts
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-jobs-'));

function compare(what: string, scenarios: string[], goal?: number): void {
  const args = ['bin/leaklab.js', 'run', '-q', ...scenarios, '-k', 'v6.1-fix-reverted', '--runs-dir', join(dir, 'runs')];
  spawnSync('node', args); // builds anything missing, outside the timing
  const timed = (jobs: string) => {
    const t = Date.now();
    spawnSync('node', [...args, '-j', jobs, '--json', join(dir, `j${jobs}.json`)]);
    const verdicts = JSON.parse(readFileSync(join(dir, `j${jobs}.json`), 'utf8')).results.map((r: { verdict?: { verdict: string } }) => r.verdict?.verdict);
    return { secs: (Date.now() - t) / 1000, verdicts: verdicts.join(',') };
  };
  const serial = timed('1');
  const parallel = timed('2');
  const ratio = parallel.secs / serial.secs;
  const same = serial.verdicts === parallel.verdicts ? 'identical' : `DIFFER: ${serial.verdicts} vs ${parallel.verdicts}`;
  console.log(
    `${what}: --jobs 1 ${serial.secs.toFixed(1)} s, --jobs 2 ${parallel.secs.toFixed(1)} s: ratio ${ratio.toFixed(2)}${goal ? ` (goal <= ${goal.toFixed(2)})` : ''}; verdicts ${same} (${parallel.verdicts})`,
  );
}

compare('two scenarios of equal length', ['scenarios/fib6-suppress-leak.yaml', 'scenarios/fib6-suppress-leak-udp.yaml'], 0.6);
compare('for information, one ends early', ['scenarios/fib6-suppress-leak.yaml', 'scenarios/control-no-rule.yaml']);
rmSync(dir, { recursive: true, force: true });
