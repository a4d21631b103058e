// Owns progress output: one line per step, prefixed with the time since
// start, and long work (downloads, builds, image making, boots, traffic) as
// tasks. On a terminal every running task has a line of its own below the
// step lines, redrawn in place (a bar when its size is known), so guests
// running side by side do not overwrite each other; elsewhere (CI logs) a
// task prints a plain line every 15 s instead. The CLI makes one Progress
// per command and passes it down in the context; nothing here is global.
// Once a command has a run directory, every step line also goes to its
// run.log, whatever the screen shows.
import { appendFileSync } from 'node:fs';

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

export interface ProgressOptions {
  /** Where the lines go (stderr); task lines are redrawn in place only when it is a terminal. */
  stream?: NodeJS.WriteStream;
  /** No output at all (--quiet). */
  quiet?: boolean;
  /** Subsystems whose debug lines are shown (`*`: all). */
  debugScopes?: string[];
  /** Detail lines on a terminal too (--verbose); elsewhere they always show. */
  verbose?: boolean;
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly quiet: boolean;
  private readonly debugScopes: string[];
  private readonly verbose: boolean;
  private readonly started = Date.now();
  private readonly tasks = new Set<TaskLine>();
  private stopped = false;
  private linesOnScreen = 0;
  private lastDraw = 0;
  private pendingDraw: NodeJS.Timeout | undefined;
  /** The run directory's run.log, once there is one: every step line, whatever the screen shows. */
  private logFile: string | undefined;

  constructor(opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.quiet = opts.quiet ?? false;
    this.debugScopes = opts.debugScopes ?? [];
    this.verbose = opts.verbose ?? false;
  }

  /** Also writes every step line (and shown debug line) to `file` from now on. */
  logTo(file: string): void {
    this.logFile = file;
  }

  /** A step's line: stays on the screen. */
  step(scope: string, message: string): void {
    const line = `${this.stamp()} ${scope}: ${message}\n`;
    this.log(line);
    // After the last words (Ctrl-C, a fatal error) a step still finishing (a
    // guest coming up) must not print below them.
    if (this.quiet || this.stopped) return;
    this.eraseTasks();
    this.stream.write(line);
    this.drawTasks();
  }

  /**
   * A step a running cell's live line already shows (booting, a burst's
   * count): a line of its own in a log (CI), in run.log and with --verbose;
   * on a terminal, the live lines and the results are the screen.
   */
  detail(scope: string, message: string): void {
    if (this.drawn() && !this.verbose) this.log(`${this.stamp()} ${scope}: ${message}\n`);
    else this.step(scope, message);
  }

  /** Appends to the log file; one that cannot be written (a full disk) is given up, not fatal: the screen has the lines. */
  private log(line: string): void {
    if (!this.logFile) return;
    try {
      appendFileSync(this.logFile, line);
    } catch {
      this.logFile = undefined;
    }
  }

  /**
   * Starts showing a long piece of work. `total` sizes the bar (unknown: the
   * label alone). The caller prints the step's own line first.
   */
  task(scope: string, total?: number): Task {
    const line: TaskLine = { scope, text: '' };
    let lastPlain = Date.now();
    let ended = false;
    return {
      update: (done, label, newTotal) => {
        // An update after the end (a late timer, say) must not bring the line back.
        if (this.quiet || ended || this.stopped) return;
        total = newTotal ?? total;
        line.text = `${barText(done, total, 20)}${label}`;
        if (!this.drawn()) {
          if (Date.now() - lastPlain < PLAIN_EVERY_MS) return;
          lastPlain = Date.now();
          this.step(scope, line.text);
          return;
        }
        const fresh = !this.tasks.has(line);
        this.tasks.add(line);
        this.redraw(fresh);
      },
      end: () => {
        ended = true;
        if (!this.tasks.delete(line) || !this.drawn()) return;
        this.eraseTasks();
        this.drawTasks();
      },
    };
  }

  /**
   * A task measured in time (a boot against its timeout, a wait): its line is
   * redrawn twice a second with `label(elapsedMs)`. Returns the function that ends it.
   */
  timedTask(scope: string, totalMs: number, label: (elapsedMs: number) => string): () => void {
    const task = this.task(scope, totalMs);
    const started = Date.now();
    const tick = () => task.update(Date.now() - started, label(Date.now() - started));
    const timer = setInterval(tick, 500);
    timer.unref();
    return () => {
      clearInterval(timer);
      task.end();
    };
  }

  /** Detail lines for one subsystem, shown when LEAKLAB_DEBUG names it (or is `*`). */
  debug(scope: string, message: string): void {
    if (this.stopped || (!this.debugScopes.includes(scope) && !this.debugScopes.includes('*'))) return;
    this.eraseTasks();
    const line = `[${((Date.now() - this.started) / 1000).toFixed(3).padStart(8)}s] debug ${scope}: ${message}\n`;
    this.log(line);
    this.stream.write(line);
    this.drawTasks();
  }

  /** Runs `write` (results to stdout, say) with the task lines out of its way, then draws them again. */
  above(write: () => void): void {
    this.eraseTasks();
    write();
    this.drawTasks();
  }

  /**
   * Takes the task lines off the screen for good, before the last words (an
   * error, the Ctrl-C message and cleanup): work still finishing (a boot
   * timer, a step) must not draw below them.
   */
  stop(): void {
    this.eraseTasks();
    this.tasks.clear();
    this.stopped = true;
  }

  private stamp(): string {
    return `[${((Date.now() - this.started) / 1000).toFixed(1).padStart(6)}s]`;
  }

  /** Whether tasks are drawn in place (a terminal); otherwise they print periodic lines. */
  private drawn(): boolean {
    return !this.quiet && this.stream.isTTY === true;
  }

  /** Redraws now, or (at most 5 times a second) soon: a skipped update must not leave a stale line up. */
  private redraw(now: boolean): void {
    const wait = REDRAW_EVERY_MS - (Date.now() - this.lastDraw);
    if (now || wait <= 0) {
      this.eraseTasks();
      this.drawTasks();
    } else if (!this.pendingDraw) {
      this.pendingDraw = setTimeout(() => {
        this.pendingDraw = undefined;
        this.eraseTasks();
        this.drawTasks();
      }, wait);
      this.pendingDraw.unref();
    }
  }

  private drawTasks(): void {
    if (!this.drawn() || this.tasks.size === 0) return;
    // A line wider than the terminal would wrap and break the erase that counts lines.
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    const text = [...this.tasks].map((t) => `${this.stamp()} ${t.scope}: ${t.text}`.slice(0, width)).join('\n');
    this.stream.write(`${text}\n`);
    this.linesOnScreen = this.tasks.size;
    this.lastDraw = Date.now();
  }

  private eraseTasks(): void {
    if (this.linesOnScreen === 0) return;
    this.stream.write(`\x1b[${this.linesOnScreen}A\x1b[0J`);
    this.linesOnScreen = 0;
  }
}
