// Owns progress output: one line per step on stderr, prefixed with the time
// since start, so long work (builds, boots, bursts) is visible in CI logs.
const started = Date.now();
let quiet = false;

export function setQuiet(value: boolean): void {
  quiet = value;
}

export function progress(scope: string, message: string): void {
  if (quiet) return;
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${t}s] ${scope}: ${message}\n`);
}
