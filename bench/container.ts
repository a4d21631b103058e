// Benchmark: the seed scenario in a container on the host's kernel, image
// already imported, from command to verdict (goal: under 5 s). Needs a
// running Docker Engine (DOCKER_HOST or /var/run/docker.sock).
//   node --import=tsx bench/container.ts [repeats]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repeats = Number(process.argv[2] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'leaklab-bench-container-'));
const args = ['bin/leaklab.js', 'run', '-q', '--backend', 'docker', 'scenarios/fib6-suppress-leak.yaml', '--runs-dir', join(dir, 'runs')];
try {
  // Imports the image if it is not there yet; a run that fails here (no engine) says why and stops.
  const first = spawnSync('node', args, { encoding: 'utf8' });
  if (first.status !== 0) throw new Error(`leaklab run failed (exit ${first.status}):\n${first.stderr}`);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = Date.now();
    const r = spawnSync('node', [...args, '--json', join(dir, 'r.json')], { encoding: 'utf8' });
    times.push((Date.now() - t) / 1000);
    if (i === 0) console.log(r.stdout.split('\n')[1]);
  }
  const s = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')).results[0].seconds;
  console.log(
    `container run, command to verdict: ${times.map((x) => x.toFixed(1)).join(', ')} s (goal < 5 s); last run: start ${s.boot} s, measure ${s.measure} s (settling ends once the count is back, settleSeconds 3 s at most)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
