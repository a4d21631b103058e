// Owns progress output on stderr: one line per step, prefixed with the time
// since start, and long work (downloads, builds, image making, boots,
// traffic) as tasks. On a terminal every running task has a line of its own
// below the step lines, redrawn in place (a bar when its size is known), so
// guests running side by side do not overwrite each other; elsewhere (CI
// logs) a task prints a plain line every 15 s instead.
const started = Date.now();
let quiet = false;

export function setQuiet(value: boolean): void {
  quiet = value;
}

function stamp(): string {
  return `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s]`;
}

/** Whether tasks are drawn in place (stderr is a terminal); otherwise they print periodic lines. */
function drawn(): boolean {
  return !quiet && process.stderr.isTTY === true;
}

export function progress(scope: string, message: string): void {
  if (quiet) return;
  eraseTasks();
  process.stderr.write(`${stamp()} ${scope}: ${message}\n`);
  drawTasks();
}

/** "[#####-----]  48% ": the bar part of a task's line; empty when the total is unknown. */
export function barText(done: number, total: number | undefined, width = 30): string {
  if (!total) return '';
  const frac = Math.max(0, Math.min(1, done / total));
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}% `;
}

export interface Task {
  /** Sets how far the work is (`done` of the total, which a call may set once known, or 0 for no bar) and what to say about it. */
  update(done: number, label: string, total?: number): void;
  /** Removes the task's line. */
  end(): void;
}

interface TaskLine {
  scope: string;
  text: string;
}

/** Lines every 15 s without a terminal: often enough to see life in a CI log, rarely enough to read it. */
export const PLAIN_EVERY_MS = 15_000;
const REDRAW_EVERY_MS = 200;
const tasks = new Set<TaskLine>();
let stopped = false;
let linesOnScreen = 0;
let lastDraw = 0;

/**
 * Starts showing a long piece of work. `total` sizes the bar (unknown: the
 * label alone). The caller prints the step's own line first.
 */
export function startTask(scope: string, total?: number): Task {
  const line: TaskLine = { scope, text: '' };
  let lastPlain = Date.now();
  let ended = false;
  return {
    update(done, label, newTotal) {
      // An update after the end (a late timer, say) must not bring the line back.
      if (quiet || ended || stopped) return;
      total = newTotal ?? total;
      line.text = `${barText(done, total, 20)}${label}`;
      if (!drawn()) {
        if (Date.now() - lastPlain < PLAIN_EVERY_MS) return;
        lastPlain = Date.now();
        progress(scope, line.text);
        return;
      }
      const fresh = !tasks.has(line);
      tasks.add(line);
      redraw(fresh);
    },
    end() {
      ended = true;
      if (!tasks.delete(line) || !drawn()) return;
      eraseTasks();
      drawTasks();
    },
  };
}

/**
 * A task measured in time (a boot against its timeout, a wait): its line is
 * redrawn twice a second with `label(elapsedMs)`. Returns the function that ends it.
 */
export function timedTask(scope: string, totalMs: number, label: (elapsedMs: number) => string): () => void {
  const task = startTask(scope, totalMs);
  const started = Date.now();
  const tick = () => task.update(Date.now() - started, label(Date.now() - started));
  const timer = setInterval(tick, 500);
  timer.unref();
  return () => {
    clearInterval(timer);
    task.end();
  };
}

let pendingDraw: NodeJS.Timeout | undefined;

/** Redraws now, or (at most 5 times a second) soon: a skipped update must not leave a stale line up. */
function redraw(now: boolean): void {
  const wait = REDRAW_EVERY_MS - (Date.now() - lastDraw);
  if (now || wait <= 0) {
    eraseTasks();
    drawTasks();
  } else if (!pendingDraw) {
    pendingDraw = setTimeout(() => {
      pendingDraw = undefined;
      eraseTasks();
      drawTasks();
    }, wait);
    pendingDraw.unref();
  }
}

function drawTasks(): void {
  if (!drawn() || tasks.size === 0) return;
  // A line wider than the terminal would wrap and break the erase that counts lines.
  const width = Math.max(20, (process.stderr.columns || 80) - 1);
  const text = [...tasks].map((t) => `${stamp()} ${t.scope}: ${t.text}`.slice(0, width)).join('\n');
  process.stderr.write(`${text}\n`);
  linesOnScreen = tasks.size;
  lastDraw = Date.now();
}

function eraseTasks(): void {
  if (linesOnScreen === 0) return;
  process.stderr.write(`\x1b[${linesOnScreen}A\x1b[0J`);
  linesOnScreen = 0;
}

/** Runs `write` (results to stdout, say) with the task lines out of its way, then draws them again. */
export function aboveTasks(write: () => void): void {
  eraseTasks();
  write();
  drawTasks();
}

/**
 * Takes the task lines off the screen for good, before the last words (an
 * error, the Ctrl-C message and cleanup): tasks still running (a boot timer)
 * must not draw below them.
 */
export function stopTasks(): void {
  eraseTasks();
  tasks.clear();
  stopped = true;
}

const debugScopes = (process.env.LEAKLAB_DEBUG ?? '')
  .split(',')
  .map((x) => x.trim())
  .filter(Boolean);

/** Detail lines for one subsystem, shown when LEAKLAB_DEBUG names it (or is `*`). */
export function debug(scope: string, message: string): void {
  if (!debugScopes.includes(scope) && !debugScopes.includes('*')) return;
  eraseTasks();
  const t = ((Date.now() - started) / 1000).toFixed(3).padStart(8);
  process.stderr.write(`[${t}s] debug ${scope}: ${message}\n`);
  drawTasks();
}
