// Runs a command on a pseudo-terminal (util-linux's `script`) and replays
// what it wrote the way a terminal would, for the few controls leaklab's
// progress display uses (CR, LF, cursor up, erase below, erase line).
import { spawnSync } from 'node:child_process';
import { ROOT } from './cli.ts';

export interface TerminalRun {
  code: number | null;
  /** Everything written, controls included. */
  raw: string;
  /** The screen's lines at the end. */
  screen: string[];
}

/** Runs `args` (a command line) on a terminal 120 columns wide. */
export function onTerminal(args: string[], timeoutMs: number): TerminalRun {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', `stty cols 120 rows 50; ${quoted}`, '/dev/null'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status, raw: r.stdout, screen: replay(r.stdout) };
}

export function replay(raw: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (ch: string) => {
    const l = lines[row].padEnd(col);
    lines[row] = l.slice(0, col) + ch + l.slice(col + 1);
    col++;
  };
  for (let i = 0; i < raw.length; i++) {
    const esc = /^\x1b\[(\d*)([A-Za-z])/.exec(raw.slice(i, i + 8));
    if (esc) {
      const n = Number(esc[1] || 0);
      if (esc[2] === 'A') row = Math.max(0, row - (n || 1));
      if (esc[2] === 'J') {
        lines.splice(row + 1);
        lines[row] = lines[row].slice(0, col);
      }
      if (esc[2] === 'K') lines[row] = '';
      i += esc[0].length - 1;
    } else if (raw[i] === '\r') col = 0;
    else if (raw[i] === '\n') {
      row++;
      col = 0;
      if (lines.length <= row) lines.push('');
    } else put(raw[i]);
  }
  return lines.map((l) => l.trimEnd()).filter((l, i, all) => l || i < all.length - 1);
}
