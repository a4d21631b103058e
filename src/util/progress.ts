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

const debugScopes = (process.env.LEAKLAB_DEBUG ?? '').split(',').map((x) => x.trim()).filter(Boolean);

/** Detail lines for one subsystem, shown when LEAKLAB_DEBUG names it (or is `*`). */
export function debug(scope: string, message: string): void {
  if (!debugScopes.includes(scope) && !debugScopes.includes('*')) return;
  const t = ((Date.now() - started) / 1000).toFixed(3).padStart(8);
  process.stderr.write(`[${t}s] debug ${scope}: ${message}\n`);
}
