// Owns reading a guest's serial console: finding the kernel messages that
// mean the kernel is in trouble (panic, Oops, BUG, WARNING), which become
// part of every result.
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
