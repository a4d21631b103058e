// Owns reading a guest's serial console: finding the kernel messages that
// mean the kernel is in trouble (panic, Oops, BUG, WARNING), which become
// part of every result, and following a boot on it.
import { readFile } from 'node:fs/promises';
import { withoutTerminalCodes } from '../../util/terminal.ts';
import type { Context } from '../../util/context.ts';

const TROUBLE = /(Kernel panic - not syncing.*|Oops: .*|BUG: .*|WARNING: .*|general protection fault.*|kernel BUG at .*|Unable to handle kernel .*)/;

export function findTroubles(consoleText: string): string[] {
  const out: string[] = [];
  for (const line of consoleText.split(/\r?\n/)) {
    const m = TROUBLE.exec(line);
    if (m) out.push(m[1].trim());
  }
  return out;
}

export function isPanic(consoleText: string): boolean {
  return /Kernel panic - not syncing/.test(consoleText);
}

/** The console's last non-empty line, without control characters (what a boot is doing now). */
export function lastLine(consoleText: string): string {
  const lines = withoutTerminalCodes(consoleText)
    .split(/\r?\n/)
    .map((l) => l.replace(/[\x00-\x1f\x7f]/g, '').trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/**
 * Shows a boot as a task: time against the boot timeout and the console's
 * last line (read twice a second). Returns the function that ends it.
 */
export function followBoot(ctx: Context, scope: string, consolePath: string, timeoutMs: number): () => void {
  let now = '(nothing yet)';
  const reader = setInterval(() => {
    readFile(consolePath, 'utf8').then(
      (text) => {
        now = lastLine(text) || now;
      },
      () => {},
    );
  }, 500);
  reader.unref();
  const end = ctx.progress.timedTask(scope, timeoutMs, (ms) => `booting: ${(ms / 1000).toFixed(0)} s of ${timeoutMs / 1000} s allowed; console: ${now}`);
  return () => {
    clearInterval(reader);
    end();
  };
}
