// Runs test/e2e in two lanes side by side, each one ava process taking its
// files one at a time. Why: most end-to-end tests boot one TCG guest at a
// time, which keeps one of two cores busy; the bisect and suite tests are
// long and self-contained (their own kernel history, the 6.12 line), so
// they run beside the rest. Files that reap what dead leaklab processes
// left (guests, temp dirs) stay together in the other lane, where nothing
// starts a leaklab between their steps. Each line is prefixed with its
// lane; the exit code is the first failing lane's, else 0. The last lines
// list every failed test of both lanes, so a log's tail says what failed.
//   node --import=tsx scripts/e2e-lanes.ts            (what npm test runs)
//   node --import=tsx scripts/e2e-lanes.ts FILE...    (only these files, in their lanes)
//   npx ava test/e2e/FILE.test.ts                      (one file on its own)
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** The lane that runs beside the rest: long tests that share nothing short-lived with it. */
const SIDE_LANE = ['test/e2e/bisect.test.ts', 'test/e2e/seed-suite.test.ts'];
/** Longer than any lane has taken (about 45 minutes cold on 2 cores): a hung lane is ended, not waited for. */
const LANE_TIMEOUT_MS = 85 * 60_000;

/** The files given, else every file of test/e2e, split into the two lanes. */
function lanes(given: string[]): string[][] {
  const all = given.length
    ? given
    : readdirSync('test/e2e')
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => `test/e2e/${f}`)
        .sort();
  return [all.filter((f) => !SIDE_LANE.includes(f)), SIDE_LANE.filter((f) => all.includes(f))];
}

/** ava's mark of a failed, timed-out or crashed test or file (its summary repeats each failure). */
const FAILURE_MARK = /✘|Timed out|exited with a non-zero|Uncaught exception|Unhandled rejection/;

function prefixLines(stream: NodeJS.ReadableStream, prefix: string, out: NodeJS.WriteStream, failures: string[]): void {
  createInterface({ input: stream }).on('line', (line) => {
    out.write(`${prefix}${line}\n`);
    if (FAILURE_MARK.test(line) && !failures.includes(`${prefix}${line.trim()}`)) failures.push(`${prefix}${line.trim()}`);
  });
}

/** Sends `signal` to a lane's whole process group. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // The group is gone already.
  }
}

function runLane(name: string, files: string[], children: Set<ChildProcess>, failures: string[]): Promise<number> {
  // ava given no file runs every file it is configured for: a lane with none runs nothing.
  if (files.length === 0) return Promise.resolve(0);
  const started = Date.now();
  // A process group of its own: a signal reaches ava, its workers and the leaklab runs they started alike
  // (ava ended by SIGTERM alone leaves its workers, and their guests, running).
  const child = spawn('node_modules/.bin/ava', files, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(child);
  prefixLines(child.stdout, `[${name}] `, process.stdout, failures);
  prefixLines(child.stderr, `[${name}] `, process.stderr, failures);
  const timer = setTimeout(() => {
    process.stderr.write(`[${name}] lane timed out after ${LANE_TIMEOUT_MS / 60_000} min: ending it\n`);
    signalGroup(child, 'SIGTERM');
  }, LANE_TIMEOUT_MS);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      const minutes = ((Date.now() - started) / 60_000).toFixed(1);
      process.stderr.write(`[${name}] ${files.length} files, ${minutes} min, ${signal ? `ended by ${signal}` : `exit ${code}`}\n`);
      resolve(code ?? 1);
    });
  });
}

async function main(): Promise<number> {
  const children = new Set<ChildProcess>();
  // Ctrl-C or a CI timeout: every lane gets the signal (ava stops its workers, leaklab its guests), then we exit with it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      for (const child of children) signalGroup(child, signal);
    });
  }
  const [main, side] = lanes(process.argv.slice(2));
  const failures: string[] = [];
  const codes = await Promise.all([runLane('e2e', main, children, failures), runLane('e2e-side', side, children, failures)]);
  const code = codes.find((c) => c !== 0) ?? 0;
  if (code !== 0) {
    process.stderr.write(`e2e: failed (${failures.length ? 'these lines' : 'no test marked failed: see each lane above'}):\n`);
    for (const line of failures) process.stderr.write(`  ${line}\n`);
  }
  return code;
}

process.exitCode = await main();
