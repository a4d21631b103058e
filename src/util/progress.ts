// Owns progress output: one line per step on stderr, prefixed with the time
// since start, so long work (builds, boots, bursts) is visible in CI logs;
// on a terminal, long work with a known size also gets a bar redrawn in place.
const started = Date.now();
let quiet = false;
let barShown = false;
let lastBar = 0;

export function setQuiet(value: boolean): void {
  quiet = value;
}

function stamp(): string {
  return `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s]`;
}

export function progress(scope: string, message: string): void {
  if (quiet) return;
  clearBar();
  process.stderr.write(`${stamp()} ${scope}: ${message}\n`);
}

/** Whether progress bars are drawn (stderr is a terminal); otherwise callers print periodic lines. */
export function barsShown(): boolean {
  return !quiet && process.stderr.isTTY === true;
}

/** "[#####-----]  48% label", redrawn in place at most 5 times a second; `total` may be unknown. */
export function progressBar(scope: string, done: number, total: number | undefined, label: string): void {
  if (!barsShown() || Date.now() - lastBar < 200) return;
  lastBar = Date.now();
  process.stderr.write(`\r\x1b[2K${stamp()} ${scope}: ${barText(done, total)}${label}`);
  barShown = true;
}

export function barText(done: number, total: number | undefined, width = 30): string {
  if (!total) return '';
  const frac = Math.max(0, Math.min(1, done / total));
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}% `;
}

/** Ends a progress bar's line before other output (an error message) is written. */
export function clearBar(): void {
  if (!barShown) return;
  process.stderr.write('\r\x1b[2K');
  barShown = false;
}

const debugScopes = (process.env.LEAKLAB_DEBUG ?? '').split(',').map((x) => x.trim()).filter(Boolean);

/** Detail lines for one subsystem, shown when LEAKLAB_DEBUG names it (or is `*`). */
export function debug(scope: string, message: string): void {
  if (!debugScopes.includes(scope) && !debugScopes.includes('*')) return;
  const t = ((Date.now() - started) / 1000).toFixed(3).padStart(8);
  process.stderr.write(`[${t}s] debug ${scope}: ${message}\n`);
}
